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
from phakhi.publish.site import Unavailable, period_label, plain_records

MODEL = "dash_partner_credentials"
INLINE_ROWS = 10        # credentials shown on a partner page; the full list is a per-partner CSV


def _by_partner(df: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    return {} if df is None else {str(pid): g for pid, g in df.groupby("partner_id", sort=False)}


def _rows(frame: pd.DataFrame, codes, short_label) -> dict:
    frame = frame.sort_values(["last_period", "credential_id"], kind="stable")
    rows = [{**r, "status_label": codes("credential_status", r.get("credential_status")),
             "programme_label": codes("programme", r.get("programme_code")),
             "programme_short": short_label(codes("programme", r.get("programme_code"))),
             "first_label": period_label(r.get("first_period")), "last_label": period_label(r.get("last_period")),
             "others": [x for x in str(r.get("claiming_partner_ids") or "").split(", ") if x and x != r["partner_id"]]}
            for r in plain_records(frame.tail(INLINE_ROWS))]
    return {"rows": rows, "total": len(frame)}


def with_credentials(partner_pages: Iterator[tuple[str, dict]], wh, codes,
                     short_label=lambda pair: pair) -> Iterator[tuple[str, dict]]:
    """Partner pages (a stream) with their credentials section and its CSV file added, one page at a time.
    A missing table or unexpected columns make the section "not available yet", never the page."""
    table = wh.opt(MODEL)
    split = _by_partner(table)
    files = _by_partner(neutralise_formulas(table)) if table is not None else {}
    empty = pd.DataFrame()

    def section(pid: str):
        if table is None:
            return Unavailable.missing(MODEL)
        frame = split.get(pid, empty)
        try:
            return _rows(frame, codes, short_label) if len(frame) else {"rows": [], "total": 0}
        except Exception as exc:  # noqa: BLE001 - one section's data never breaks the page
            return Unavailable.because(exc, "partner_credentials")

    for slug, page in partner_pages:
        pid = page["p"]["partner_id"]
        page["credentials"] = section(pid)
        page["credentials_csv"] = None
        if pid in files:
            page.setdefault("files", []).append((f"data/partners/{slug}/credentials.csv", files[pid]))
            page["credentials_csv"] = f"../data/partners/{slug}/credentials.csv"
        yield slug, page
