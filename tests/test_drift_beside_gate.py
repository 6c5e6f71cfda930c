"""The drift report's child runs beside the gate (flows/pipeline.py): started once dbt has built the warehouse,
its result taken only when the gate passed. A failed gate stops it and publishes nothing of it; a failing drift
report fails the refresh with its error and leaves the last good publication (write-audit-publish)."""
from __future__ import annotations

import os

import duckdb
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def home(copy_sample, tmp_path):
    """A private copy of the refreshed SAMPLE home; its refreshes below build from scratch (full=True), so the
    drift report is computed, not copied from the live publication."""
    paths, publication = copy_sample(tmp_path / "home")
    return paths


def _publications(paths) -> list[str]:
    return sorted(p.name for p in paths.publications.iterdir() if p.is_dir() and not p.is_symlink()
                  and not p.name.startswith("."))


def test_a_gate_failing_while_drift_runs_stops_it_and_publishes_nothing(home, monkeypatch):
    import flows.pipeline as pipeline
    from prefect import task

    paths = home
    before_link, before_pubs = os.readlink(paths.latest), _publications(paths)
    started, alive_at_gate = [], []
    real_start, real_build, real_audit = pipeline.start_drift, pipeline.build_warehouse, pipeline.audit

    def start_and_keep(*args, **kwargs):
        pending = real_start(*args, **kwargs)
        started.append(pending.process)
        return pending

    @task(name="build_warehouse")
    def build_and_plant(paths, period, **kw):       # an off-track partner painted green: the gate's dash suite fails
        outcome = real_build.fn(paths, period, **kw)
        with duckdb.connect(str(paths.build_db)) as con:
            con.execute("update marts.dash_partners set light = 'green' where status = 'off_track'")
        return outcome

    @task(name="audit")
    def audit_watching(paths, dbt_outcome, previous=None):
        alive_at_gate.append(started[0].poll() is None)
        return real_audit.fn(paths, dbt_outcome, previous)

    monkeypatch.setattr(pipeline, "start_drift", start_and_keep)
    monkeypatch.setattr(pipeline, "build_warehouse", build_and_plant)
    monkeypatch.setattr(pipeline, "audit", audit_watching)
    with pytest.raises(pipeline.GateFailed, match="dash_partners"):
        pipeline.monthly_refresh(home=str(paths.home), full=True)
    assert alive_at_gate == [True]                   # the drift report was being computed while the gate ran
    assert started[0].returncode is not None         # ... and nothing of it runs on after the refresh
    run_dir = max((p for p in paths.runs.iterdir() if p.is_dir()), key=lambda p: p.name)
    assert (run_dir / "gate.json").is_file() and not (run_dir / "drift").exists()
    assert os.readlink(paths.latest) == before_link and _publications(paths) == before_pubs


def test_a_failing_drift_report_fails_the_refresh_with_its_error(home, monkeypatch, tmp_path):
    import flows.pipeline as pipeline
    from phakhi.drift import DriftFailed

    paths = home
    before_link, before_pubs = os.readlink(paths.latest), _publications(paths)
    broken = tmp_path / "broken"                     # the child's evidently cannot be imported
    (broken / "evidently").mkdir(parents=True)
    (broken / "evidently" / "__init__.py").write_text("raise RuntimeError('evidently is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))
    with pytest.raises(DriftFailed, match="could not be computed: RuntimeError: evidently is broken here"):
        pipeline.monthly_refresh(home=str(paths.home), full=True)
    assert os.readlink(paths.latest) == before_link and _publications(paths) == before_pubs
