"""Run `phakhi refresh` in a child process group, so that a refresh that crashes natively (a reader aborting
with SIGABRT, the OOM killer) never leaves Prefect's temporary server behind.

Prefect's local mode starts its temporary API server as a child process and stops it at exit; a process
killed by a signal runs no exit handler, and the orphaned server kept listening. The supervisor starts the
refresh in a new session (its own process group, the server included), waits, and when the refresh died of a
signal stops the whole group and says so in one line. Ctrl-C and SIGTERM are passed on to the group.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

SUPERVISED = "PHAKHI_SUPERVISED"


def supervised() -> bool:
    return os.environ.get(SUPERVISED) == "1"


def freeze_heap(at_exit: bool = False) -> None:
    """Move every object alive now into the cycle collector's permanent generation (gc.freeze), so that later
    collections do not walk it again (issue 17: fixed cost).

    After the refresh's imports (~350k objects: Prefect, pandas, DuckDB, the flow), each later full collection
    (ingest's `return_freed_memory`, Python's own) skips them. `at_exit=True` does it at the very end instead:
    registered first, so it runs after every other exit handler (Prefect's workers, the temporary server's
    stop); the interpreter's final collections then find nothing to walk - they took 2-3 s of wall after a
    refresh had finished, freeing memory the operating system takes back anyway when the process ends."""
    import gc

    if at_exit:
        import atexit

        from phakhi.timing import milestone

        atexit.register(milestone, "exit handlers done")
        atexit.register(gc.freeze)
    else:
        gc.freeze()


@contextmanager
def paused_gc():
    """Python's cycle collector paused for the block (a start-up's imports: nothing they allocate is garbage,
    and each collection walked the growing heap again: ~15 % of an import's CPU); restored as it was after."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def stop_group(pgid: int, grace: float = 5.0) -> None:
    """SIGTERM the group, then SIGKILL what is left after `grace` seconds. Done when no member is left running:
    a member that has exited already (a zombie) is dead, whoever reaps it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0)):
        if not group_running(pgid):
            return
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_running(pgid):
                return
            time.sleep(0.1)


def group_running(pgid: int) -> bool:
    """Whether a process of group `pgid` is still running. An exited member the refresh did not wait for (the
    spawn pools' resource tracker, whose parent exited first) stays a zombie until init reaps it: 1.1-1.7 s
    after a month's refresh on this machine (issue 17: the refresh's end), all of which the supervisor waited,
    although such a process holds no port, file or lock any more. Without /proc: any member at all."""
    try:
        stats = list(Path("/proc").glob("[0-9]*/stat"))
    except OSError:
        stats = []
    if not stats:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in stats:
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):     # ended while listed
            continue
        if int(group) == pgid and state not in ("Z", "X"):
            return True
    return False


def start_server_early():
    """Prefect's temporary API server for a supervised refresh, started in its own process group (the child's
    signals are forwarded to it); None when a server is configured, or when it cannot start (the child starts
    it, or Prefect does, as before). Stopped at this process's exit whatever happens."""
    from phakhi.prefect_api import start_early_server
    from phakhi.timing import milestone

    try:
        early = start_early_server(own_session=True)
    except Exception:
        return None
    milestone("server process started" if early is not None else "no early server")
    return early


def run_supervised(args: list[str], prefect_server: bool = False, early=None) -> int:
    """`phakhi <args>` in a child process group; returns its exit code (2 after a crash, with a message).

    prefect_server: start Prefect's temporary API server here, before the child (issue 17: fixed cost). The
    server boots (~4-5 s, its own process) while the child starts Python and imports the stack; started in the
    child it lost the child's own start-up and CLI imports (0.3-1 s, more on a loaded machine). The child
    adopts it exactly as one it started itself (phakhi/prefect_api.py: same command, environment and checks)
    and signals it at its exit; this process reaps it, and stops it whatever happened to the child. Nothing is
    started when PREFECT_API_URL names a server. `early`: that server, started by the caller already (cli.py:
    as soon as the home is known, before the refresh's own checks)."""
    from phakhi.prefect_api import INHERITED

    if prefect_server and early is None:
        early = start_server_early()
    extra = {INHERITED: f"{early.process.pid}:{early.port}"} if early is not None else {}
    from phakhi.timing import milestone

    try:
        return run_group([sys.executable, "-c", "from phakhi.cli import main; main()", *args], env=extra,
                         also=early.process if early is not None else None)
    finally:
        if early is not None:
            early.stop()
        milestone("supervisor done")


def run_group(cmd: list[str], env: dict | None = None, also: subprocess.Popen | None = None) -> int:
    """Run `cmd` in its own session; afterwards nothing it started is left running. `also`: a process of
    its own group started for it (Prefect's server), sent the same forwarded signals."""
    env = {**os.environ, SUPERVISED: "1", **(env or {})}
    child = subprocess.Popen(cmd, env=env, start_new_session=True)
    from phakhi.timing import milestone

    milestone("child process started")

    def forward(signum, _frame):
        for pgid in [child.pid] + ([also.pid] if also is not None else []):
            try:
                os.killpg(pgid, signum)
            except ProcessLookupError:
                pass

    old = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        try:
            old[s] = signal.signal(s, forward)
        except ValueError:          # not the main thread: signals stay with the caller
            pass
    try:
        code = child.wait()
        milestone("child exited")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    # whatever the outcome, nothing of the refresh outlives it (the temporary server, reader workers)
    stop_group(child.pid)
    if also is not None and also.poll() is None:
        also.terminate()      # the child signals it at a normal exit; after a crash, this does (caller waits)
    if code < 0:
        name = signal.Signals(-code).name
        sys.stderr.write(f"\nRefresh CRASHED (the process died of {name}); its temporary Prefect server and workers "
                         "were stopped. Nothing was published: the last good publication stays live.\n")
        return 2
    return code
