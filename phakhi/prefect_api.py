"""Prefect's temporary local API, started as the supervised refresh's first act rather than when the flow first
asks for a client (issue 17: fixed cost).

Prefect's local mode boots its API in a subprocess (uvicorn + `prefect.server`, ~4-5 s) when the first client is
made, i.e. after this process has imported the whole stack (~2-4 s): one after the other. Here the same server,
with the same command and environment as Prefect's `SubprocessASGIServer`, is started before the imports; once
it answers /health it becomes this process's PREFECT_API_URL. Not handed to `SubprocessASGIServer`: that class
lives in `prefect.server.api.server`, and importing it made the refresh's own process import the whole server
too (FastAPI, SQLAlchemy, every API route and schema: ~4 s CPU, on the critical path, beside the server doing
the same import). It is still the refresh's temporary server: `is_temporary_api()` says so (a held candidate is
not paused: nothing could resume it), the UI link Prefect would log is left out (the server has no UI), and it
is stopped at exit after Prefect's log and event workers have sent what they hold.

Nothing is started when PREFECT_API_URL names a server (a persistent one: nothing to pay). When anything does not
match (a Prefect profile that sets a server or settings, the port taken, the server dead or slow), the early
server is stopped and Prefect starts its own as before. The server is a child of this process, inside the
supervisor's process group (phakhi/supervise.py), so a native crash still leaves nothing running.
"""
from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("phakhi.prefect_api")
# what Prefect's SubprocessASGIServer._run_uvicorn_command adds to the environment (prefect 3.9)
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
EARLY = "PHAKHI_EARLY_PREFECT_SERVER"     # "0": leave the start to Prefect (comparisons, debugging)
# What a temporary server serving one local refresh does not need (issue 17: fixed cost), turned off in its
# environment only (never in a persistent server's, never in the refresh's own settings):
# - block auto-registration: even when nothing changed, its memo check imports every Prefect collection
#   (prefect-dask: dask, distributed, numpy) to hash the block registry before it looks at the setting that
#   turns registration off, so the memo goes too: ~7 % of the server's CPU, 1-3 s on its start-up path while
#   the refresh waits for it. The refresh uses no blocks; a persistent server registers them at its start;
# - automations (triggers, actions; one setting): none can act within one refresh - nothing defines one on a server that
#   lives for a single run, and the actions service builds an API client to itself at start-up;
# - the event persister (and with it the event vacuum): events are kept for the UI's event feed, and this
#   server has no UI. Task runs are still recorded (the task-run recorder stays).
LIGHT_SERVER_ENV = {"PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
                    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
                    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",     # the actions service too
                    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false"}
LIGHT = "PHAKHI_LIGHT_PREFECT_SERVER"     # "0": the temporary server with Prefect's default services


@dataclass
class EarlyServer:
    process: "subprocess.Popen | Inherited"
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


INHERITED = "PHAKHI_EARLY_PREFECT_SERVER_AT"   # "<pid>:<port>": the supervisor started the server (below)


class Inherited:
    """The early server as the refresh sees it when the supervisor started it (phakhi/supervise.py): not this
    process's child, so it is signalled, not waited for; the supervisor reaps it (and stops it whatever happens
    to the refresh)."""

    def __init__(self, pid: int):
        self.pid = pid

    def poll(self) -> int | None:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            try:
                os.kill(self.pid, 0)
                return None
            except OSError:
                return 1
        return 1 if state in ("Z", "X") else None

    def terminate(self) -> None:
        try:
            os.kill(self.pid, 15)
        except OSError:
            pass

    kill = terminate

    def wait(self, timeout: float | None = None) -> int | None:
        return None          # the supervisor waits for it


def inherited_server() -> EarlyServer | None:
    """The server the supervisor started for this refresh, from the environment (and taken out of it, so
    nothing this process starts believes it owns it)."""
    at = os.environ.pop(INHERITED, "")
    pid, _, port = at.partition(":")
    if not (pid.isdigit() and port.isdigit()):
        return None
    return EarlyServer(Inherited(int(pid)), int(port))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_early_server(own_session: bool = False) -> EarlyServer | None:
    """Start Prefect's temporary API server now (without importing Prefect); None when one is configured. When
    the supervisor already started it (before it started this process), that one."""
    inherited = inherited_server()
    if os.environ.get("PREFECT_API_URL") or os.environ.get(EARLY, "1") == "0":
        if inherited is not None:
            inherited.stop()
        return None
    if inherited is not None:
        atexit.register(inherited.stop)   # signalled at exit, after Prefect's workers (see adopt_early_server)
        return inherited
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return None
    app_dir = Path(list(spec.submodule_search_locations)[0]).parent
    port = _free_port()
    process = subprocess.Popen(server_command(app_dir, port), env={**os.environ, **SERVER_ENV, **light_server_env()},
                               start_new_session=own_session)
    early = EarlyServer(process, port)
    atexit.register(early.stop)          # a refusal or a failure before the hand-over: never left running
    return early


GC_PAUSE = "PHAKHI_PREFECT_SERVER_GC_PAUSE"   # seconds the server's start-up runs without the cycle collector


def server_command(app_dir: Path, port: int) -> list[str]:
    """The temporary server's command line: `serve` below, in a new interpreter; "0" in PHAKHI_PREFECT_SERVER_GC_PAUSE:
    Prefect's own (`uvicorn --factory prefect.server.api.server:create_app`, as SubprocessASGIServer runs it)."""
    if os.environ.get(GC_PAUSE, "") == "0":
        return [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
                "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
                "--lifespan", "on"]
    return [sys.executable, "-m", "phakhi.prefect_api", str(app_dir), str(port)]


def serve(app_dir: str, port: int, gc_pause_s: float = 10.0) -> None:
    """Prefect's API server as `uvicorn --app-dir APP_DIR --factory prefect.server.api.server:create_app --host 127.0.0.1
    --port PORT --log-level error --lifespan on` runs it (the same call, the same app and settings), with
    Python's cycle collector paused while it starts (issue 17: fixed cost).

    The server's start-up is the refresh's longest wait: importing Prefect's server (~2.5 s CPU), building the
    app, then the first requests building FastAPI's routes and SQLAlchemy's mappers. All of it allocates
    hundreds of thousands of long-lived objects, and the collector walked them again and again (~15 % of the
    import and app build). Here it is paused for the start-up and the flow run's first requests (at most
    `gc_pause_s` seconds after the app is built, or PHAKHI_PREFECT_SERVER_GC_PAUSE), then what start-up built is
    frozen (gc.freeze: never walked again) and the collector runs as usual for as long as the server lives."""
    import gc
    import threading

    from phakhi.timing import milestone

    gc.disable()
    milestone("server process runs")

    def resume() -> None:
        gc.freeze()
        gc.enable()

    def create_app():
        from prefect.server.api.server import create_app as prefect_create_app

        milestone("server imported")
        app = prefect_create_app()
        milestone("server app built")
        timer = threading.Timer(gc_pause_s, resume)
        timer.daemon = True
        timer.start()
        return app

    import uvicorn

    try:
        uvicorn.run(create_app, factory=True, app_dir=app_dir, host="127.0.0.1", port=port, log_level="error",
                    lifespan="on")
    finally:
        gc.enable()


def light_server_env() -> dict[str, str]:
    """LIGHT_SERVER_ENV, less what the environment sets itself (an explicit setting always wins)."""
    if os.environ.get(LIGHT, "1") == "0":
        return {}
    return {k: v for k, v in LIGHT_SERVER_ENV.items() if k not in os.environ}


CLIENT_ONLY = {"PREFECT_SERVER_EPHEMERAL_ENABLED"}   # tells a client to start a server; the server never reads it


def _same(value: str, env: str | None) -> bool:
    if env is None:
        return False
    booleans = {"true", "false"}
    if value.lower() in booleans and env.strip().lower() in booleans:
        return value.lower() == env.strip().lower()
    return value == env


def _settings_match() -> bool:
    """Prefect would start its server with the environment plus the settings of the active profile: the early
    one (environment only) is the same server only when the profile adds nothing the server reads."""
    from prefect.settings import get_current_settings

    wanted = get_current_settings().to_environment_variables(exclude_unset=True)
    return all(_same(str(v), os.environ.get(k)) for k, v in wanted.items() if k not in CLIENT_ONLY)


TEMPORARY = "PHAKHI_TEMPORARY_PREFECT_API"   # the API URL, when it is this refresh's own temporary server


def is_temporary_api() -> bool:
    """True when Prefect runs in local mode: no API configured, or the one configured is the temporary server
    this refresh started (adopt_early_server). A flow run paused there could never be resumed."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return not url or url == os.environ.get(TEMPORARY)


def adopt_early_server(early: EarlyServer | None) -> bool:
    """Wait for the early server to answer, then make it this process's Prefect API (PREFECT_API_URL, and
    Prefect's global settings refreshed from the environment). False (and the early server stopped) when
    Prefect should not or cannot use it: Prefect then does what it always did. Imports no `prefect.server`."""
    if early is None:
        return False
    import httpx
    from prefect.context import refresh_global_settings_context
    from prefect.logging import get_logger
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    if PREFECT_API_URL.value() or not _settings_match():
        early.stop()
        return False
    deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    with httpx.Client(verify=False) as client:    # plain http on the loopback: no CA certificates to load
        while time.monotonic() < deadline and early.process.poll() is None:
            try:
                if client.get(f"{early.api_url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        else:
            log.warning("Prefect's early temporary server did not answer (exit code %s); Prefect starts its own",
                        early.process.poll())
            early.stop()
            return False
    from phakhi.timing import milestone

    milestone("Prefect API answered /health")
    os.environ[TEMPORARY] = os.environ["PREFECT_API_URL"] = early.api_url
    # Prefect would infer a UI link from the API URL and log it for every run; this server has no UI
    os.environ.setdefault("PREFECT_UI_URL", "")
    refresh_global_settings_context()
    get_logger().info(f"Started temporary server on http://127.0.0.1:{early.port} while the refresh "
                               "imported its stack")
    # stopped at exit (registered in start_early_server, before Prefect's own exit handlers: so it runs after
    # them, once the log and event workers have sent what they hold)
    return True


def temporary_run_settings():
    """Prefect settings for a flow run on this refresh's temporary server: no flow-run heartbeats. They let a
    server mark a run crashed when its process dies unseen; the temporary server dies with the refresh's
    process group, so nothing could read them, and at the flow's end Prefect waits (up to 2 s) for the
    heartbeat thread to wake from its sleep (issue 17: fixed cost). On a configured server: unchanged."""
    from contextlib import nullcontext

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if not is_temporary_api():
        return nullcontext()
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


if __name__ == "__main__":         # the temporary server's process (server_command)
    serve(sys.argv[1], int(sys.argv[2]), float(os.environ.get(GC_PAUSE) or 10.0))
