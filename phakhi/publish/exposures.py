"""What the publication shows and offers, as dbt declares it: the exposures in dbt_project/models/marts/
dashboard/_exposures.yml, read from dbt's target/manifest.json. One list: the dashboard reads the models the
`dashboard` exposure depends on; every exposure with `meta.publish` is one published table."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DASHBOARD = "dashboard"


@dataclass(frozen=True)
class Published:
    folder: str          # folder in the publication: data/ (open data) or quality/
    name: str            # file name without extension
    model: str           # dbt model
    table: str           # warehouse table, schema.name
    partition_by: str | None = None   # meta.publish.partition_by: one file per value (e.g. period), so that a
                                      # closed month's file stays byte-identical and is shared between publications


class ExposuresMissing(RuntimeError):
    pass


def _load(manifest_path: Path) -> dict:
    if not Path(manifest_path).is_file():
        raise ExposuresMissing(f"dbt manifest {manifest_path} not found: run dbt (phakhi refresh) before publishing")
    return json.loads(Path(manifest_path).read_text(encoding="utf-8"))


def _tables(manifest: dict, exposure: dict) -> dict[str, str]:
    out = {}
    for uid in exposure.get("depends_on", {}).get("nodes", []):
        node = manifest["nodes"].get(uid) or {}
        if node.get("resource_type") in ("model", "seed", "snapshot"):
            out[node["name"]] = f'{node["schema"]}.{node.get("alias") or node["name"]}'
    return out


def dashboard_tables(manifest_path: Path) -> dict[str, str]:
    """model name -> warehouse table, for every model the dashboard exposure depends on."""
    manifest = _load(manifest_path)
    exposure = next((e for e in manifest.get("exposures", {}).values() if e["name"] == DASHBOARD), None)
    if exposure is None:
        raise ExposuresMissing(f"no `{DASHBOARD}` exposure in {manifest_path}")
    return _tables(manifest, exposure)


def published_tables(manifest_path: Path) -> list[Published]:
    """Every published table, in the order the exposures are declared."""
    manifest = _load(manifest_path)
    out = []
    for e in manifest.get("exposures", {}).values():
        meta = (e.get("config") or {}).get("meta") or e.get("meta") or {}
        spec = meta.get("publish")
        if not spec:
            continue
        tables = _tables(manifest, e)
        if len(tables) != 1:
            raise ExposuresMissing(f"exposure {e['name']} must depend on exactly one model, not {sorted(tables)}")
        (model, table), = tables.items()
        out.append(Published(spec["folder"], spec["name"], model, table, spec.get("partition_by")))
    return sorted(out, key=lambda p: (p.folder, p.name))
