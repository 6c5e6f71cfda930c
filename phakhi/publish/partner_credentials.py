"""The credentials section of each partner page: the partner's credential ids (T-VER, LESS, CFO, CFR ...) with
what counts, shaped from dbt's dash_partner_credentials (the verdict - counted, partly counted, excluded - and
who else quoted a credential are decided there, not here).

Partner pages stream (pages.partner_pages is a generator); `with_credentials` adds this section to each page as
it passes, from one split of the table by partner. A page shows the latest rows; every row is in the per-partner
file data/partners/<slug>/credentials.csv, beside the monthly claims and activities files.
"""
from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from phakhi.publish.files import neutralise_formulas
from phakhi.publish.partner_csv import PartnerMonthCsv
from phakhi.publish.site import Unavailable, period_label, plain_records

MODEL = "dash_partner_credentials"
INLINE_ROWS = 10        # credentials shown on a partner page; the full list is a per-partner CSV


def _by_partner(df: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    return {} if df is None else {str(pid): g for pid, g in df.groupby("partner_id", sort=False)}


ROW_ORDER = ["last_period", "credential_id"]


def _labelled(shown: list[dict], total: int, codes, short_label) -> dict:
    rows = [{**r, "status_label": codes("credential_status", r.get("credential_status")),
             "programme_label": codes("programme", r.get("programme_code")),
             "programme_short": short_label(codes("programme", r.get("programme_code"))),
             "first_label": period_label(r.get("first_period")), "last_label": period_label(r.get("last_period")),
             "others": [x for x in str(r.get("claiming_partner_ids") or "").split(", ") if x and x != r["partner_id"]]}
            for r in shown]
    return {"rows": rows, "total": total}


def _rows(frame: pd.DataFrame, codes, short_label) -> dict:
    frame = frame.sort_values(ROW_ORDER, kind="stable")
    return _labelled(plain_records(frame.tail(INLINE_ROWS)), len(frame), codes, short_label)


def _latest_by_partner(table: pd.DataFrame) -> dict[str, tuple[list[dict], int]]:
    """Each partner's last INLINE_ROWS rows (as _rows orders them) and row count, by one stable sort of the
    whole table: a stable sort keeps each partner's ties in table order, so these are _rows' rows."""
    ordered = table.sort_values(ROW_ORDER, kind="stable")
    groups = ordered.groupby("partner_id", sort=False)
    out = {str(pid): ([], int(n)) for pid, n in groups.size().items()}
    for r in plain_records(groups.tail(INLINE_ROWS)):
        out[str(r["partner_id"])][0].append(r)
    return out


def _csv_files(table: pd.DataFrame):
    """pid -> credentials.csv bytes. Formatted by one to_csv per batch of partners (partner_csv.PartnerMonthCsv)
    when those are the bytes csv_bytes writes per partner - no date/time column (whose format pandas decides
    per frame) and no `period` column (which would split the file by month); else partner by partner."""
    if "period" in table.columns or len(table.select_dtypes(["datetime", "datetimetz", "timedelta"]).columns):
        split = _by_partner(neutralise_formulas(table))
        return lambda pid: split.get(pid)
    # partner order: the pages' order (dash_partners sorted by id), so batches are formatted one after another
    batches = PartnerMonthCsv(table.sort_values("partner_id", kind="stable"))

    def bytes_of(pid):
        files = batches.files(pid)
        return files[0][1] if files else None
    return bytes_of


def with_credentials(partner_pages: Iterator[tuple[str, dict]], wh, codes,
                     short_label=lambda pair: pair) -> Iterator[tuple[str, dict]]:
    """Partner pages (a stream) with their credentials section and its CSV file added, one page at a time.
    A missing table or unexpected columns make the section "not available yet", never the page."""
    table = wh.opt(MODEL)
    latest, split = None, {}
    if table is not None:
        try:
            latest = _latest_by_partner(table)
        except Exception:  # noqa: BLE001 - unexpected columns: each partner's section says why (below)
            split = _by_partner(table)
    has_rows = set(latest) if latest is not None else set(split)
    files = _csv_files(table) if table is not None else (lambda pid: None)

    def section(pid: str):
        if table is None:
            return Unavailable.missing(MODEL)
        if pid not in has_rows:
            return {"rows": [], "total": 0}
        try:
            if latest is not None:
                return _labelled(*latest[pid], codes, short_label)
            return _rows(split[pid], codes, short_label)
        except Exception as exc:  # noqa: BLE001 - one section's data never breaks the page
            return Unavailable.because(exc, "partner_credentials")

    for slug, page in partner_pages:
        pid = page["p"]["partner_id"]
        page["credentials"] = section(pid)
        page["credentials_csv"] = None
        data = files(pid) if pid in has_rows else None
        if data is not None:
            page.setdefault("files", []).append((f"data/partners/{slug}/credentials.csv", data))
            page["credentials_csv"] = f"../data/partners/{slug}/credentials.csv"
        yield slug, page
