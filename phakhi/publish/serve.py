"""`phakhi serve`: preview the latest publication in a browser, on this machine only (127.0.0.1).

The publication is a static site that also opens straight from disk; serving it over HTTP shows it exactly
as a web server would. The folder `latest` points to is resolved once at start, so a refresh that switches
`latest` mid-preview does not mix two publications (restart to see the new one).
"""
from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Optional

import typer

DEFAULT_PORT = 8765
EXTRA_TYPES = {".woff2": "font/woff2", ".csv": "text/csv; charset=utf-8", ".json": "application/json",
               ".parquet": "application/vnd.apache.parquet", ".js": "text/javascript; charset=utf-8",
               ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}


# Same policy as deploy/nginx.conf: everything from the publication itself, nothing fetched from or sent to
# another origin, no plugins, not framed. Inline scripts/styles stay allowed: the evidently drift report and
# the GX Data Docs embed theirs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
                           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'; "
                           "frame-ancestors 'self'")


class PublicationHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one publication folder, with correct types for fonts/CSV/Parquet and no caching.
    Folders without an index page are not listed (404) and hidden files are never served."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **EXTRA_TYPES}

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def list_directory(self, path):          # no directory listings
        self.send_error(404, "Not found")
        return None

    def send_head(self):
        if any(part.startswith(".") for part in self.path.split("?", 1)[0].split("/") if part):
            self.send_error(404, "Not found")
            return None
        return super().send_head()

    def log_message(self, fmt, *args):  # quieter than the default: one short line per request
        if getattr(self.server, "verbose", True):
            super().log_message(fmt, *args)


def make_server(folder: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
                verbose: bool = True) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `folder` (port 0 picks a free port; see server.server_address)."""
    handler = functools.partial(PublicationHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.verbose = verbose
    return server


def resolve_latest(publications: Path) -> Path:
    link = publications / "latest"
    if not link.exists():
        raise FileNotFoundError(f"no publication yet under {publications}; run `phakhi refresh` first")
    return link.resolve()


def serve(port: int = typer.Option(DEFAULT_PORT, "--port", "-p", help="Port on 127.0.0.1."),
          publication: Optional[str] = typer.Option(None, help="A publication id to preview instead of the latest."),
          quiet: bool = typer.Option(False, "--quiet", help="Do not log each request."),
          home: Optional[Path] = typer.Option(None, "--home", envvar="PHAKHI_HOME",
                                              help="Runtime directory (default ./var).")):
    """Preview the latest publication at http://127.0.0.1:PORT/ (Ctrl-C to stop)."""
    from phakhi.settings import use_home

    paths = use_home(home)
    try:
        folder = (paths.publications / publication).resolve() if publication else resolve_latest(paths.publications)
    except FileNotFoundError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    if not (folder / "index.html").is_file() or folder.parent != paths.publications.resolve():
        typer.secho(f"{folder} is not a publication (no index.html)", fg="red", err=True)
        raise typer.Exit(1)
    try:
        server = make_server(folder, port, verbose=not quiet)
    except OSError as exc:
        typer.secho(f"cannot listen on 127.0.0.1:{port}: {exc}; try --port", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Serving {folder.name} at http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
