"""`phakhi portal` — run the partner portal locally, invite users.

    phakhi portal                          migrate, import the registry if new, serve on 127.0.0.1:8000
    phakhi portal invite P001 --email a@b  print a one-time set-password link for a partner's user
    phakhi portal staff --email dcce@...   the same for a DCCE staff account (console + admin)
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

portal_app = typer.Typer(help="The partner portal: partners submit and review; DCCE runs the month.",
                         invoke_without_command=True)
HomeOpt = typer.Option(None, "--home", envvar="PHAKHI_HOME", help="Runtime directory. Default ./var")
BaseOpt = typer.Option("http://127.0.0.1:8000", "--base-url", help="How users reach the portal (for links).")


def prepare(home: Optional[Path]) -> None:
    """PHAKHI_HOME, Django, the database schema, and the registry (imported once, then written back)."""
    from phakhi.settings import use_home
    from portal import runtime

    use_home(home)
    runtime.setup()
    runtime.manage("migrate", "--noinput", verbosity=0)
    from portal.accounts.models import Partner
    from portal.accounts.registry import import_registry, write_registry

    if not Partner.objects.exists():
        n = import_registry()
        if n:
            typer.echo(f"imported {n} partners from the landing area's registry")
    if Partner.objects.exists():
        write_registry()


@portal_app.callback()
def serve(ctx: typer.Context, port: int = typer.Option(8000, help="Port on 127.0.0.1."), home: Optional[Path] = HomeOpt):
    """Start the portal on 127.0.0.1 (SQLite and a generated secret under PHAKHI_HOME/portal/)."""
    if ctx.invoked_subcommand is not None:
        return
    prepare(home)
    from portal import runtime

    typer.echo(f"Phakhi partner portal on http://127.0.0.1:{port}/  (Ctrl+C to stop)")
    runtime.manage("runserver", f"127.0.0.1:{port}", "--noreload", "--insecure")


def _link(partner_id: Optional[str], email: str, base_url: str, home: Optional[Path], staff: bool) -> None:
    prepare(home)
    from portal.accounts.invite import InviteError, invite, invite_staff

    try:
        link = invite_staff(email, base_url) if staff else invite(partner_id, email, base_url)
    except InviteError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"One-time link to set the password of {email} (valid 7 days, once):\n{link}")


@portal_app.command("setup")
def setup_cmd(home: Optional[Path] = HomeOpt):
    """Migrate the database, collect static files, import the registry on first start (for gunicorn)."""
    prepare(home)
    from portal import runtime

    runtime.manage("collectstatic", "--noinput", verbosity=0)
    typer.echo("portal ready")


@portal_app.command("invite")
def invite_cmd(partner_id: str = typer.Argument(..., help="Partner id, e.g. P001."),
               email: str = typer.Option(..., "--email", help="The user's e-mail (their log-in)."),
               base_url: str = BaseOpt, home: Optional[Path] = HomeOpt):
    """Create a partner's user and print a one-time set-password link (no mail is sent)."""
    _link(partner_id, email, base_url, home, staff=False)


@portal_app.command("staff")
def staff_cmd(email: str = typer.Option(..., "--email"), base_url: str = BaseOpt, home: Optional[Path] = HomeOpt):
    """Create a DCCE staff user (console and registry admin) and print a one-time set-password link."""
    _link(None, email, base_url, home, staff=True)
