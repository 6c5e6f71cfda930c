"""Orchestration helpers (phakhi/task_runners.py): period resolution, backfill, the ingest cache key, the failure
webhook and the task-runner setting. Plain functions: no Prefect server, no refresh."""
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from flows import backfill as backfill_flow
from phakhi import notify, periods, task_runners
from phakhi.ingest import cache
from phakhi.cli import app
from phakhi.settings import Paths
from phakhi.publish.files import finalise, building_dir

BKK = timezone(timedelta(hours=7))


# ---------------------------------------------------------------- periods
@pytest.mark.parametrize("at, expected", [
    (datetime(2026, 1, 5, 2, 0, tzinfo=BKK), "2025-12"),        # the cron slot: 02:00 on the 5th, Bangkok
    (datetime(2025, 3, 5, 2, 0, tzinfo=BKK), "2025-02"),
    (datetime(2025, 1, 31, 20, 0, tzinfo=timezone.utc), "2025-01"),   # = 1 Feb 03:00 in Bangkok
    (datetime(2025, 2, 28, 16, 59, tzinfo=timezone.utc), "2025-01"),  # = 28 Feb 23:59 in Bangkok
    (datetime(2025, 7, 10, 12, 0), "2025-06"),                        # naive: taken as UTC
])
def test_previous_month_is_the_calendar_month_before_in_bangkok(at, expected):
    assert periods.previous_month(at) == expected


def test_resolve_period():
    at = datetime(2026, 1, 5, 2, 0, tzinfo=BKK)
    assert periods.resolve_period("previous", at=at) == "2025-12"
    assert periods.resolve_period(" PREVIOUS ", at=at) == "2025-12"
    assert periods.resolve_period("2024-07", at=at) == "2024-07"
    for latest in (None, "", "latest"):
        assert periods.resolve_period(latest, at=at) is None          # the flow picks the latest month in the data
    for bad in ("2025-13", "2025-1", "25-01", "last", "2025-00"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            periods.resolve_period(bad, at=at)


def test_previous_outside_a_flow_run_is_relative_to_now():
    now = datetime.now(timezone.utc)
    assert periods.resolve_period("previous") == periods.previous_month(now)


def test_months_inclusive_and_in_order():
    assert periods.months("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert len(periods.months("2023-01", "2024-12")) == 24
    assert periods.months("2024-05", "2024-05") == ["2024-05"]
    with pytest.raises(ValueError, match="before it starts"):
        periods.months("2024-02", "2024-01")


# ---------------------------------------------------------------- backfill
def _publish(pubs, pub_id, period):
    b = building_dir(pubs, pub_id)
    (b / "manifest.json").write_text(json.dumps({"period": period, "created_at": "2026-01-05T02:00:00+00:00"}))
    finalise(pubs, b, pub_id)


def _fake_run(calls, fail=()):
    def run(period, home):
        calls.append(period)
        if period in fail:
            raise RuntimeError(f"quality gate failed for {period}\nmore detail")
        pub_id = f"{period}-r{uuid4().hex[:8]}"
        _publish(Path(home) / "publications", pub_id, period)
        return pub_id
    return run


def test_backfill_runs_in_order_and_skips_published_months(tmp_path):
    home = tmp_path / "home"
    _publish(home / "publications", "2024-02-rold", "2024-02")
    calls = []
    out = backfill_flow.backfill("2024-01", "2024-04", home=home, run=_fake_run(calls))
    assert calls == ["2024-01", "2024-03", "2024-04"]
    assert [(o.period, o.status) for o in out] == [("2024-01", "published"), ("2024-02", "skipped"),
                                                   ("2024-03", "published"), ("2024-04", "published")]
    calls.clear()
    assert {o.status for o in backfill_flow.backfill("2024-01", "2024-04", home=home, run=_fake_run(calls))} == {"skipped"}
    assert calls == []
    out = backfill_flow.backfill("2024-01", "2024-04", home=home, force=True, run=_fake_run(calls))
    assert calls == ["2024-01", "2024-02", "2024-03", "2024-04"] and {o.status for o in out} == {"published"}


def test_backfill_stops_at_the_first_failure_unless_keep_going(tmp_path):
    calls = []
    out = backfill_flow.backfill("2024-01", "2024-04", home=tmp_path / "a", run=_fake_run(calls, fail={"2024-02"}))
    assert calls == ["2024-01", "2024-02"]
    assert [o.status for o in out] == ["published", "failed", "not run", "not run"]
    assert out[1].detail == "RuntimeError: quality gate failed for 2024-02"
    calls.clear()
    out = backfill_flow.backfill("2024-01", "2024-04", home=tmp_path / "b", keep_going=True,
                        run=_fake_run(calls, fail={"2024-02"}))
    assert calls == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert [o.status for o in out] == ["published", "failed", "published", "published"]


def test_backfill_of_older_months_leaves_the_live_publication_live(tmp_path):
    from phakhi.publish.files import current_latest

    home = tmp_path / "home"
    _publish(home / "publications", "2025-12-rlive", "2025-12")
    out = backfill_flow.backfill("2024-01", "2024-02", home=home, run=_fake_run([]))
    assert current_latest(home / "publications") == "2025-12-rlive"
    assert [(o.period, o.status) for o in out][-1] == ("2025-12", "live")
    # a backfill that covers the live month publishes it anew: the new one is live
    out = backfill_flow.backfill("2025-11", "2025-12", home=home, force=True, run=_fake_run([]))
    now_live = current_latest(home / "publications")
    assert now_live.startswith("2025-12-r") and now_live != "2025-12-rlive" and out[-1].status == "published"


def test_backfill_cli(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(backfill_flow, "run_locally", _fake_run(calls, fail={"2024-03"}))
    home = tmp_path / "home"
    _publish(home / "publications", "2024-01-rold", "2024-01")
    runner = CliRunner()
    res = runner.invoke(app, ["backfill", "2024-01", "2024-02", "--home", str(home)])
    assert res.exit_code == 0, res.output
    assert "2024-01  skipped" in res.output and "2024-02  published" in res.output and calls == ["2024-02"]
    res = runner.invoke(app, ["backfill", "2024-01", "2024-04", "--home", str(home), "--force"])
    assert res.exit_code == 1 and "2024-03  failed" in res.output and "2024-04  not run" in res.output
    assert calls == ["2024-02", "2024-01", "2024-02", "2024-03"]
    res = runner.invoke(app, ["backfill", "2024-13", "2024-04", "--home", str(home)])
    assert res.exit_code == 2 and "YYYY-MM" in res.output
    assert "backfill" in runner.invoke(app, ["--help"]).output


# ---------------------------------------------------------------- ingest cache key
def _landing(tmp_path):
    paths = Paths(tmp_path / "home").ensure()
    (paths.landing_for("ghg_reductions") / "ghg_2025-01.csv").write_text("a,b\n1,2\n")
    (paths.landing_for("ghg_reductions") / "2025-02").mkdir()
    (paths.landing_for("ghg_reductions") / "2025-02" / "ghg.csv").write_text("a,b\n3,4\n")
    (paths.landing_for("partner_registry") / "registry.csv").write_text("partner_id\nP001\n")
    return paths


def test_code_fingerprint_covers_ingest_code_and_contracts():
    covered = {p.name for p in cache.INGEST_DATA}
    assert {"contracts", "instrument"} <= covered
    assert all(p.is_dir() for p in cache.INGEST_DATA)


# ---------------------------------------------------------------- failure webhook
class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/phakhi", _Hook.received
    server.shutdown()
    server.server_close()


def _failed_run():
    flow = SimpleNamespace(name="monthly-refresh")
    run = SimpleNamespace(id=uuid4(), name="agile-raccoon", deployment_id=None, parameters={"period": "2025-12"},
                          expected_start_time=datetime(2026, 1, 4, 19, 0, tzinfo=timezone.utc))
    state = SimpleNamespace(name="Failed", message="quality gate failed for 2025-12; nothing published\n- check x")
    return flow, run, state


def test_notify_failure_posts_a_json_summary(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("PHAKHI_NOTIFY_WEBHOOK", url)
    monkeypatch.delenv("PHAKHI_NOTIFY_SECRET", raising=False)
    monkeypatch.setenv("PREFECT_UI_URL", "http://127.0.0.1:4200")
    flow, run, state = _failed_run()
    notify.notify_failure(flow, run, state)
    assert len(received) == 1
    headers, body = received[0]
    payload = json.loads(body)
    assert payload["event"] == "phakhi.refresh.failed" and payload["state"] == "Failed"
    assert payload["flow"] == "monthly-refresh" and payload["flow_run_name"] == "agile-raccoon"
    assert payload["parameters"] == {"period": "2025-12"} and payload["flow_run_id"] == str(run.id)
    assert payload["message"].startswith("quality gate failed for 2025-12")
    assert payload["ui_url"] == f"http://127.0.0.1:4200/runs/flow-run/{run.id}"
    assert "period=2025-12" in payload["text"] and "quality gate failed" in payload["text"]
    assert headers["Content-Type"].startswith("application/json")
    assert notify.SIGNATURE_HEADER not in headers


def test_notify_failure_signs_when_a_secret_is_set(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("PHAKHI_NOTIFY_WEBHOOK", url)
    monkeypatch.setenv("PHAKHI_NOTIFY_SECRET", "s3cret")
    notify.notify_failure(*_failed_run())
    headers, body = received[0]
    assert headers[notify.SIGNATURE_HEADER] == notify.sign(body, "s3cret")
    assert headers[notify.SIGNATURE_HEADER] != notify.sign(body, "old-secret")


def test_notify_failure_is_off_by_default(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.delenv("PHAKHI_NOTIFY_WEBHOOK", raising=False)
    notify.notify_failure(*_failed_run())
    monkeypatch.setenv("PHAKHI_NOTIFY_WEBHOOK", "  ")
    notify.notify_failure(*_failed_run())
    assert received == []


def test_notify_failure_never_raises(monkeypatch, caplog):
    # a closed port on this machine: the hook logs (host only, never the token in the path) and returns
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("PHAKHI_NOTIFY_WEBHOOK", f"http://127.0.0.1:{port}/T0KEN-in-path")
    notify.notify_failure(*_failed_run())
    monkeypatch.setenv("PHAKHI_NOTIFY_WEBHOOK", "ftp://127.0.0.1/x")
    notify.notify_failure(*_failed_run())
    assert "T0KEN" not in caplog.text


# ---------------------------------------------------------------- task runner setting
def test_task_runner_setting(monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    monkeypatch.delenv("PHAKHI_TASK_RUNNER", raising=False)
    assert isinstance(task_runners.ingest_task_runner(), ThreadPoolTaskRunner)
    assert task_runners.ingest_task_runner("threads:3")._max_workers == 3
    local = task_runners.ingest_task_runner("dask:2")
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 2 and local.cluster_kwargs["processes"] is True
    remote = task_runners.ingest_task_runner("dask:tcp://127.0.0.1:8786")
    assert remote.address == "tcp://127.0.0.1:8786"
    assert task_runners.ingest_task_runner("dask:127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    monkeypatch.setenv("PHAKHI_TASK_RUNNER", "dask")
    assert isinstance(task_runners.ingest_task_runner(), DaskTaskRunner)
    with pytest.raises(ValueError, match="PHAKHI_TASK_RUNNER"):
        task_runners.ingest_task_runner("ray")


def test_refresh_timeout_setting(monkeypatch):
    monkeypatch.delenv("PHAKHI_REFRESH_TIMEOUT_SECONDS", raising=False)
    assert task_runners.refresh_timeout_seconds() == 7200
    assert task_runners.refresh_timeout_seconds("600") == 600 and task_runners.refresh_timeout_seconds("0") is None
    monkeypatch.setenv("PHAKHI_REFRESH_TIMEOUT_SECONDS", "90")
    assert task_runners.refresh_timeout_seconds() == 90
    with pytest.raises(ValueError):
        task_runners.refresh_timeout_seconds("-1")
    from flows.pipeline import monthly_refresh   # the flow carries the limit, the hooks and the runner

    assert monthly_refresh.timeout_seconds and monthly_refresh.on_failure_hooks and monthly_refresh.on_crashed_hooks
