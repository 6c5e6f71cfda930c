"""Check an uploaded file with the refresh's own contracts (phakhi.ingest.files.ingest_file), then land it.

What the portal adds to the contract, because the file comes from one partner over the web:
  - size and type limits (the contract's file_types), and the client's file name is never used as a path;
  - every partner id in the file must be the uploader's own (a file for another partner is refused);
  - cells that a spreadsheet would run as a formula (= + - @ first) or that hold HTML markup are refused,
    so nothing a partner typed becomes live in the open-data CSVs or in a browser.
An accepted file is written into the landing area atomically (hidden temporary name, then a rename), with a
hidden sidecar JSON: who uploaded it, when, the SHA-256. The refresh's manifest rules then decide which
file is current: a later file for the same submission key (partner x month) supersedes the earlier one."""
from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from functools import lru_cache

from phakhi.ingest.files import ingest_file
from phakhi.home import note_portal_file
from phakhi.settings import Paths

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HTML = re.compile(r"<\s*[a-zA-Z!/?]|javascript:", re.I)
NUMBER = re.compile(r"^[+-]?[\d.,\s]+$")


@dataclass
class Checked:
    status: str                      # accepted | refused | duplicate
    sha256: str
    size_bytes: int
    period: str = ""
    reason_en: str = ""
    reason_th: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    problems: list[dict] = field(default_factory=list)
    landing_path: str = ""


@lru_cache(maxsize=None)
def allowed_suffixes(family: str) -> frozenset[str]:
    """The contract's file_types (sources/contracts/<family>.yml), as suffixes."""
    import yaml

    from phakhi.settings import CONTRACTS_DIR

    spec = yaml.safe_load((CONTRACTS_DIR / f"{family}.yml").read_text(encoding="utf-8"))
    return frozenset("." + t.lower() for t in spec.get("file_types", []))


def safe_suffix(name: str, family: str) -> str | None:
    """The file's extension if the family accepts it, else None (judged on the last path part only)."""
    base = re.split(r"[\\/]", name or "")[-1]
    suffix = Path(base).suffix.lower()
    return suffix if suffix in allowed_suffixes(family) else None


def unsafe_cell(value) -> str | None:
    """Why a text cell is refused (a formula or markup), else None."""
    if not isinstance(value, str):
        return None
    text = value.strip("\ufeff")
    if HTML.search(text):
        return "html"
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "formula"
    return None


def _problem(row, column, value, rule, expected, en, th, sheet=None) -> dict:
    return {"sheet": sheet, "row": row, "column": column, "header": column, "value": value, "rule": rule,
            "expected": expected, "message_en": en, "message_th": th}


def check_file(path: Path, family: str, partner_id: str, known_ids: set[str]) -> Checked:
    """Run the family's contract on the file at `path` and judge it for upload by `partner_id`."""
    out = ingest_file(family, path, landing=None, known={"partner_id": set(known_ids)})
    res = Checked(status="refused", sha256=out.file_hash, size_bytes=out.size_bytes, period=out.period or "",
                  rows_read=out.rows_read, rows_loaded=out.rows_loaded, rows_quarantined=out.rows_quarantined)
    res.problems = [{k: _plain(p.get(k)) for k in ("sheet", "row", "column", "header", "value", "rule", "expected",
                                                   "message_en", "message_th")} for p in out.problems]
    if out.status == "rejected":
        res.reason_en, res.reason_th = out.reason_en or "", out.reason_th or ""
        return res
    # another partner's ids, whether the row parsed (records) or not (quarantine values of partner_id)
    others = sorted({r.get("partner_id") for r in out.records if r.get("partner_id") not in (None, partner_id)} |
                    {str(p["value"]).strip().upper() for p in out.problems
                     if p.get("column") == "partner_id" and p.get("value") not in (None, "", partner_id)})
    if others:
        shown = ", ".join(others[:5])
        res.reason_en = f"the file holds rows for another partner ({shown}); you can only send your own ({partner_id})"
        res.reason_th = f"ไฟล์นี้มีข้อมูลของภาคีอื่น ({shown}) ส่งได้เฉพาะข้อมูลของภาคีของท่าน ({partner_id})"
        return res
    unsafe = []
    for r in out.records:
        for col, v in r.items():
            why = unsafe_cell(v)
            if why:
                unsafe.append(_problem(r.get("_row"), col, v[:80], why, "plain text",
                                       "a formula or HTML markup is not accepted in a report cell",
                                       "ไม่รับสูตรหรือโค้ด HTML ในช่องข้อมูล กรุณาพิมพ์เป็นข้อความธรรมดา", out.sheet))
    for p in res.problems:
        why = unsafe_cell(p.get("value"))
        if why:
            p["value"] = "[" + why + "]"           # never echo it back as is
    if unsafe:
        res.problems = unsafe + res.problems
        res.reason_en = f"{len(unsafe)} cell(s) hold a formula or HTML markup"
        res.reason_th = f"มี {len(unsafe)} ช่องที่เป็นสูตรหรือโค้ด HTML"
        return res
    if out.rows_loaded == 0 and out.rows_quarantined == 0:
        res.reason_en, res.reason_th = "the file holds no rows", "ไฟล์ไม่มีข้อมูล"
        return res
    res.status = "accepted"
    return res


def _plain(v):
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def scratch_file(paths: Paths, suffix: str) -> Path:
    """Where an upload waits while it is checked: a hidden folder of the landing area (the refresh skips
    hidden folders), so landing it is a rename on one file system, even when landing is its own volume."""
    folder = paths.landing / ".portal-scratch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}{suffix}"


def land(paths: Paths, scratch: Path, family: str, partner_id: str, period: str, sha256: str, suffix: str,
         uploader: str, original_name: str) -> str:
    """Move an accepted file into landing/<family>/portal/<partner>/<period>/ atomically, with a hidden sidecar.
    Returns its path relative to the landing area. Names are the portal's own: time + hash."""
    now = datetime.now(timezone.utc)
    folder = paths.landing_for(family) / "portal" / partner_id / (re.sub(r"[^0-9A-Za-z_-]", "_", period) or "none")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{partner_id}_{now:%Y%m%dT%H%M%S%fZ}_{sha256[:12]}{suffix}"
    sidecar = {"family": family, "partner_id": partner_id, "period": period, "sha256": sha256,
               "uploaded_by": uploader, "uploaded_at": now.isoformat(), "original_name": original_name,
               "source": "portal"}
    (folder / f".{name}.json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp = folder / f".{name}.part"
    os.replace(scratch, tmp)          # same file system as PHAKHI_HOME: a rename, not a copy
    os.replace(tmp, folder / name)    # the refresh skips hidden files, so it sees the whole file or none
    note_portal_file(paths, folder / name)
    return (folder / name).relative_to(paths.landing).as_posix()
