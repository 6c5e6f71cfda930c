"""Assemble one publication: dashboard, open data (CSV + Parquet), drift report, quality reports, manifest."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from phakhi.settings import Paths
from phakhi.publish.datapackage import descriptor, model_docs
from phakhi.publish.files import discard_building, stable_frame, finalise, staging_dir, write_table
from phakhi.publish.pages import site_context
from phakhi.publish.site import render_site

# Published marts: warehouse table -> file name
PUBLISHED = {"marts.mart_partner_progress": "partner_progress", "marts.mart_awareness_baseline": "awareness_baseline",
             "marts.mart_awareness_change": "awareness_change", "marts.mart_awareness_reliability": "awareness_reliability",
             "marts.mart_awareness_waves": "awareness_waves"}
PUBLISHED["marts.mart_national_progress"] = "national_progress"
PUBLISHED["marts.mart_province_summary"] = "province_summary"
PUBLISHED["marts.mart_sector_progress"] = "sector_progress"
PUBLISHED["marts.mart_ace_indicators"] = "ace_indicators"
PUBLISHED["marts.mart_best_practices"] = "best_practices"
PUBLISHED["marts.mart_partner_disputes"] = "partner_disputes"   # right of reply: open disputes (phakhi/review.py)


def read_marts(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        marts = {name: stable_frame(con.execute(f"select * from {table} order by all").df()) for table, name in PUBLISHED.items()}
        marts["provinces"] = con.execute("select province_code, name_th, name_en, region from reference.provinces").df()
    return marts


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

    # The dashboard reads every mart it knows from the audited warehouse itself (pages degrade to "not
    # available yet" when a mart is missing); see phakhi/publish/pages.py.
    render_site(out, site_context(paths.staging_db, out, period=period, pub_id=pub_id, is_sample=is_sample,
                                  gate=gate_doc, drift=drift_ctx, ingest=ingest_report, quarantine=quarantine))
    from phakhi.version import code_version

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
