"""Per-partner tables split without copying (ByPartner) and formatted as CSV by one `to_csv` per batch of
partners (PartnerMonthCsv): used by the partner pages (phakhi.publish.pages) and their credentials section
(phakhi.publish.partner_credentials)."""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from phakhi.publish.files import FORMULA_PREFIXES, neutralise_formulas, read_store_index, write_store_index


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


# ---------------------------------------------------------------- per-partner files a new month did not change
# A publication writes ~146k per-partner monthly CSVs at national scale, and a new month changes only its own
# month's files. Each (partner, month) group's rows get a digest computed by DuckDB (`group_digests`: row count
# and two sums of row hashes); the index beside the content store (publications/.partner-files.tsv) remembers
# which file bytes a digest gave, in the same formatting context (`format_context`: this code's CSV format, the
# table's columns and types, the whole-table date formats, the pandas and DuckDB versions). A group whose
# digest is known is linked from the store without reading or formatting its rows (KnownFile); only the groups
# the index does not know are read and formatted. The bytes are the same either way (tests compare).
CSV_FORMAT = "1"              # change when PartnerMonthCsv's bytes change: every index entry is then unknown
INDEX_FILE = ".partner-files.tsv"


@dataclass(frozen=True)
class KnownFile:
    """A per-partner CSV whose bytes an earlier publication stored: `sha256`, `size`; `fetch()` formats the bytes
    (only if the store lost them meanwhile)."""
    sha256: str
    size: int
    key: str
    fetch: Callable[[], bytes] = field(compare=False, repr=False)


_USED: dict[str, tuple[str, int]] = {}       # index entries of the files this process wrote or linked


def remember(key: str, sha256: str, size: int) -> None:
    _USED[key] = (sha256, size)


def take_used() -> dict[str, tuple[str, int]]:
    """The index entries this process used since the last call (a partner_pool worker returns them)."""
    global _USED
    out, _USED = _USED, {}
    return out


def index_path(store: str | os.PathLike | None) -> Path | None:
    """The index of a content store (files.sharing_into): publications/.partner-files.tsv."""
    return None if store is None else Path(store).parent / INDEX_FILE


def format_context(con, table: str, model: str, date_formats: dict[str, str]) -> str:
    """What, besides its rows, decides a per-partner file's bytes."""
    import duckdb

    columns = [(str(name), str(kind)) for name, kind, *_ in con.execute(f"describe {table}").fetchall()]
    text = json.dumps([CSV_FORMAT, model, columns, sorted(date_formats.items()), pd.__version__, duckdb.__version__,
                       list(FORMULA_PREFIXES)], ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def group_digests(con, table: str, pids: list[str], context: str) -> dict[str, list[tuple[str, str, int]]]:
    """partner -> [(month, digest key, rows)] in month order, by one DuckDB query: the same month names
    PartnerMonthCsv gives ('undated' for a NULL period)."""
    rows = con.execute(
        f"select partner_id, coalesce(period, 'undated') as month, count(*), sum(hash(t)), sum(hash(t, 'phakhi')) "
        f"from {table} t where partner_id in (select unnest($1::varchar[])) group by all", [pids]).fetchall()
    out: dict[str, list[tuple[str, str, int]]] = {}
    shown_as: dict[str, str] = {}           # a dozen months among thousands of groups: each tested once
    for pid, month, n, h1, h2 in rows:
        shown = shown_as.get(month)
        if shown is None:       # readable where it names a partner's month (the index can be checked by hand)
            shown = shown_as[month] = month if re.fullmatch(r"[A-Za-z0-9_-]{1,20}", month) else "other"
        key = f"{shown}/{hashlib.sha256(f'{context}|{pid}|{month}|{n}|{h1}|{h2}'.encode('utf-8')).hexdigest()[:32]}"
        out.setdefault(str(pid), []).append((str(month), key, int(n)))
    for groups in out.values():
        groups.sort()
    return out
