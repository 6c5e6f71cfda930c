"""One refresh per PHAKHI_HOME at a time.

Two refreshes on one home delete each other's build warehouse mid-audit and fight over DuckDB's file lock. A
refresh holds an exclusive `flock` on $PHAKHI_HOME/refresh.lock for its whole run; a second one fails at once
with a message naming the running refresh (its run id, process, host and start time), written into the lock
file by its holder. The kernel drops the lock when the holder exits, however it exits (kill -9 included), so
a crashed refresh never leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = "refresh.lock"


class RefreshLocked(RuntimeError):
    """Another refresh holds this home's lock; the message names it."""

    def __init__(self, home: Path, holder: dict):
        self.holder = holder
        who = (f"run {holder.get('run_id', '?')} (process {holder.get('pid', '?')} on {holder.get('host', '?')}, "
               f"started {holder.get('started_at', '?')})") if holder else "another process"
        super().__init__(f"another refresh is running on {home}: {who}. Wait for it to finish (one refresh per "
                         f"home at a time); nothing was changed. / มีการปรับปรุงข้อมูลอีกรายการกำลังทำงานอยู่ กรุณารอให้เสร็จก่อน")


def lock_path(home: Path) -> Path:
    return Path(home) / LOCK_NAME


def holder(home: Path) -> dict:
    """Who holds (or last held) the lock: {} when nobody ever did or the file is unreadable."""
    try:
        return json.loads(lock_path(home).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def is_locked(home: Path) -> bool:
    path = lock_path(home)
    if not path.exists():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


@contextmanager
def refresh_lock(home: Path, run_id: str = ""):
    """Hold this home's refresh lock for the block; raises RefreshLocked at once when another run holds it.
    Re-entrant within one process (the CLI takes it, then the flow it starts takes it again)."""
    home = Path(home)
    key = str(home.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    home.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path(home), "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshLocked(home, holder(home)) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        fh.flush()
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()


_HELD: dict[str, int] = {}
