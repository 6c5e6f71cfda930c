"""One registry: DCCE edits partners in the portal's admin; the portal writes the whole registry into the
landing area (landing/partner_registry/portal_registry.csv), where the refresh reads it through the
registry contract like any other registry file. Being complete, each new version supersedes the earlier
file under the manifest's rules (a later registry file that lists every partner the earlier one listed).

On first start the portal imports the registry already in the landing area (read by the same contract)."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from phakhi.ingest.contracts import load_contract
from phakhi.home import note_portal_file
from phakhi.settings import Paths

FILE_NAME = "portal_registry.csv"
COLUMNS = [c.name for c in load_contract("partner_registry").columns]


def registry_file(paths: Paths) -> Path:
    return paths.landing_for("partner_registry") / FILE_NAME


def _text(v) -> str:
    if v is None:
        return ""
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def write_registry(paths: Paths | None = None) -> Path:
    """Write every partner into the landing area, atomically (a temporary hidden file, then a rename: the
    refresh never reads half a registry). Unchanged content leaves the file alone."""
    from portal.accounts.models import Partner

    paths = paths or Paths.from_env()
    out = registry_file(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in Partner.objects.order_by("partner_id"):
        w.writerow([_text(getattr(p, c)) for c in COLUMNS])
    data = buf.getvalue().encode("utf-8")
    if out.exists() and out.read_bytes() == data:
        return out
    tmp = out.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    note_portal_file(paths, out)
    return out


def import_registry(paths: Paths | None = None) -> int:
    """Create the partners found in the landing area's registry files (contract-checked rows only) that the
    portal does not have yet. Returns how many were created."""
    from phakhi.ingest.files import assemble_family, ingest_files, list_files
    from portal.accounts.models import Partner

    paths = paths or Paths.from_env()
    folder = paths.landing_for("partner_registry")
    files = list_files(folder)
    if not files:
        return 0
    loaded = assemble_family("partner_registry", ingest_files("partner_registry", files, paths.landing, workers=1)).loaded
    have = set(Partner.objects.values_list("partner_id", flat=True))
    created = []
    for r in loaded.to_dict("records"):
        if r["partner_id"] in have:
            continue
        kw = {c: _clean(r.get(c)) for c in COLUMNS}
        for c in ("name_en", "parent_partner_id", "contact_name", "contact_email", "contact_phone"):
            kw[c] = kw[c] or ""
        created.append(Partner(**kw))
        have.add(r["partner_id"])
    Partner.objects.bulk_create(created)
    return len(created)


def _clean(v):
    try:
        if v is None or v != v:
            return None
    except (TypeError, ValueError):
        return v
    return v.item() if hasattr(v, "item") else v
