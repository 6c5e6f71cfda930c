"""A Frictionless Data Package descriptor (datapackage.json) for a publication's open data, with the data
dictionary in Thai and English: English descriptions from the dbt model docs, Thai and English titles and Thai
descriptions from dbt_project/docs/dictionary_th.yml (or a model's meta.description_th / column meta.label_th)."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from phakhi.settings import DBT_PROJECT_DIR
from phakhi.yaml_files import read_yaml

# Thai (and English) titles and Thai descriptions of every published model and column, beside the dbt docs
# (the English descriptions stay in the models' YAML). Kept in one file so the translation is reviewed as one.
DICTIONARY_TH = DBT_PROJECT_DIR / "docs" / "dictionary_th.yml"

LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
           "title": "Creative Commons Attribution 4.0"}


def frictionless_type(column) -> str:
    """Table Schema type of a column (a Series; a dtype alone is still accepted). A datetime column whose
    values are all midnight holds dates (DuckDB DATE arrives in pandas as datetime64, and the CSV writes it as
    2025-01-01): declared `date`, so that Frictionless validates the file as written."""
    dtype = getattr(column, "dtype", column)
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if isinstance(column, pd.Series):
            values = column.dropna()
            if getattr(values.dt, "tz", None) is None and (values == values.dt.normalize()).all():
                return "date"
        return "datetime"
    if isinstance(column, pd.Series) and dtype == object:
        values = column.dropna()
        if len(values) and all(isinstance(v, datetime) for v in values):
            return "datetime"
        if len(values) and all(isinstance(v, date) for v in values):
            return "date"
    return "string"


def thai_dictionary(path: Path = DICTIONARY_TH) -> dict[str, dict]:
    """model -> {title_th, title_en, description_th, columns: {column: {title_th, title_en, description_th}}}."""
    if not path.exists():
        return {}
    raw = read_yaml(path) or {}
    out = {}
    for model, doc in raw.items():
        cols = {}
        for col, entry in (doc.get("columns") or {}).items():     # [Thai title, English title, Thai description]
            if isinstance(entry, list):
                entry = dict(zip(("title_th", "title_en", "description_th"), entry))
            cols[col] = entry
        out[model] = {**doc, "columns": cols}
    return out


def _title_en(column: str) -> str:
    return column.replace("_", " ").replace("tco2e", "tCO2e").replace(" pct", " %").strip().capitalize()


def model_docs(dbt_manifest: Path) -> dict[str, dict]:
    """model name -> {description, description_th, columns: {name: {description, label_th, description_th}}}."""
    if not dbt_manifest.exists():
        return {}
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    out = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        out[node["name"]] = {
            "description": node.get("description", ""),
            "description_th": {**(node.get("config", {}).get("meta") or {}), **(node.get("meta") or {})}.get("description_th", ""),
            "columns": {c: {"description": v.get("description", ""), **(v.get("meta") or {})}
                        for c, v in node.get("columns", {}).items()}}
    return out


def field_types(df: pd.DataFrame) -> dict[str, str]:
    """column -> Table Schema type: what `descriptor` needs of a table, so the rows need not be kept."""
    return {col: frictionless_type(df[col]) for col in df.columns}


def descriptor(pub_id: str, period: str, tables: dict[str, tuple[str, "pd.DataFrame | dict[str, str]"]], docs: dict[str, dict],
               is_sample: bool, parts: dict[str, list[str]] | None = None) -> dict:
    """tables: resource name -> (dbt model name, frame or its field_types). parts: resource name -> the values it is split by
    (one file each, data/<name>/<value>.csv): a multipart resource (`path` is a list, each part with its
    header, as Frictionless reads it)."""
    parts = parts or {}
    resources = []
    thai = thai_dictionary()
    for name, (model, df) in tables.items():
        types = df if isinstance(df, dict) else field_types(df)
        doc = docs.get(model, {"columns": {}})
        th = thai.get(model) or {}
        th_cols = th.get("columns") or {}
        fields = []
        for col in types:
            c = doc["columns"].get(col, {})
            t = th_cols.get(col) or {}
            fields.append({"name": col, "type": types[col],
                           "title": t.get("title_en") or c.get("label_en") or _title_en(col),
                           "description": (c.get("description") or "").strip(),
                           "title_th": t.get("title_th") or c.get("label_th", ""),
                           "description_th": t.get("description_th") or c.get("description_th", "")})
        split = parts.get(name)
        path = [f"data/{name}/{v}.csv" for v in split] if split else f"data/{name}.csv"
        alternates = [f"data/{name}/{v}.parquet" for v in split] if split else [f"data/{name}.parquet"]
        resources.append({
            "name": name.replace("_", "-"), "path": path, "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8-sig", "title": th.get("title_en") or _title_en(name),
            "title_th": th.get("title_th", ""), "description": doc.get("description", "").strip(),
            "description_th": th.get("description_th") or doc.get("description_th", ""), "schema": {"fields": fields},
            "alternates": alternates})
    title = "Phakhi climate-partner and awareness indicators"
    return {"name": f"phakhi-{pub_id.lower()}", "title": title + (" (SAMPLE DATA)" if is_sample else ""),
            "title_th": "ตัวชี้วัดภาคีความร่วมมือและความตระหนักรู้ด้านสภาพภูมิอากาศ" + (" (ข้อมูลตัวอย่าง)" if is_sample else ""),
            "version": pub_id, "period": period, "licenses": [LICENSE],
            "publisher": "Department of Climate Change and Environment (DCCE), Thailand",
            "resources": resources}
