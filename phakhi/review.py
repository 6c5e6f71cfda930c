"""The partners' right of reply: a refresh that passed the gate waits as a *candidate* until DCCE approves it.

    PHAKHI_REVIEW_DAYS=0 (the default, local mode): no candidate; `phakhi refresh` publishes at once.
    PHAKHI_REVIEW_DAYS>0: the flow writes the candidate here ($PHAKHI_HOME/candidate/<run_id>/: the audited
    warehouse and what the publication needs), then pauses (flows/pipeline.py `hold_for_review`) until DCCE
    approves in the portal's console, which resumes the flow run with a `ReviewDecision`. Without a Prefect
    server to resume (local mode), the flow ends at the candidate and `publish_candidate` (console approve, or
    `phakhi publish-candidate`) publishes it.

Partners' replies reach the refresh as a landed source family, partner_replies (sources/contracts/
partner_replies.yml), written by the portal; publishing a candidate loads them into the candidate warehouse
and rebuilds only the disputes mart (dbt, with its tests) and re-runs the gate. A reply never changes a
number: it only marks a published figure as disputed, with the partner's comment, until DCCE resolves it."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prefect.input import RunInput

from phakhi.settings import Paths, settings

REPLIES = "partner_replies"


class ReviewDecision(RunInput):
    """The run input that resumes a paused refresh (resume_flow_run(flow_run_id, run_input={...}))."""
    approved: bool
    decided_by: str = ""
    note: str = ""


def review_days() -> float:
    return max(0.0, float(settings().review_days or 0))


def _meta_path(paths: Paths, run_id: str) -> Path:
    return paths.candidate_dir / run_id / "candidate.json"


def write_candidate(paths: Paths, period: str, run_id: str, ingest_report, flow_run_id: str | None = None,
                    days: float | None = None) -> dict:
    """Keep the audited build warehouse aside as the candidate (atomic: the folder appears complete)."""
    days = review_days() if days is None else days
    final = paths.candidate_dir / run_id
    tmp = paths.candidate_dir / f".{run_id}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copyfile(paths.build_db, tmp / "warehouse.duckdb")
    ingest_report.to_csv(tmp / "ingest_report.csv", index=False)
    now = datetime.now(timezone.utc)
    meta = {"run_id": run_id, "period": period, "flow_run_id": flow_run_id, "state": "open",
            "created_at": now.isoformat(timespec="seconds"),
            "closes_at": (now + timedelta(days=days)).isoformat(timespec="seconds")}
    (tmp / "candidate.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for older in candidates(paths):        # one candidate at a time: a newer refresh replaces a waiting one
        if older["run_id"] != run_id and older["state"] == "open":
            set_state(paths, older["run_id"], "superseded", superseded_by=run_id)
    return meta


def candidates(paths: Paths) -> list[dict]:
    if not paths.candidate_dir.exists():
        return []
    out = []
    for p in sorted(paths.candidate_dir.glob("*/candidate.json")):
        meta = json.loads(p.read_text(encoding="utf-8"))
        meta["warehouse"] = str(p.parent / "warehouse.duckdb")
        out.append(meta)
    return out


def open_candidate(paths: Paths) -> dict | None:
    """The newest candidate still waiting for DCCE, or None."""
    live = [c for c in candidates(paths) if c["state"] == "open"]
    return live[-1] if live else None


def set_state(paths: Paths, run_id: str, state: str, **extra) -> dict:
    path = _meta_path(paths, run_id)
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(state=state, **extra)
    tmp = path.with_name(".candidate.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    tmp.replace(path)
    return meta


def load_replies(paths: Paths, db: Path) -> int:
    """Ingest the landed partner replies (the contract checks them against the candidate's registry) into
    raw.partner_replies of `db`. Returns the rows loaded."""
    import duckdb

    import pandas as pd

    from phakhi.ingest.contracts import load_contract
    from phakhi.ingest.files import assemble_family, ingest_files, list_files, typed_frame, write_raw

    with duckdb.connect(str(db), read_only=True) as con:
        ids = {r[0] for r in con.execute("select partner_id from raw.partner_registry").fetchall()}
    files = list_files(paths.landing_for(REPLIES))
    if files:
        loaded = assemble_family(REPLIES, ingest_files(REPLIES, files, paths.landing, {"partner_id": ids}, workers=1)).loaded
    else:
        contract = load_contract(REPLIES)
        loaded = typed_frame(contract, pd.DataFrame(columns=["_row"] + contract.column_names + ["_file", "_sheet", "_file_hash"]))
    with duckdb.connect(str(db)) as con:
        write_raw(con, REPLIES, loaded)
    return len(loaded)


def publish_candidate(paths: Paths, run_id: str, decided_by: str = "") -> Path:
    """Publish an approved candidate: its warehouse (numbers as audited), plus the partners' replies as
    dispute marks (dbt rebuilds the disputes mart with its tests; the gate runs again), switched in as the
    flow does (phakhi/publish/warehouse.py: warehouse first, put back on failure). Returns the publication
    folder."""
    from phakhi.drift import survey_drift_from_warehouse
    from phakhi.publish.pointers import record_attempt
    from phakhi.publish.warehouse import publish_switching
    from phakhi.quality.gate import run_gate
    from phakhi.transform import run_dbt

    meta = json.loads(_meta_path(paths, run_id).read_text(encoding="utf-8"))
    if meta["state"] == "published":
        raise ValueError(f"candidate {run_id} is already published")
    cand = paths.candidate_dir / run_id
    period = meta["period"]
    shutil.copyfile(cand / "warehouse.duckdb", paths.build_db)
    load_replies(paths, paths.build_db)
    outcome = run_dbt(paths, period, extra=["--select", "stg_portal__partner_replies+"])
    if not outcome.success:
        raise RuntimeError("dbt could not build the disputes mart: " +
                           "; ".join(f"{f['node']}: {f['message'][:200]}" for f in outcome.failures))
    gate = run_gate(paths.build_db)
    gate.dbt = {"success": outcome.success, "counts": outcome.counts, "failures": outcome.failures}
    run_dir = paths.runs / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if not gate.passed:
        record_attempt(paths.publications, "blocked", period, run_id, gate.summary().splitlines())
        raise RuntimeError(f"quality gate failed for the candidate {run_id}; nothing published.\n{gate.summary()}")
    drift = survey_drift_from_warehouse(paths.build_db, run_dir / "drift")
    pub = publish_switching(paths, period, run_id, gate, drift)
    record_attempt(paths.publications, "published", period, run_id, publication_id=pub.name)
    set_state(paths, run_id, "published", decided_by=decided_by, publication=pub.name,
              published_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return pub
