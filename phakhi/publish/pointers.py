"""Pointers to the live publication that need no symlink, and the publications index page.

`latest` (a symlink) breaks on object stores, many static hosts and Windows shares. Beside it, every switch
writes (each atomically, temp file + rename):
    publications/latest.json   {"latest": "<pub id>", "path": "<pub id>/index.html", "period": ...}
    publications/latest.html   a small redirect page to <pub id>/index.html (meta refresh, plus a plain link)
    publications/index.html    the publications index: the outcome of the last refresh attempt (published, or
                               blocked with the failing checks), the live publication, and every publication
The last attempt is kept in publications/last_attempt.json (written by the flow: `record_attempt`).
"""
from __future__ import annotations

import html
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from phakhi import thai

LATEST_JSON = "latest.json"
LATEST_HTML = "latest.html"
INDEX_HTML = "index.html"
LAST_ATTEMPT = "last_attempt.json"
EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _meta(publications: Path, pub_id: str) -> dict:
    try:
        return json.loads((publications / pub_id / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def latest_id(publications: Path) -> str | None:
    """The live publication: latest.json first (works without symlinks), else the symlink."""
    try:
        return json.loads((publications / LATEST_JSON).read_text(encoding="utf-8"))["latest"]
    except (OSError, ValueError, KeyError):
        link = publications / "latest"
        return os.readlink(link) if link.is_symlink() else None


def write_pointers(publications: Path, pub_id: str) -> None:
    """latest.json, latest.html and the index page for the publication now live."""
    meta = _meta(publications, pub_id)
    _write(publications / LATEST_JSON, json.dumps({
        "latest": pub_id, "path": f"{pub_id}/index.html", "period": meta.get("period"),
        "created_at": meta.get("created_at"), "switched_at": _now()}, indent=1, ensure_ascii=False))
    target = html.escape(f"{pub_id}/index.html", quote=True)
    _write(publications / LATEST_HTML, f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8"><title>Phakhi — latest publication</title>
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{target}"></head>
<body><p><a href="{target}">ฉบับเผยแพร่ล่าสุด / Latest publication: {html.escape(pub_id)}</a></p></body></html>
""")
    write_index(publications)


def record_attempt(publications: Path, outcome: str, period: str | None, run_id: str | None,
                   failing: list[str] | None = None, publication_id: str | None = None,
                   details: str | None = None) -> dict:
    """Remember the outcome of a refresh attempt ('published' or 'blocked') and refresh the index page."""
    publications.mkdir(parents=True, exist_ok=True)
    doc = {"outcome": outcome, "period": period, "run_id": run_id, "at": _now(),
           "publication_id": publication_id, "failing": list(failing or []), "details": details}
    _write(publications / LAST_ATTEMPT, json.dumps(doc, indent=1, ensure_ascii=False))
    write_index(publications)
    return doc


def last_attempt(publications: Path) -> dict | None:
    try:
        return json.loads((publications / LAST_ATTEMPT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _period(period: str | None) -> tuple[str, str]:
    try:
        y, m = int(period[:4]), int(period[5:7])
    except (TypeError, ValueError):
        return (str(period or "–"), str(period or "–"))
    return f"{thai.month_name_th(m, abbr=True)} {thai.arabic_to_thai_digits(str(y + 543))}", f"{EN_MONTHS[m - 1]} {y}"


def _bi(th: str, en: str) -> str:
    return f'<span lang="th">{html.escape(th)}</span> <span lang="en" class="en">/ {html.escape(en)}</span>'


def publications_list(publications: Path) -> list[dict]:
    out = []
    for p in sorted(publications.iterdir()) if publications.exists() else []:
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and (p / "index.html").exists():
            meta = _meta(publications, p.name)
            out.append({"id": p.name, "period": meta.get("period"), "created_at": meta.get("created_at")})
    return out


def write_index(publications: Path) -> Path:
    """publications/index.html: last refresh attempt, the live publication, every publication (newest first)."""
    live = latest_id(publications)
    attempt = last_attempt(publications)
    pubs = publications_list(publications)
    parts = []
    if attempt:
        th_p, en_p = _period(attempt.get("period"))
        if attempt.get("outcome") == "unchanged":      # nothing new since the live publication (refresh_inputs.py)
            parts.append(f'<p class="ok" id="last-attempt" data-outcome="unchanged">'
                         f'{_bi(f"การปรับปรุงข้อมูลครั้งล่าสุด ({th_p}): ไม่มีข้อมูลใหม่หรือเปลี่ยนแปลง ฉบับเผยแพร่เดิมยังเป็นปัจจุบัน", f"Last refresh ({en_p}): nothing new or changed; the live publication is current")}'
                         f' — {html.escape(str(attempt.get("at")))}</p>')
        elif attempt.get("outcome") == "published":
            parts.append(f'<p class="ok" id="last-attempt" data-outcome="published">'
                         f'{_bi(f"การปรับปรุงข้อมูลครั้งล่าสุด ({th_p}): เผยแพร่แล้ว", f"Last refresh ({en_p}): published")}'
                         f' — {html.escape(str(attempt.get("at")))}</p>')
        else:
            items = "".join(f"<li><code>{html.escape(str(f))}</code></li>" for f in attempt.get("failing") or [])
            still = (_bi(f"ฉบับที่ยังเผยแพร่อยู่: {live}", f"The publication still live: {live}") if live
                     else _bi("ยังไม่มีฉบับเผยแพร่", "No publication yet"))
            parts.append(f'<div class="blocked" id="last-attempt" data-outcome="{html.escape(str(attempt.get("outcome")))}">'
                         f'<p><strong>{_bi(f"การปรับปรุงข้อมูลครั้งล่าสุด ({th_p}) ถูกระงับ: ไม่ผ่านการตรวจคุณภาพข้อมูล", f"Last refresh ({en_p}) was BLOCKED by the data-quality checks")}'
                         f'</strong> — {html.escape(str(attempt.get("at")))}</p>'
                         f'<p>{_bi("รายการที่ไม่ผ่าน:", "Failing checks:")}</p><ul>{items}</ul><p>{still}</p></div>')
    if live:
        th_p, en_p = _period(next((p["period"] for p in pubs if p["id"] == live), None))
        parts.append(f'<p id="live"><a href="{html.escape(live, quote=True)}/index.html">'
                     f'{_bi(f"แดชบอร์ดฉบับล่าสุด ({th_p})", f"Latest dashboard ({en_p})")}</a></p>')
    rows = "".join(
        f'<tr><td><a href="{html.escape(p["id"], quote=True)}/index.html">{html.escape(p["id"])}</a>'
        f'{" ★" if p["id"] == live else ""}</td><td>{html.escape(_period(p["period"])[0])} / '
        f'{html.escape(_period(p["period"])[1])}</td><td>{html.escape(str(p["created_at"] or ""))}</td></tr>'
        for p in reversed(pubs))
    parts.append(f'<h2>{_bi("ฉบับเผยแพร่ทั้งหมด", "All publications")}</h2><table><thead><tr>'
                 f'<th>{_bi("ฉบับ", "Publication")}</th><th>{_bi("เดือนข้อมูล", "Data month")}</th>'
                 f'<th>{_bi("สร้างเมื่อ (UTC)", "Created (UTC)")}</th></tr></thead><tbody>{rows}</tbody></table>')
    page = f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ภาคี — ฉบับเผยแพร่ / Phakhi publications</title>
<style>body{{font-family:Sarabun,Loma,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.6}}
.blocked{{border-left:4px solid #b00020;padding:.2rem 1rem;background:#fff3f3}}.ok{{border-left:4px solid #1b7f3b;padding:.2rem 1rem}}
.en{{color:#555}}table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body><h1>{_bi("ภาคี — ฉบับเผยแพร่", "Phakhi — publications")}</h1>
{"".join(parts)}
<p><small>{_bi("ตัวชี้ฉบับล่าสุดแบบไม่ใช้ลิงก์สัญลักษณ์:", "Latest pointer without symlinks:")}
<a href="{LATEST_HTML}">{LATEST_HTML}</a> · <a href="{LATEST_JSON}">{LATEST_JSON}</a></small></p>
</body></html>
"""
    path = publications / INDEX_HTML
    _write(path, page)
    return path
