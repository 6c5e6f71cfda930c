"""The production path on a real Prefect server (SQLite here; Postgres in docker-compose.yml):

server → deploy/worker-entrypoint.sh (creates the process pool, `prefect deploy` from prefect.yaml, starts the
worker) → the cron schedule generates the 02:00-Bangkok-on-the-5th run for January 2026 → the worker runs it,
`period="previous"` resolves to 2025-12, and the publication appears; a second run requested meanwhile waits
for the deployment's concurrency slot (AwaitingConcurrencySlot) and starts only after the first ends; it is
given a bad month, fails, and the failure hook POSTs to a local webhook. Everything is shut down at the end.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
BKK = timezone(timedelta(hours=7))
DEPLOYMENT = "monthly-refresh/monthly"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_session(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process started with start_new_session=True and everything in its session (the worker's flow-run
    subprocesses, the server's uvicorn), SIGTERM first, then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            if os.getsid(pid) == proc.pid:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(client, method, url, **kw):
    """One API call, retried on a transport error (a 2-core machine under load resets a connection now and
    then) and on 503: the SQLite-backed server answers "Service Unavailable" when its database is busy, and
    rolls the request back, so asking again is safe (scheduled runs also carry idempotency keys). Other HTTP
    errors are not retried."""
    for attempt in range(8):
        try:
            r = client.request(method, url, **kw)
        except httpx.TransportError:
            if attempt == 7:
                raise
        else:
            if r.status_code != 503 or attempt == 7:
                return r
        time.sleep(1 + attempt)


def base_env(prefect_home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHAKHI_"))}
    env.update({"PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", "PREFECT_HOME": str(prefect_home),
                "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from phakhi.settings import Paths
    from phakhi.sample import write_sample

    tmp = tmp_path_factory.mktemp("prefect-server")
    home = Paths(tmp / "phakhi-home").ensure()
    write_sample(home.landing)
    port, worker_port = free_port(), free_port()
    api = f"http://127.0.0.1:{port}/api"

    Hook.received = []
    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()

    procs, logs = [], {}
    try:
        env = base_env(tmp / "server-prefect")
        # a short wait before a run that found the slot taken asks again (default 30 s)
        env.update({"PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "3", "PREFECT_UI_ENABLED": "false"})
        logs["server"] = tmp / "server.log"
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=logs["server"].open("w"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        procs.append(server)
        started = time.monotonic()
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:   # (HTTPError covers resets)
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, logs["server"].read_text()[-3000:]
            assert time.monotonic() - started < 180, "Prefect server not healthy after 180 s"
            time.sleep(0.5)
        server_ready_s = time.monotonic() - started

        env = base_env(tmp / "worker-prefect")
        env.update({"PREFECT_API_URL": api, "PHAKHI_HOME": str(home.home),
                    "PHAKHI_NOTIFY_WEBHOOK": f"http://127.0.0.1:{hook.server_port}/hooks/phakhi",
                    "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
                    "PREFECT_WORKER_WEBSERVER_PORT": str(worker_port)})
        logs["worker"] = tmp / "worker.log"
        worker = subprocess.Popen([str(REPO / "deploy" / "worker-entrypoint.sh")], env=env,
                                  stdout=logs["worker"].open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(worker)
        client = httpx.Client(base_url=api, timeout=30)
        deadline = time.monotonic() + 180
        while True:   # deployed, and the worker polling its pool
            r = call(client, "GET", f"/deployments/name/{DEPLOYMENT}")
            if r.status_code == 200 and call(client, "GET", "/work_pools/phakhi-process").json().get("status") == "READY":
                break
            assert worker.poll() is None, logs["worker"].read_text()[-3000:]
            assert time.monotonic() < deadline, "deployment/worker not ready:\n" + logs["worker"].read_text()[-3000:]
            time.sleep(1)
        yield {"api": api, "client": client, "home": home, "deployment": r.json(), "logs": logs,
               "worker_health": f"http://127.0.0.1:{worker_port}/health", "server_ready_s": server_ready_s}
        client.close()
    finally:
        for p in reversed(procs):
            kill_session(p)
        hook.shutdown()
        hook.server_close()


def wait_final(client, run_id, timeout, logs):
    deadline = time.monotonic() + timeout
    while True:
        run = call(client, "GET", f"/flow_runs/{run_id}").json()
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        assert time.monotonic() < deadline, f"run still {run['state_name']}:\n" + logs["worker"].read_text()[-4000:]
        time.sleep(1)


def test_scheduled_refresh_concurrency_and_failure_webhook(stack):
    client, logs = stack["client"], stack["logs"]
    dep = stack["deployment"]
    # what prefect.yaml asked for, as the server holds it
    assert dep["parameters"] == {"period": "previous"}
    [sched] = dep["schedules"]
    assert sched["schedule"]["cron"] == "0 2 5 * *" and sched["schedule"]["timezone"] == "Asia/Bangkok"
    assert dep["global_concurrency_limit"]["limit"] == 1
    assert httpx.get(stack["worker_health"], timeout=5).status_code == 200   # the compose health check's URL

    # The schedule's own run for January 2026 (a backfill of the cron between 1 and 10 Jan): 02:00 Bangkok, 5th.
    r = call(client, "POST", f"/deployments/{dep['id']}/schedule",
                    json={"start_time": "2026-01-01T00:00:00+07:00", "end_time": "2026-01-10T00:00:00+07:00"})
    assert r.status_code in (200, 201), r.text
    runs = call(client, "POST", "/flow_runs/filter", json={"deployments": {"id": {"any_": [dep["id"]]}},
                                                  "flow_runs": {"expected_start_time": {
                                                      "before_": "2026-02-01T00:00:00+00:00"}}}).json()
    assert len(runs) == 1
    first = runs[0]
    assert datetime.fromisoformat(first["expected_start_time"]) == datetime(2026, 1, 5, 2, 0, tzinfo=BKK)

    # Once it runs, ask for a second run: it must wait for the slot. (It names a month that does not exist, so
    # it fails at once when it does start — and notifies.)
    deadline = time.monotonic() + 120
    while call(client, "GET", f"/flow_runs/{first['id']}").json()["state_type"] not in ("RUNNING", "COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, "the scheduled run was not picked up:\n" + logs["worker"].read_text()[-3000:]
        time.sleep(0.5)
    for _ in range(5):   # the SQLite-backed API can answer "database is locked" while the first run writes
        second = call(client, "POST", f"/deployments/{dep['id']}/create_flow_run",
                      json={"parameters": {"period": "2025-13"}}).json()
        if "id" in second:
            break
        time.sleep(1)
    assert "id" in second, second

    # guards against a hang, not speed limits: a refresh shares two cores with the other test worker
    first = wait_final(client, first["id"], 600, logs)
    assert first["state_type"] == "COMPLETED", logs["worker"].read_text()[-4000:]
    pub = stack["home"].publications / "latest"
    manifest = json.loads((pub / "manifest.json").read_text())
    assert manifest["period"] == "2025-12"                 # "previous" relative to the scheduled 2026-01-05
    assert (pub / "index.html").exists()

    second = wait_final(client, second["id"], 300, logs)
    history = [s["name"] for s in call(client, "GET", "/flow_run_states/", params={"flow_run_id": second["id"]}).json()]
    assert "AwaitingConcurrencySlot" in history, history
    assert second["start_time"] is None or datetime.fromisoformat(second["start_time"]) >= \
        datetime.fromisoformat(first["end_time"]), (first["end_time"], second["start_time"])
    assert second["state_type"] == "FAILED"

    deadline = time.monotonic() + 20
    while not Hook.received:
        assert time.monotonic() < deadline, "no failure notification arrived"
        time.sleep(0.5)
    [note] = Hook.received
    assert note["flow_run_id"] == second["id"] and note["state"] == "Failed"
    assert note["parameters"] == {"period": "2025-13"} and "YYYY-MM" in note["message"]
    # only the failed run notified; one publication
    assert len([p for p in stack["home"].publications.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]) == 1
    print(f"\nserver healthy after {stack['server_ready_s']:.1f}s; scheduled run "
          f"{first['total_run_time']:.1f}s of flow time; second run history {history}")
