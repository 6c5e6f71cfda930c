"""Ingest everything in the landing area into the staging warehouse's raw schema."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from flows.config import Paths
from flows.ingest.contracts import load_instrument
from flows.ingest.load import FamilyResult, ingest_family, list_files, write_raw


def ingest_registry(paths: Paths) -> FamilyResult:
    return ingest_family("partner_registry", list_files(paths.landing_for("partner_registry")), paths.landing)


def ingest_reports(paths: Paths, family: str, partner_ids: set[str]) -> FamilyResult:
    """Activity and GHG reports: partner ids must be in the registry (else the row is quarantined)."""
    return ingest_family(family, list_files(paths.landing_for(family)), paths.landing, known={"partner_id": partner_ids})


def ingest_survey(paths: Paths) -> FamilyResult:
    return ingest_family("survey_waves", list_files(paths.landing_for("survey_waves")), paths.landing)


def instrument_items(name: str = "ccai_core_v1") -> pd.DataFrame:
    inst = load_instrument(name)
    return pd.DataFrame([{
        "instrument": inst["instrument"], "instrument_version": str(inst["version"]), "code": i["code"],
        "dimension": i["dimension"], "reverse": bool(i.get("reverse")), "core": bool(i.get("core")),
        "scale_min": inst["scale"]["min"], "scale_max": inst["scale"]["max"],
        "min_answered_share": float(inst.get("min_answered_share", 0.5)), "text_en": i["en"], "text_th": i["th"],
    } for i in inst["items"]])


def load_raw(db_path: Path, results: list[FamilyResult]) -> pd.DataFrame:
    """(Re)create the raw schema from this run's results; returns the per-family ingestion report."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db_path)) as con:
        for r in results:
            write_raw(con, r.family, r.loaded)
        write_raw(con, "survey_instrument_items", instrument_items())
        write_raw(con, "ingest_manifest", pd.concat([r.manifest for r in results], ignore_index=True))
        write_raw(con, "quarantine", pd.concat([r.quarantine for r in results], ignore_index=True).astype(
            {"row": "Int64"}).astype({c: "string" for c in ("family", "file", "file_hash", "sheet", "column", "header",
                                                             "value", "rule", "expected", "message_en", "message_th")}))
    return pd.DataFrame([r.totals for r in results])
