"""Per-partner tables split without copying (ByPartner) and formatted as CSV by one `to_csv` per batch of
partners (PartnerMonthCsv): used by the partner pages (phakhi.publish.pages) and their credentials section
(phakhi.publish.partner_credentials)."""
from __future__ import annotations

import pandas as pd

from phakhi.publish.files import neutralise_formulas


class ByPartner:
    """A table split by partner in one pass (never a filter of the whole table per partner), without copying
    it: only each partner's row positions are kept, and a partner's rows are taken when its page is built
    (peak memory stays at the table itself, not the table plus all its groups)."""

    def __init__(self, df: pd.DataFrame | None):
        self.df = df
        self.rows = {} if df is None or "partner_id" not in df.columns else \
            {str(k): v for k, v in df.groupby("partner_id", sort=False).indices.items()}

    def __contains__(self, pid) -> bool:
        return str(pid) in self.rows

    def get(self, pid, default=None):
        hit = self.rows.get(str(pid))
        return default if hit is None else self.df.take(hit)


def by_partner(df: pd.DataFrame | None) -> ByPartner:
    return ByPartner(df)


RECORD_END = "\n\x1f"        # between CSV records only (a newline inside a quoted text field stays "\n")
CSV_BATCH = 200               # partners whose rows are formatted by one to_csv call


def date_formats_of(df: pd.DataFrame) -> dict[str, str]:
    """How each datetime column is written: as dates when every value of the WHOLE table is midnight."""
    out = {}
    for c in df.select_dtypes("datetime").columns:
        col = df[c].dropna()
        out[c] = "%Y-%m-%d" if bool((col == col.dt.normalize()).all()) else "%Y-%m-%dT%H:%M:%S"
    return out


class PartnerMonthCsv:
    """Each partner's rows as one CSV per month (bytes as pandas writes them: UTF-8 with BOM, formulas
    neutralised once for the whole table), formatted by one `to_csv` per batch of partners instead of one per
    file (13,000 files at a tenth of the country). Dates are written as ISO dates for the whole table, so a
    file's bytes depend only on its own rows."""

    def __init__(self, df: pd.DataFrame | None, date_formats: dict[str, str] | None = None):
        df = None if df is None else neutralise_formulas(df)
        if df is not None:
            formats = date_formats if date_formats is not None else date_formats_of(df)
            for c in df.select_dtypes("datetime").columns:
                df[c] = df[c].dt.strftime(formats.get(c, "%Y-%m-%dT%H:%M:%S")).astype(object)
        self.groups = ByPartner(df)
        order = list(self.groups.rows)
        self.batch_of = {pid: i // CSV_BATCH for i, pid in enumerate(order)}
        self.batches = [order[i:i + CSV_BATCH] for i in range(0, len(order), CSV_BATCH)]
        self.cached: tuple[int, dict] | None = None

    def _format(self, b: int) -> dict[str, list[tuple[str, str]]]:
        import numpy as np

        df = self.groups.df
        pids = self.batches[b]
        pos = np.concatenate([self.groups.rows[p] for p in pids])
        sub = df.take(pos)
        parts = sub.to_csv(index=False, lineterminator=RECORD_END).split(RECORD_END)
        header, recs = parts[0], parts[1:-1]
        if len(recs) != len(sub):            # a record separator inside the data: format group by group
            recs = [sub.iloc[[k]].to_csv(index=False, header=False, lineterminator="\n")[:-1] for k in range(len(sub))]
        months = sub["period"].astype("string").fillna("undated").tolist() if "period" in sub.columns else ["all"] * len(sub)
        out, i = {}, 0
        for p in pids:
            n = len(self.groups.rows[p])
            out[p] = [("\ufeff" + header, months[i:i + n], recs[i:i + n])]
            i += n
        return out

    def files(self, pid) -> list[tuple[str, bytes]]:
        """(month, CSV bytes) of one partner, oldest month first."""
        pid = str(pid)
        if pid not in self.groups:
            return []
        b = self.batch_of[pid]
        if self.cached is None or self.cached[0] != b:
            self.cached = (b, self._format(b))
        ((header, months, recs),) = self.cached[1][pid]
        by_month: dict[str, list[str]] = {}
        for m, r in zip(months, recs):
            by_month.setdefault(m, []).append(r)
        return [(m, ("\n".join([header, *by_month[m]]) + "\n").encode("utf-8")) for m in sorted(by_month)]
