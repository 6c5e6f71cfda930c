"""Assemble one publication: dashboard, open data (CSV + Parquet), drift report, quality reports, manifest.

What is published is what dbt declares: the exposures in dbt_project/models/marts/dashboard/_exposures.yml
(read from dbt's target/manifest.json by phakhi.publish.exposures). The audited warehouse, the gate result
and the drift result are the only inputs: nothing travels here from ingestion.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from phakhi.publish.datapackage import descriptor, model_docs
from phakhi.publish.exposures import dashboard_tables, published_tables
from phakhi.publish.files import building_dir, csv_bytes, discard_building, finalise, neutralise_formulas, write_bytes
from phakhi.publish.known_tables import OpenDataFiles
from phakhi.publish import partner_pool
from phakhi.publish.pages import render_partner_range, site_context
from phakhi.publish.site import render_site
from phakhi.settings import Paths
from phakhi.timing import milestone


INPUT_COLUMNS = ["family", "file", "file_hash", "status", "rows_read", "rows_loaded", "rows_quarantined"]


def input_list_name(file: str) -> str:
    """The input list a landed file is named in: one per landing folder ('activity_reports/2025-01/x.xlsx' ->
    'activity_reports/2025-01'), so a closed month's list keeps its bytes and is shared between publications."""
    parent = str(file).replace("\\", "/").rpartition("/")[0]
    return parent or "landing"


def write_input_lists(inputs: pd.DataFrame, quality: Path) -> dict:
    """Every input file with its SHA-256 and row counts as CSV files under quality/inputs/ (one per landing
    folder, files in order); the manifest names each list with its own SHA-256, so the chain from a published
    number to its source file's bytes stays checkable while the manifest stays small (issue 17: naming all
    ~74k national files in manifest.json added 20 MB to every month)."""
    inputs = inputs[INPUT_COLUMNS].sort_values(["family", "file"]).reset_index(drop=True)
    lists = []
    for name, part in inputs.groupby(inputs["file"].map(input_list_name), sort=True):
        rel = f"quality/inputs/{name}.csv"
        data = csv_bytes(neutralise_formulas(part.reset_index(drop=True)))
        write_bytes(quality.parent / rel, data)
        lists.append({"path": rel, "families": sorted(set(part["family"])), "files": len(part),
                      "sha256": hashlib.sha256(data).hexdigest()})
    return {"files": len(inputs), "columns": INPUT_COLUMNS, "lists": lists}


def _docs_done(docs: DocsInBackground, out: Path, site: dict) -> None:
    """Before the quality page: dbt's documentation is written (or its error raised); the page links it."""
    docs.wait()
    quality = site["pages"].get("quality")
    if isinstance(quality, dict) and "dbt_docs" in quality:
        quality["dbt_docs"] = (out / "docs" / "dbt" / "index.html").is_file()


def read_inputs(publication: Path) -> pd.DataFrame:
    """Every input file of a publication, from the lists its manifest names (each checked against its SHA-256)."""
    manifest = json.loads((publication / "manifest.json").read_text(encoding="utf-8"))
    frames = []
    for item in manifest["inputs"]["lists"]:
        data = (publication / item["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise ValueError(f"{item['path']}: its SHA-256 differs from manifest.json's")
        frames.append(pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"file": str, "file_hash": str}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=manifest["inputs"]["columns"])


class DocsInBackground:
    """dbt's documentation page (phakhi.transform.build_dbt_docs: a dbt subprocess, ~5 s for a new month)
    generated while the publication is written: dbt reads the build warehouse while the publication is read
    from its promoted copy (no DuckDB connection of this process on the file dbt opens). `wait()` joins it and
    raises its error, as the call in line did."""

    def __init__(self, paths: Paths, out_dir: Path, period: str):
        import threading

        from phakhi.transform import build_dbt_docs

        self.error: BaseException | None = None

        def run():
            try:
                build_dbt_docs(paths, out_dir, period)
            except BaseException as exc:  # noqa: BLE001 - raised by wait(), in the publishing thread
                self.error = exc

        self.thread = threading.Thread(target=run, name="phakhi-dbt-docs", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def build_publication(paths: Paths, period: str, run_id: str, gate, drift_result, db: Path | None = None) -> Path:
    """The publication of `period`, read from the warehouse file `db` (the promoted copy of the build warehouse
    when publish_switching calls it; the build warehouse itself by default)."""
    pub_id = f"{period}-{run_id}"
    milestone("publish: build starts")
    dbt_manifest = paths.dbt_work / "target" / "manifest.json"
    published = published_tables(dbt_manifest)
    discard_building(paths.publications)
    out = building_dir(paths.publications, pub_id)
    db = Path(db or paths.build_db)
    # dbt's documentation (lineage from source to every published table), offline, linked from the quality
    # page: generated beside the rest when the publication is read from another file than the one dbt reads
    docs = DocsInBackground(paths, out / "docs" / "dbt", period) if db.resolve() != paths.build_db.resolve() else None
    tables = dashboard_tables(dbt_manifest)
    partners = _partners(db, tables)
    # the open data's files (known_tables: a table or month an earlier publication published is linked from
    # the store, its rows never read), written by a process of their own while this process writes the rest
    # and reads the site's context - when worker processes render the partner pages (below
    # partner_pool.MIN_PARTNERS its start-up costs more than it saves); it exits before they render
    files = OpenDataFiles(db, out, published, apart=partner_pool.workers_for({"partners": partners}) > 1)
    workers = None
    try:
        # the partner pages' worker processes start importing the page code now (~2 s each); they render once
        # the site's context is read and the open data written (render_site)
        workers = partner_pool.prestart(partners, render_partner_range)
        return _build(paths, period, run_id, gate, drift_result, db, pub_id, published, out, docs, tables,
                      workers, files)
    finally:
        files.abandon()                 # done by then, unless the build failed before
        if workers is not None:         # render_site's pool shut it down; not when the build failed before
            workers.shutdown(wait=True, cancel_futures=True)
        if docs is not None and docs.thread.is_alive():      # failed meanwhile: dbt never writes into a removed folder
            docs.thread.join()


def _partners(db: Path, tables: dict[str, str]) -> int:
    """How many partner pages the site will have (what the worker pool is sized by; 0: cannot say yet)."""
    if "dash_partners" not in tables:
        return 0
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(f"select count(*) from {tables['dash_partners']}").fetchone()[0]
    except duckdb.Error:
        return 0


def _build(paths, period, run_id, gate, drift_result, db, pub_id, published, out, docs, tables, workers,
           files: OpenDataFiles) -> Path:
    dbt_manifest = paths.dbt_work / "target" / "manifest.json"
    with duckdb.connect(str(db), read_only=True) as con:
        # SAMPLE or real: decided by the home (phakhi init), carried through dbt (model publication_origin)
        is_sample = bool(con.execute("select is_sample from marts.publication_origin").fetchone()[0])
        inputs = con.execute(f"select {', '.join(INPUT_COLUMNS)} from marts.dash_quality_files "
                             "order by family, file").df()

    quality = out / "quality"
    quality.mkdir(exist_ok=True)
    input_lists = write_input_lists(inputs, quality)
    del inputs
    milestone("publish: input lists written")
    gate_doc = gate.to_dict()
    if gate.data_docs is not None and gate.data_docs.exists():
        shutil.copytree(gate.data_docs, quality / "data_docs")
        gate_doc["data_docs"] = "quality/data_docs/index.html"   # relative: the build's temp folder is gone
    (quality / "gate.json").write_text(json.dumps(gate_doc, default=str, indent=1, ensure_ascii=False), encoding="utf-8")
    drift_ctx = None
    if drift_result is not None:
        shutil.copytree(drift_result.html_path.parent, out / "drift")
        drift_ctx = {"baseline_wave": drift_result.baseline_wave, "current_wave": drift_result.current_wave,
                     "rows": drift_result.summary.to_dict("records")}

    def open_data_written() -> None:
        """The open data's files done, and the data package describing them."""
        open_data, parts = {}, {}
        for item, (months, types) in zip(published, files.finish()):
            if months is not None:
                parts[item.name] = months
            if item.folder == "data":       # the data package needs each column's type, not the rows
                open_data[item.name] = (item.model, types)
        package = descriptor(pub_id, period, open_data, model_docs(dbt_manifest), is_sample, parts)
        (out / "datapackage.json").write_text(json.dumps(package, indent=1, ensure_ascii=False), encoding="utf-8")

    if not files.apart:             # written here: before the site's context is read, not beside it (memory)
        open_data_written()
    if docs is None:
        from phakhi.transform import build_dbt_docs

        build_dbt_docs(paths, out / "docs" / "dbt", period)

    # The dashboard reads the models the `dashboard` exposure lists, from the audited warehouse (pages degrade
    # to "not available yet" when one is missing); see phakhi/publish/pages.py.
    site = site_context(db, out, period=period, pub_id=pub_id, is_sample=is_sample,
                        tables=tables, gate=gate_doc, drift=drift_ctx,
                        before_files=open_data_written if files.apart else None)
    milestone("publish: site context read")
    site["partner_workers"] = workers
    if docs is not None:
        site["before_quality"] = lambda: _docs_done(docs, out, site)
    render_site(out, site)
    if docs is not None:
        docs.wait()                # rendered before the quality page; raises here if the page had no call
    from phakhi.version import code_version

    (out / "manifest.json").write_text(json.dumps({
        "publication_id": pub_id, "period": period, "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "inputs": input_lists,          # the file-by-file list: quality/inputs/<landing folder>.csv
        "dbt": gate.dbt, "gate": {"passed": gate.passed, "checks": len(gate.checks), "warnings": len(gate.warnings)},
    }, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    milestone("publish: manifest written")
    return finalise(paths.publications, out, pub_id)
