"""Assemble one publication: dashboard, open data (CSV + Parquet), drift report, quality reports, manifest."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from flows.config import Paths
from flows.publish.datapackage import descriptor, model_docs
from flows.publish.files import discard_building, finalise, staging_dir, write_table
from flows.publish.site import render_site

# Published marts: warehouse table -> file name
PUBLISHED = {"marts.mart_partner_progress": "partner_progress", "marts.mart_awareness_by_wave": "awareness_by_wave"}


def read_marts(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        marts = {name: con.execute(f"select * from {table}").df() for table, name in PUBLISHED.items()}
        marts["provinces"] = con.execute("select province_code, name_th, name_en, region from reference.provinces").df()
    return marts


def awareness_rows(aw: pd.DataFrame) -> tuple[list[int], list[dict]]:
    waves = sorted(int(w) for w in aw["wave"].unique())
    rows = []
    for (measure, domain, value), g in aw.groupby(["measure", "domain", "domain_value"], sort=False):
        rows.append({"measure": measure, "domain": domain, "domain_value": value,
                     "cells": {int(r.wave): r._asdict() for r in g.itertuples()}})
    order = {"awareness_index": 0, "knowledge": 1, "concern": 2, "behaviour": 3}
    dorder = {"overall": 0, "region": 1, "sex": 2, "urban_rural": 3, "age_group": 4}
    rows.sort(key=lambda r: (order.get(r["measure"], 9), dorder.get(r["domain"], 9), r["domain_value"]))
    return waves, rows


def build_publication(paths: Paths, period: str, run_id: str, gate, drift_result, ingest_report: pd.DataFrame,
                      results) -> Path:
    pub_id = f"{period}-{run_id}"
    discard_building(paths.publications)
    out = staging_dir(paths.publications, pub_id)
    marts = read_marts(paths.staging_db)
    downloads = []
    for name in PUBLISHED.values():
        downloads += [str(p.relative_to(out)) for p in write_table(marts[name], out / "data", name)]

    quality = out / "quality"
    quality.mkdir()
    ingest_report.to_csv(quality / "ingest_report.csv", index=False, encoding="utf-8-sig")
    quarantine = pd.concat([r.quarantine for r in results], ignore_index=True)
    write_table(quarantine, quality, "quarantine")
    gate_doc = gate.to_dict()
    if gate.data_docs is not None and gate.data_docs.exists():
        shutil.copytree(gate.data_docs, quality / "data_docs")
        gate_doc["data_docs"] = "quality/data_docs/index.html"   # relative: the build's temp folder is gone
    (quality / "gate.json").write_text(json.dumps(gate_doc, default=str, indent=1, ensure_ascii=False), encoding="utf-8")
    is_sample = (paths.landing / "SAMPLE_README.txt").exists()
    package = descriptor(pub_id, period, {name: (table.split(".")[-1], marts[name]) for table, name in PUBLISHED.items()},
                         model_docs(paths.dbt_work / "target" / "manifest.json"), is_sample)
    (out / "datapackage.json").write_text(json.dumps(package, indent=1, ensure_ascii=False), encoding="utf-8")

    drift_ctx = None
    if drift_result is not None:
        shutil.copytree(drift_result.html_path.parent, out / "drift")
        drift_ctx = {"baseline_wave": drift_result.baseline_wave, "current_wave": drift_result.current_wave,
                     "rows": drift_result.summary.to_dict("records")}

    progress = marts["partner_progress"].merge(
        marts["provinces"].rename(columns={"name_th": "province_th", "name_en": "province_en"}),
        on="province_code", how="left").sort_values("partner_id")
    waves, aw_rows = awareness_rows(marts["awareness_by_wave"])
    aw = marts["awareness_by_wave"]
    head = aw[(aw.measure == "awareness_index") & (aw.domain == "overall")].sort_values("wave").tail(1)
    headline = None if head.empty else {"wave": int(head.wave.iloc[0]), "estimate": float(head.estimate.iloc[0]),
                                        "half_ci": float(head.ci_high.iloc[0] - head.estimate.iloc[0])}
    y, m = map(int, period.split("-"))
    render_site(out, {
        "period": period, "period_th": f"{m:02d}/{y + 543}", "pub_id": pub_id,
        "is_sample": is_sample,
        "progress": progress.to_dict("records"),
        "status_counts": progress["track_status"].value_counts().to_dict(),
        "awareness_headline": headline, "waves": waves, "awareness_rows": aw_rows, "drift": drift_ctx,
        "gate": {"total_checks": len(gate.checks), "passed_checks": sum(c.success for c in gate.checks),
                 "warnings": len(gate.warnings)},
        "ingest": ingest_report.to_dict("records"), "downloads": downloads,
    })
    from flows.pipeline import code_version

    manifest_files = pd.concat([r.manifest for r in results], ignore_index=True)
    (out / "manifest.json").write_text(json.dumps({
        "publication_id": pub_id, "period": period, "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "inputs": manifest_files[["family", "file", "file_hash", "status", "rows_read", "rows_loaded",
                                  "rows_quarantined"]].to_dict("records"),
        "dbt": gate.dbt, "gate": {"passed": gate.passed, "checks": len(gate.checks), "warnings": len(gate.warnings)},
    }, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    return finalise(paths.publications, out, pub_id)
