"""Right of reply on a Prefect server: the refresh's `hold_for_review` writes the candidate and pauses the flow
run (pause_flow_run with a ReviewDecision run input); DCCE's approve in the console resumes it
(resume_flow_run) and the flow goes on to publish. Publishing itself is replaced by a stand-in here: the real
publish path runs in the browser journey (test_portal_journey.py)."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

FLOW = r'''
import sys
import duckdb, pandas as pd
from prefect import flow
import phakhi.review as review
from phakhi.settings import use_home
paths = use_home(sys.argv[1])
import flows.pipeline as pipeline
with duckdb.connect(str(paths.build_db)) as con:
    con.execute("create or replace table t as select 1 as x")

def stand_in_publish(paths, run_id, decided_by=""):
    out = paths.publications / f"published-{run_id}"
    out.mkdir(parents=True)
    (out / "decided_by.txt").write_text(decided_by)
    return out

review.publish_candidate = stand_in_publish

@flow(name="review-pause-check")
def check():
    return pipeline.hold_for_review(paths, "2025-12", "r20260105T000000Z", pd.DataFrame([{"family": "x"}]))

print("RESULT", check())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(pred, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_console_approval_resumes_the_paused_refresh(world, tmp_path):
    import httpx
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PHAKHI_REVIEW_DAYS": str(5 / 86400)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runner = None
    try:
        def healthy():
            try:
                return httpx.get(api + "/health", timeout=3).status_code == 200
            except httpx.HTTPError:
                return False
        wait(healthy, 180, "the Prefect server")
        home = world["home"]
        script = tmp_path / "flow.py"
        script.write_text(FLOW)
        runner = subprocess.Popen([sys.executable, str(script), str(home.home)], env=env, cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        meta_file = home.candidate_dir / "r20260105T000000Z" / "candidate.json"
        wait(lambda: meta_file.exists() and json.loads(meta_file.read_text()).get("paused"), 240, "the candidate")
        meta = json.loads(meta_file.read_text())

        def paused():
            r = httpx.get(f"{api}/flow_runs/{meta['flow_run_id']}", timeout=5).json()
            return (r.get("state") or {}).get("type") == "PAUSED"
        wait(paused, 120, "the flow run to pause")
        time.sleep(6)                                            # the 5-second review window closes
        staff = Client()
        staff.force_login(world["staff"], backend="django.contrib.auth.backends.ModelBackend")
        with temporary_settings({PREFECT_API_URL: api}):
            r = staff.post(reverse("approve"), {"run_id": "r20260105T000000Z"}, follow=True)
        assert "อนุมัติแล้ว" in r.content.decode() or "Approved" in r.content.decode(), r.content.decode()[-1500:]
        out, _ = runner.communicate(timeout=180)
        assert runner.returncode == 0, out[-3000:]
        published = home.publications / "published-r20260105T000000Z"
        assert f"RESULT {published}" in out
        assert (published / "decided_by.txt").read_text() == "staff@dcce.example"
        assert json.loads(meta_file.read_text())["state"] == "approved"
    finally:
        if runner is not None and runner.poll() is None:
            runner.kill()
        try:
            os.killpg(server.pid, 15)
        except ProcessLookupError:
            pass
        server.wait(30)
