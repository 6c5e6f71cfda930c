"""A Frictionless Data Package descriptor (datapackage.json) for a publication's open data, with the data
dictionary in Thai and English taken from the dbt model docs (description; meta.label_th / meta.description_th)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
           "title": "Creative Commons Attribution 4.0"}


def frictionless_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


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
            "description": node.get("description", ""), "description_th": node.get("meta", {}).get("description_th", ""),
            "columns": {c: {"description": v.get("description", ""), **(v.get("meta") or {})}
                        for c, v in node.get("columns", {}).items()}}
    return out


def descriptor(pub_id: str, period: str, tables: dict[str, tuple[str, pd.DataFrame]], docs: dict[str, dict],
               is_sample: bool) -> dict:
    """tables: resource name -> (dbt model name, frame)."""
    resources = []
    for name, (model, df) in tables.items():
        doc = docs.get(model, {"columns": {}})
        fields = []
        for col in df.columns:
            c = doc["columns"].get(col, {})
            fields.append({"name": col, "type": frictionless_type(df[col].dtype),
                           "description": c.get("description", ""),
                           "title_th": c.get("label_th", ""), "description_th": c.get("description_th", "")})
        resources.append({
            "name": name.replace("_", "-"), "path": f"data/{name}.csv", "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8-sig", "description": doc.get("description", "").strip(),
            "description_th": doc.get("description_th", ""), "schema": {"fields": fields},
            "alternates": [f"data/{name}.parquet"]})
    title = "Phakhi climate-partner and awareness indicators"
    return {"name": f"phakhi-{pub_id.lower()}", "title": title + (" (SAMPLE DATA)" if is_sample else ""),
            "title_th": "ตัวชี้วัดภาคีความร่วมมือและความตระหนักรู้ด้านสภาพภูมิอากาศ" + (" (ข้อมูลตัวอย่าง)" if is_sample else ""),
            "version": pub_id, "period": period, "licenses": [LICENSE],
            "publisher": "Department of Climate Change and Environment (DCCE), Thailand",
            "resources": resources}
