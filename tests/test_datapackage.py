"""datapackage.json: types as the CSV holds them (a DATE column is `date`, not `datetime`), Thai and English
titles and descriptions for every published table and column."""
from datetime import date

import pandas as pd
import yaml

from phakhi.publish.datapackage import descriptor, frictionless_type, thai_dictionary
from phakhi.settings import DBT_PROJECT_DIR


def test_dates_are_dates_and_timestamps_are_datetimes():
    dates = pd.Series(pd.to_datetime(["2025-01-01", "2025-02-01", None]))
    stamps = pd.Series(pd.to_datetime(["2025-01-01 10:30", "2025-02-01 00:00"]))
    assert frictionless_type(dates) == "date"
    assert frictionless_type(stamps) == "datetime"
    assert frictionless_type(pd.Series([date(2025, 1, 1), None], dtype=object)) == "date"
    assert frictionless_type(pd.Series([1, 2])) == "integer"
    assert frictionless_type(pd.Series([True, False])) == "boolean"
    assert frictionless_type(pd.Series(["a"])) == "string"


def _documented_columns() -> dict[str, list[str]]:
    out = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            out[model["name"]] = [c["name"] for c in model.get("columns", [])]
    return out


def _published_models() -> list[str]:
    """Every model an open-data exposure publishes (dbt_project/models/marts/dashboard/_exposures.yml)."""
    out = []
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for e in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("exposures", []):
            if ((e.get("config") or {}).get("meta") or {}).get("publish", {}).get("folder") == "data":
                out += [d.split("'")[1] for d in e.get("depends_on", [])]
    assert len(out) >= 10
    return out


def test_every_published_table_and_column_has_thai_and_english_text():
    thai = thai_dictionary()
    documented = _documented_columns()
    missing = []
    for model in _published_models():
        doc = thai.get(model) or {}
        if not (doc.get("title_th") and doc.get("title_en") and doc.get("description_th")):
            missing.append(model)
        for col in documented.get(model, []):
            entry = (doc.get("columns") or {}).get(col) or {}
            if not all(entry.get(k) for k in ("title_th", "title_en", "description_th")):
                missing.append(f"{model}.{col}")
    assert not missing, f"no Thai/English dictionary entry for {missing[:20]}"


def test_descriptor_carries_both_languages():
    df = pd.DataFrame({"partner_id": ["P001"], "join_date": pd.to_datetime(["2025-01-15"])})
    docs = {"mart_partner_progress": {"description": "Progress.", "columns": {
        "partner_id": {"description": "DCCE partner id."}, "join_date": {"description": "Date joined."}}}}
    pkg = descriptor("2025-12-r1", "2025-12", {"partner_progress": ("mart_partner_progress", df)}, docs, False)
    (res,) = pkg["resources"]
    assert res["title_th"] == "ความก้าวหน้าของภาคี" and res["title"] == "Partner progress" and res["description_th"]
    fields = {f["name"]: f for f in res["schema"]["fields"]}
    assert fields["join_date"]["type"] == "date"
    assert fields["partner_id"]["title_th"] == "รหัสภาคี" and fields["partner_id"]["description"] == "DCCE partner id."
    assert all(f["title"] and f["title_th"] and f["description_th"] for f in fields.values())


def test_a_table_split_by_month_is_one_multipart_resource_that_frictionless_reads_whole(tmp_path):
    from frictionless import Package

    from phakhi.publish.files import write_partitions

    df = pd.DataFrame({"reduction_id": ["a", "b", "c"], "period": ["2025-01", "2025-02", "2025-01"],
                       "reported_tco2e": [1.5, 2.0, 3.25]})
    months = write_partitions(df, tmp_path / "data" / "ghg_ledger", "period")
    assert months == ["2025-01", "2025-02"]
    assert (tmp_path / "data" / "ghg_ledger" / "2025-02.parquet").is_file()
    pkg = descriptor("2025-12-r1", "2025-12", {"ghg_ledger": ("mart_ghg_ledger", df)}, {}, False, {"ghg_ledger": months})
    (res,) = pkg["resources"]
    assert res["path"] == ["data/ghg_ledger/2025-01.csv", "data/ghg_ledger/2025-02.csv"]
    import json

    (tmp_path / "datapackage.json").write_text(json.dumps(pkg, ensure_ascii=False), encoding="utf-8")
    package = Package(str(tmp_path / "datapackage.json"))
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    rows = package.resources[0].read_rows()
    assert sorted(r["reduction_id"] for r in rows) == ["a", "b", "c"]
