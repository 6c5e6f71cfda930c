"""Per-page data for the dashboard site, shaped from the presentation marts (dbt_project/models/marts/dashboard).

Every number, light and label comes from a dbt model the `dashboard` exposure declares and the gate checks
(phakhi.publish.exposures); this module only reads those tables, shapes rows into page dicts and chart specs.
It holds no threshold and no business rule and reads no raw./reference. table.

Each page - and each section of the overview - is prepared on its own: when its mart is missing, or its
columns are not what this code expects, it becomes an `Unavailable` note ("not available yet") and the
rest of the site is still published. Partner pages are produced one at a time (`partner_pages` is a
generator): the small per-partner tables are split by partner with one groupby each; the big fact tables
(PER_PARTNER_TABLES) are read from DuckDB one batch of partners at a time (PartnerBatches), never whole; each
page is written as soon as it is built.

Charts are plain plotly figure dicts whose text leaves may be bilingual {"th": …, "en": …}; assets/site.js
picks the reader's language before plotting (`bi()` below makes such a pair).
"""
from __future__ import annotations

import functools
import gc
import hashlib
import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from phakhi.publish.files import active_store, neutralise_formulas, read_store_index, stable_frame
from phakhi.publish.partner_csv import (CSV_BATCH, RECORD_END, ByPartner, KnownFile, PartnerMonthCsv,  # noqa: F401
                                       by_partner, date_formats_of, format_context, group_digests, index_path,
                                       remember)
from phakhi.publish.linking_pages import add_linking_pages, with_linking_sections
from phakhi.publish.lists import list_index
from phakhi.publish.partner_credentials import with_credentials
from phakhi.timing import milestone
from phakhi.publish.site import (STATUS, WORKER_RELEASE, MissingData, NoSurveyWave, Unavailable, partner_slug,
                                 period_label, plain, plain_records, worker_env, write_partner_pages)

log = logging.getLogger("phakhi.publish.pages")

COLORS = {"green": "#15803d", "amber": "#d97706", "red": "#b91c1c", "grey": "#9ca3af", "blue": "#1d4ed8",
          "baseline": "#64748b", "latest": "#047857"}
DOMAIN_ORDER = ["overall", "region", "sex", "age_group", "urban_rural", "education", "province"]
MEASURE_ORDER = ["awareness_index", "knowledge", "concern", "behaviour", "share_low", "share_medium", "share_high"]
INLINE_ROWS = 4         # claims/activities on a partner page (8,000 pages a month); every row: per-partner CSVs


def short_label(pair: tuple[str, str]) -> tuple[str, str]:
    """'โครงการ… (T-VER)' -> ('T-VER', 'T-VER'): a programme's abbreviation when its name ends with one."""
    import re

    hit = re.search(r"\(([A-Za-z][A-Za-z0-9 .\-]{1,20})\)\s*$", str(pair[0]))
    if hit:
        return (hit.group(1), hit.group(1))
    en_head = re.match(r"^([A-Za-z][A-Za-z0-9 .\-]{1,20}?)\s*\(", str(pair[1]))
    return (pair[0], en_head.group(1)) if en_head else pair


def bi(th, en) -> dict:
    """A bilingual text for a chart (site.js shows the reader's language)."""
    return {"th": "" if th is None else str(th), "en": "" if en is None else str(en)}



# ------------------------------------------------------------------ reading the warehouse
# Per-partner fact tables (a million activity rows at national scale) are not read whole: partner pages take
# each batch of partners' rows from the warehouse as they are built (PartnerBatches), so the publish step never
# holds the table - nor its formatted copy - in memory.
PER_PARTNER_TABLES = ("fct_ghg_reductions", "fct_activities")


@dataclass
class Warehouse:
    frames: dict[str, pd.DataFrame]      # dbt model name -> its rows
    sources: dict[str, str]              # dbt model name -> warehouse table it was read from
    db: Path | None = None               # the warehouse file, for the tables below
    deferred: tuple[str, ...] = ()       # models in `sources` read batch by batch of partners (not in frames)
    # values made from whole tables, kept for a page worker's next range (worker_warehouse); None: made each time
    derived: dict | None = None

    def has(self, name: str) -> bool:
        return name in self.frames or name in self.deferred

    def kept(self, name: str, make):
        """make(), or the value a page worker kept from its previous range (`derived`): only for values made
        from whole tables, never from one range's partners."""
        if self.derived is None:
            return make()
        if name not in self.derived:
            self.derived[name] = make()
        return self.derived[name]

    def get(self, name: str) -> pd.DataFrame:
        if name in self.deferred and name not in self.frames:       # whole table on demand (not on the hot path)
            with duckdb.connect(str(self.db), read_only=True) as con:
                return stable_frame(con.execute(f"select * from {self.sources[name]} order by all").df())
        if name not in self.frames:
            raise MissingData(name)
        return self.frames[name]

    def opt(self, name: str) -> pd.DataFrame | None:
        return self.get(name) if self.has(name) else None


def read_warehouse(db: Path, tables: dict[str, str], defer: tuple[str, ...] = PER_PARTNER_TABLES) -> Warehouse:
    """Read the tables the dashboard exposure lists (model -> schema.table); a missing one is simply absent.
    Models in `defer` are only checked to open; their rows are read per batch of partners (PartnerBatches)."""
    frames, sources, deferred = {}, {}, []
    with duckdb.connect(str(db), read_only=True) as con:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for model, table in tables.items():
            if table not in present:
                continue
            try:
                if model in defer:
                    con.execute(f"select * from {table} limit 0").fetchall()
                    deferred.append(model)
                else:
                    frames[model] = stable_frame(con.execute(f"select * from {table} order by all").df())
                sources[model] = table
            except duckdb.Error as exc:        # e.g. a view over a table another model is rebuilding
                log.warning("could not read %s: %s", table, exc)
    return Warehouse(frames, sources, Path(db), tuple(deferred))


# ------------------------------------------------------------------ code meanings
class Codebook:
    """(Thai, English) label of every code shown, from dash_labels (the seeds)."""

    def __init__(self, wh: Warehouse):
        self.maps: dict[str, dict] = {}
        labels = wh.opt("dash_labels")
        if labels is not None:
            for kind, code, th, en in labels[["kind", "code", "label_th", "label_en"]].itertuples(index=False):
                self.maps.setdefault(str(kind), {})[str(code)] = (th, en)

    def __call__(self, kind: str, code) -> tuple[str, str]:
        if code is None or (isinstance(code, float) and math.isnan(code)):
            return ("ไม่ระบุ", "not stated")
        th_en = self.maps.get(kind, {}).get(str(code))
        return tuple(th_en) if th_en else (str(code), str(code))

    def tags(self, kind: str, text) -> list[dict]:
        """'energy, waste' -> [{code, th, en}, …]"""
        if not isinstance(text, str) or not text.strip():
            return []
        return [{"code": c, "th": self(kind, c)[0], "en": self(kind, c)[1]}
                for c in (t.strip() for t in text.split(",")) if c]


# ------------------------------------------------------------------ small helpers
def num(v) -> float | None:
    v = plain(v)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def drop_cached_blocks(con, limit: str) -> None:
    """Evict the table blocks DuckDB keeps cached after a query (up to its memory_limit, until the database
    closes): a page worker scans the fact tables once per batch of partners, and would otherwise hold up to
    memory_limit of their blocks for all its pages. Lowering the limit evicts them; the limit is then put back.
    Only a cache: the next batch reads the blocks again from the file (the OS's page cache)."""
    try:
        try:
            con.execute("set memory_limit='1MB'")
        finally:
            con.execute(f"set memory_limit='{limit}'")
    except duckdb.Error:            # nothing to evict (or a setting refused): the cache stays, nothing else changes
        pass


def worker_connection(db: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A read-only connection with a page worker's settings, and the memory_limit it was opened with (what
    drop_cached_blocks puts back after each read): as configured (current_setting shows it rounded to 0.1 MiB)."""
    con = duckdb.connect(str(db), read_only=True, config=dict(WORKER_DUCKDB))
    return con, WORKER_DUCKDB.get("memory_limit") or con.execute("select current_setting('memory_limit')").fetchone()[0]


class PartnerBatches:
    """One per-partner table for the partner pages, in page order: its rows split by partner (`get`) and as
    monthly CSV files (`files`). A table the warehouse defers (PER_PARTNER_TABLES) is read from DuckDB one
    batch of partners at a time - `order by all` restricted to a batch keeps each partner's rows in the order
    of the whole table, and the date format of each column is decided over the whole table - so the pages and
    files are the bytes a split of the whole table gives, without the table in memory. A table already in
    memory (tests) is split as before.

    While the partner pages are written into a content store (files.sharing_into), the monthly files of a
    deferred table are known by digest (partner_csv.group_digests and the store's index): a (partner, month)
    whose rows gave stored bytes before becomes a KnownFile (a link, nothing read or formatted), and a batch
    reads only the rows of the months the index does not know, plus each partner's latest rows (`latest`)."""

    def __init__(self, wh: Warehouse, model: str, order: list[str], batch: int = CSV_BATCH,
                 sort_keys: tuple[str, ...] = ()):
        self.wh, self.model, self.sort_keys = wh, model, sort_keys
        self.loaded: tuple | None = None      # (batch, ByPartner, PartnerMonthCsv, latest rows)
        self.digests: dict[str, list[tuple[str, str, int]]] | None = None
        self.latest_rows: ByPartner | None = None      # with digests: every partner's latest rows, read once
        if model in wh.frames:
            df = wh.frames[model]
            self.whole: tuple[ByPartner, PartnerMonthCsv] | None = (ByPartner(df), PartnerMonthCsv(df))
            return
        self.whole = None
        self.batches = [order[i:i + batch] for i in range(0, len(order), batch)]
        self.batch_of = {str(pid): i // batch for i, pid in enumerate(order)}
        self.con, self.memory_limit = worker_connection(wh.db)
        self.table = wh.sources[model]
        self.types = {str(name): str(kind).upper() for name, kind, *_ in
                      self.con.execute(f"describe {self.table}").fetchall()}
        self.date_formats = self._date_formats()
        store = active_store()
        if store is not None and self.types.get("partner_id") == "VARCHAR" and self.types.get("period") == "VARCHAR":
            context = format_context(self.con, self.table, model, self.date_formats)
            self.digests = group_digests(self.con, self.table, [str(p) for p in order], context)
            wanted = {key for groups in self.digests.values() for _, key, _ in groups}
            self.index = read_store_index(index_path(store), wanted)

    def _date_formats(self) -> dict[str, str]:
        """date_formats_of the whole table, asked of DuckDB: a DATE column is all midnights; a TIMESTAMP column
        is checked there (no million-row column in pandas); another type (with a time zone...) in pandas."""
        dates = self.con.execute(f"select * from {self.table} limit 0").df().select_dtypes("datetime").columns
        types = self.types
        out, rest = {}, []
        for c in dates:
            if types.get(c) == "DATE":
                out[c] = "%Y-%m-%d"
            elif types.get(c) == "TIMESTAMP":
                midnight = self.con.execute(f'select coalesce(bool_and("{c}" = date_trunc(\'day\', "{c}")), true) '
                                            f"from {self.table}").fetchone()[0]
                out[c] = "%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S"
            else:
                rest.append(c)
        if rest:
            out.update(date_formats_of(self.con.execute(
                "select " + ", ".join(f'"{c}"' for c in rest) + f" from {self.table}").df()))
        return {c: out[c] for c in dates}

    def _rows(self, pids: list[str], months: list[str] | None = None) -> pd.DataFrame:
        """The rows of `pids` (in the months `months` only, if given) as a split of the whole table gives them."""
        where, params = "partner_id in (select unnest($1::varchar[]))", [[str(p) for p in pids]]
        if months is not None:
            where += " and coalesce(period, 'undated') in (select unnest($2::varchar[]))"
            params.append(list(months))
        return stable_frame(self.con.execute(f"select * from {self.table} where {where} order by all", params).df())

    def _batch(self, pid) -> tuple[ByPartner, PartnerMonthCsv]:
        if self.whole is not None:
            return self.whole
        b = self.batch_of.get(str(pid))
        if b is None:
            return ByPartner(None), PartnerMonthCsv(None)
        if self.loaded is None or self.loaded[0] != b:
            self.loaded = None                      # the previous batch goes before the next one is read
            pids = self.batches[b]
            if self.digests is None:
                df = self._rows(pids)
                self.loaded = (b, ByPartner(df), PartnerMonthCsv(df, self.date_formats), self._latest_rows(df))
            else:                                   # only the months the index does not know; latest rows apart
                unknown = [(str(p), m) for p in pids for m, key, _ in self.digests.get(str(p), ())
                           if key not in self.index]
                df = self._rows(sorted({p for p, _ in unknown}), sorted({m for _, m in unknown})) if unknown else None
                self.loaded = (b, None, PartnerMonthCsv(df, self.date_formats), self._latest_sql(pids))
            drop_cached_blocks(self.con, self.memory_limit)
        return self.loaded[1], self.loaded[2]

    def _latest_rows(self, df: pd.DataFrame) -> dict[str, tuple[list[dict], int]]:
        """Each partner of a batch: its last INLINE_ROWS rows in page order (sort_keys) as dicts, and its row
        count - one sort and one to_dict per batch instead of a sort, a tail and a to_dict per partner (the
        same rows: a multi-column sort is stable, so ties keep the order of the whole table)."""
        if not len(df):
            return {}
        keys = [k for k in self.sort_keys if k in df.columns]
        ordered = df.sort_values(["partner_id", *keys], kind="stable")
        out: dict[str, tuple[list[dict], int]] = {str(pid): ([], int(n)) for pid, n in
                                                  ordered.groupby("partner_id", sort=False).size().items()}
        for x in plain_records(ordered.groupby("partner_id", sort=False).tail(INLINE_ROWS)):
            out[str(x["partner_id"])][0].append(x)
        return out

    def _latest_sql(self, pids: list[str]) -> dict[str, tuple[list[dict], int]]:
        """_latest_rows without reading every row. DuckDB keeps each partner's rows ranked within the last
        INLINE_ROWS by sort_keys alone (rank: rows tied at the edge all come), then _latest_rows orders that
        small set exactly as it orders a whole batch (`order by all`, then a stable sort by sort_keys). Asked
        once for every partner of the pages (the first batch), not batch by batch; the counts come from the
        digests."""
        if self.latest_rows is None:
            keys = [f'"{k}"' for k in self.sort_keys if k in self.types] or ["1"]
            down = ", ".join(f"{k} desc nulls first" for k in keys)
            mine = "partner_id in (select unnest($1::varchar[]))"
            ranked = f"rank() over (partition by partner_id order by {down}) as phakhi_rank from {self.table} where {mine}"
            try:        # a table: the ranking sees only the keys (rowid), then the few rows are read whole
                df = self.con.execute(
                    f"select * from {self.table} where rowid in (select phakhi_row from (select rowid as phakhi_row, "
                    f"{ranked}) where phakhi_rank <= {INLINE_ROWS}) order by all", [list(self.batch_of)]).df()
            except duckdb.Error:                    # a view has no rowid: the ranking carries every column
                df = self.con.execute(f"select * exclude (phakhi_rank) from (select *, {ranked}) "
                                      f"where phakhi_rank <= {INLINE_ROWS} order by all", [list(self.batch_of)]).df()
            df = stable_frame(df)
            keys = [k for k in self.sort_keys if k in df.columns]
            df = df.sort_values(["partner_id", *keys], kind="stable").groupby("partner_id", sort=False).tail(INLINE_ROWS)
            self.latest_rows = ByPartner(df.reset_index(drop=True))
        rows = self.latest_rows
        pos = [rows.rows[str(p)] for p in pids if str(p) in rows.rows]
        out = {str(p): ([], sum(n for _, _, n in self.digests[str(p)])) for p in pids if str(p) in self.digests}
        if pos:
            import numpy as np

            for x in plain_records(rows.df.take(np.concatenate(pos))):
                out[str(x["partner_id"])][0].append(x)
        return out

    def latest(self, pid) -> tuple[list[dict], int] | None:
        """(last rows as dicts, row count) of one partner from its batch; None for a table held whole."""
        if self.whole is not None:
            return None
        self._batch(pid)
        if self.loaded is None:
            return [], 0
        return self.loaded[3].get(str(pid), ([], 0))

    def get(self, pid, default=None):
        rows = self._batch(pid)[0]
        if rows is None:                            # digests: the batch holds only some months' rows
            rows = ByPartner(self._rows([str(pid)]))
        return rows.get(pid, default)

    def files(self, pid) -> list[tuple[str, bytes | KnownFile]]:
        """(month, CSV bytes - or a KnownFile the store holds) of one partner, oldest month first."""
        formatted = self._batch(pid)[1].files(pid)
        if self.digests is None:
            return formatted
        made = dict(formatted)
        out: list[tuple[str, bytes | KnownFile]] = []
        for month, key, _ in self.digests.get(str(pid), ()):
            data = made.get(month)
            if data is not None:
                remember(key, hashlib.sha256(data).hexdigest(), len(data))
                out.append((month, data))
            else:
                sha256, size = self.index[key]
                remember(key, sha256, size)
                out.append((month, KnownFile(sha256, size, key, functools.partial(self._one_file, str(pid), month))))
        return out

    def _one_file(self, pid: str, month: str) -> bytes:
        """One partner's month formatted (the store lost the bytes the index names)."""
        if self.closed:                             # asked after the pages were built: a connection of its own
            self.con = duckdb.connect(str(self.wh.db), read_only=True, config=dict(WORKER_DUCKDB))
            self.closed = False
        return dict(PartnerMonthCsv(self._rows([pid], [month]), self.date_formats).files(pid))[month]

    closed = False

    def close(self) -> None:
        self.loaded = None
        if self.whole is None and not self.closed:
            self.con.close()
            self.closed = True


def lights(wh: Warehouse, scope: str) -> dict[str, str]:
    df = wh.opt("dash_progress_lights")
    if df is None:
        return {}
    df = df[df["scope"] == scope]
    return dict(zip(df["code"].astype(str), df["light"]))


def axis_months(months: list[str]) -> list[dict]:
    return [bi(*period_label(p)) for p in months]


def year_ticks(first: int, last: int, step: int = 1) -> dict:
    """A year axis labelled B.E. in Thai and C.E. in English (site.js picks the reader's language)."""
    years = list(range(int(first), int(last) + 1, step))
    return {"tickmode": "array", "tickvals": years, "ticktext": [_year_tick(y) for y in years]}


def year_hover(years, unit: str) -> dict:
    """Hover text of points on a year axis: B.E. in Thai, C.E. in English, like the axis ticks (year_ticks)."""
    return {"customdata": [_year_hover_text(int(y)) for y in years],
            "hovertemplate": "%{customdata}: %{y:,.1f} " + unit + "<extra></extra>"}


# A year's labels are made once and the same dict is put in every chart that shows the year (the charts are
# only read, then written as JSON): a partner page's pledge chart labels ~30 years, 8,000 pages a month.
@functools.lru_cache(maxsize=1024)
def _year_tick(year: int) -> dict:
    return bi(str(year + 543), str(year))


@functools.lru_cache(maxsize=1024)
def _year_hover_text(year: int) -> dict:
    return bi(f"พ.ศ. {year + 543}", str(year))


def window_label(wh: Warehouse) -> tuple[str, str]:
    p = wh.get("dash_period")
    return period_label(str(p["window_first_period"].iloc[0]))


def base_layout(title: tuple[str, str] | None = None, y_title: tuple[str, str] | None = None, **extra) -> dict:
    layout = {"margin": {"l": 60, "r": 20, "t": 40 if title else 16, "b": 50}, "hovermode": "closest",
              "legend": {"orientation": "h", "y": -0.2}, "paper_bgcolor": "rgba(0,0,0,0)",
              "plot_bgcolor": "#ffffff"}
    if title:
        layout["title"] = {"text": bi(*title), "font": {"size": 15}, "x": 0, "xanchor": "left"}
    if y_title:
        layout["yaxis"] = {"title": {"text": bi(*y_title)}, "rangemode": "tozero", "gridcolor": "#e5e7eb"}
    layout.update(extra)
    return layout


def legend_on_top(layout: dict) -> dict:
    """Legend above the plot, right-aligned (the title stays top-left): for charts whose x labels are rotated."""
    layout["legend"] = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom",
                        "traceorder": "normal"}
    layout["margin"] = {**layout.get("margin", {}), "t": 72}
    return layout


def chart(chart_id: str, data: list, layout: dict, height: int = 360) -> dict:
    return {"id": chart_id, "spec": {"data": data, "layout": {**layout, "height": height}}}


def _safe(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one section's data never breaks the site
        if not isinstance(exc, (MissingData, NoSurveyWave)):
            log.warning("dashboard section %s unavailable: %s: %s", fn.__name__, type(exc).__name__, exc)
        return Unavailable.because(exc, fn.__name__)



# ------------------------------------------------------------------ partners
def partner_rows(wh: Warehouse, codes: Codebook) -> list[dict]:
    rows = []
    for r in plain_records(wh.get("dash_partners").sort_values("partner_id")):
        rows.append({
            **r, "slug": partner_slug(r["partner_id"]), "pct_path": r.get("pct_of_required_path"),
            "type": (r.get("type_th"), r.get("type_en")) if r.get("type_en") else codes("partner_type", r.get("partner_type")),
            "peer": (r.get("peer_group_th"), r.get("peer_group_en")) if r.get("peer_group_en") else codes("peer_group", r.get("peer_group")),
            "province": (r.get("province_th"), r.get("province_en")) if r.get("province_en") else codes("province", r.get("province_code")),
            "region_label": (r.get("region_th"), r.get("region_en")) if r.get("region_en") else codes("region", r.get("region")),
            "status": r.get("status") or "no_data", "light": r.get("light") or "grey",
        })
    return rows


def status_counts(rows: list[dict]) -> dict:
    out = {"on_track": 0, "off_track": 0, "no_data": 0}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def _peer_box(s: dict) -> dict:
    """One partner type's distribution of % of the required path, drawn from its quantiles (dash_peer_summary)."""
    q = [num(s.get(k)) for k in ("pct_path_min", "pct_path_q1", "pct_path_median", "pct_path_q3", "pct_path_max")]
    name = bi(s.get("type_th") or s.get("partner_type"), s.get("type_en") or s.get("partner_type"))
    return {"type": "box", "orientation": "h", "name": name, "y": [name],
            "lowerfence": [round(q[0] * 100, 1)], "q1": [round(q[1] * 100, 1)], "median": [round(q[2] * 100, 1)],
            "q3": [round(q[3] * 100, 1)], "upperfence": [round(q[4] * 100, 1)],
            "line": {"color": "#94a3b8"}, "fillcolor": "rgba(148,163,184,0.25)", "showlegend": False,
            "hoverinfo": "x"}


def peer_chart(summary: list[dict], chart_id: str, me: dict | None = None) -> dict:
    """% of the required path per partner type as box plots of the peers' quantiles; with `me`, only that
    partner's type, and the partner drawn on top of it with its rank."""
    groups = [s for s in summary if s.get("partners_with_path") and num(s.get("pct_path_median")) is not None
              and (me is None or s.get("partner_type") == me.get("partner_type"))]
    groups.sort(key=lambda s: str(s.get("partner_type")), reverse=True)
    data = [_peer_box(s) for s in groups]
    if me is not None and me.get("pct_path") is not None and groups:
        rank, n = me.get("rank_in_type"), me.get("peers_with_path")
        data.append({"type": "scatter", "mode": "markers", "y": [data[0]["name"]],
                     "x": [round(me["pct_path"] * 100, 1)],
                     "name": bi(f"ภาคีนี้ (อันดับ {rank} จาก {n})", f"This partner (rank {rank} of {n})"),
                     "marker": {"color": COLORS["red"], "size": 15, "symbol": "diamond",
                                "line": {"color": "#fff", "width": 1}},
                     "hovertemplate": "%{x:.0f}%<extra></extra>", "showlegend": True})
    layout = base_layout(None, None,
                         shapes=[{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": 100, "x1": 100,
                                  "line": {"color": COLORS["green"], "dash": "dash", "width": 1.5}}],
                         annotations=[{"yref": "paper", "y": 1, "x": 100, "xanchor": "left", "yanchor": "bottom",
                                       "showarrow": False, "text": bi(" เป็นไปตามเป้า (100%)", " on track (100%)"),
                                       "font": {"color": COLORS["green"], "size": 11}}])
    layout["xaxis"] = {"title": {"text": bi("% ของเส้นทางที่ต้องถึง ที่ลดได้ใน 12 เดือน", "% of the required path reduced in 12 months")},
                       "rangemode": "tozero", "gridcolor": "#e5e7eb", "ticksuffix": "%"}
    layout["yaxis"] = {"automargin": True}
    layout["margin"] = {"l": 10, "r": 20, "t": 30, "b": 50}
    return chart(chart_id, data, layout, height=max(220, 60 + 42 * len(groups)))


def peer_table(summary: list[dict]) -> list[dict]:
    return [{"code": s["partner_type"], "type": (s.get("type_th"), s.get("type_en")), "partners": s.get("partners"),
             "on_track": s.get("on_track"), "median_path": s.get("pct_path_median"),
             "median_completeness": s.get("completeness_median")}
            for s in sorted(summary, key=lambda s: str(s["partner_type"]))]


# List pages hold one page of rows in HTML; the whole list travels as a compact search index
# (lists/<name>.js, read by assets/site.js) so search, filters, sorting and paging cover every row while
# the page stays small at 8,000 partners.
LIST_PAGE_SIZE = {"partners": 100, "practices": 25}
CHIPS_PER_GROUP = 40       # overview status board: chips shown per peer group (the rest: the partners list)

PARTNER_INDEX_COLS = ["partner_id", "slug", "name_th", "name_en", "partner_type", "province_code", "peer_group",
                      "pledged_reduction_tco2e", "required_path_tco2e", "reductions_12m_tco2e", "pct_path",
                      "reporting_completeness", "peer_percentile", "status", "light"]


def partners_page(wh: Warehouse, codes: Codebook, page_size: int | None = None) -> dict:
    rows = partner_rows(wh, codes)
    size = page_size or LIST_PAGE_SIZE["partners"]
    summary = plain_records(wh.get("dash_peer_summary"))
    types = sorted({(r.get("partner_type"), r["type"]) for r in rows}, key=lambda x: str(x[0]))
    groups = sorted({(r.get("peer_group"), r["peer"]) for r in rows if r.get("peer_group")}, key=lambda x: str(x[0]))
    labels = {"partner_type": {str(r.get("partner_type")): r["type"] for r in rows},
              "province": {str(r.get("province_code")): r["province"] for r in rows},
              "status": {k: codes.maps.get("track_status", {}).get(k) or STATUS[k] for k in ("on_track", "off_track", "no_data")}}
    return {"rows": rows[:size], "total": len(rows), "page_size": size, "counts": status_counts(rows),
            "types": [{"code": c, "label": lab} for c, lab in types],
            "groups": [{"code": c, "label": lab} for c, lab in groups],
            "lists": {"partners": list_index(rows, PARTNER_INDEX_COLS, labels, digits=dict.fromkeys(
                ("pledged_reduction_tco2e", "required_path_tco2e", "reductions_12m_tco2e"), 1),
                percent={"pct_path", "reporting_completeness", "peer_percentile"})},
            "peer_chart": peer_chart(summary, "chart-peers"), "peer_table": peer_table(summary)}


def partner_pages(wh: Warehouse, codes: Codebook, period: str,
                  part: tuple[int, int] | None = None) -> Iterator[tuple[str, dict]]:
    """(slug, page) for every partner - or the partners rows[part[0]:part[1]] in page order (one worker's
    share, phakhi.publish.partner_pool) - one at a time. Each table is split by partner once (by_partner);
    the page carries its full claims and activities as small CSV files (`files`) and shows the latest rows."""
    every, by_id, children = wh.kept("every_partner", lambda: _every_partner(wh, codes))
    rows = every if part is None else every[part[0]:part[1]]
    summary = plain_records(wh.opt("dash_peer_summary")) if wh.has("dash_peer_summary") else None
    # the facts split by partner, batch by batch in page order; the per-partner CSV files: spreadsheet formulas
    # neutralised once per batch, then split by partner
    order = [r["partner_id"] for r in rows]
    facts = {k: PartnerBatches(wh, k, order, sort_keys=ROW_ORDER[k]) for k in PER_PARTNER_TABLES if wh.has(k)}
    none = ByPartner(None)
    claims, acts = facts.get("fct_ghg_reductions", none), facts.get("fct_activities", none)
    try:
        yield from _partner_pages(wh, codes, period, rows, by_id, children, summary, claims, acts, facts)
    finally:
        for f in facts.values():
            f.close()


def _every_partner(wh: Warehouse, codes: Codebook) -> tuple[list[dict], dict[str, dict], dict[str, list[dict]]]:
    """Every partner's row in page order, by id, and each partner's members (by parent id)."""
    every = partner_rows(wh, codes)
    by_id = {r["partner_id"]: r for r in every}
    children: dict[str, list[dict]] = {}
    for r in every:
        if r.get("parent_partner_id"):
            children.setdefault(r["parent_partner_id"], []).append(r)
    return every, by_id, children


def partner_stream(wh: Warehouse, codes: Codebook, period: str, practices_size: int,
                   part: tuple[int, int] | None = None) -> Iterator[tuple[str, dict]]:
    """Every partner page (or one worker's range) with its linking and credentials sections: a stream."""
    return with_credentials(with_linking_sections(partner_pages(wh, codes, period, part), wh, codes, practices_size),
                            wh, codes, short_label)


def _partner_pages(wh, codes, period, rows, by_id, children, summary, claims, acts, csv_files):
    traj, pledge = by_partner(wh.opt("dash_partner_trajectory")), by_partner(wh.opt("dash_partner_pledge_path"))
    try:        # each partner's chart data: slices of column lists made once (the per-partner frames otherwise)
        if traj.df is not None:
            traj = ColumnsByPartner(traj.df, "period", _month_columns)
        if pledge.df is not None:
            pledge = ColumnsByPartner(pledge.df, "year", _year_columns)
    except Exception:  # noqa: BLE001 - unexpected columns: each partner's chart says why (per-partner frames)
        traj, pledge = by_partner(wh.opt("dash_partner_trajectory")), by_partner(wh.opt("dash_partner_pledge_path"))
    disputes = by_partner(wh.opt("mart_partner_disputes"))
    hashes = wh.kept("file_hashes", lambda: file_hashes(wh))
    empty = pd.DataFrame()
    for r in rows:
        pid, slug = r["partner_id"], r["slug"]
        page = {"p": r, "parent": by_id.get(r.get("parent_partner_id")), "children": children.get(pid, []),
                "hashes": hashes, "files": [],
                "registry": [{"_file": r.get("registry_file"), "_row": r.get("registry_row")}] if r.get("registry_file") else []}
        cut = claims.latest(pid) if isinstance(claims, PartnerBatches) else None
        page["claims"] = _safe(_claims_section, *cut, codes) if cut is not None else \
            _safe(_partner_claims, claims.get(pid, empty) if wh.has("fct_ghg_reductions") else None, codes)
        cut = acts.latest(pid) if isinstance(acts, PartnerBatches) else None
        page["activities"] = _safe(_activities_section, *cut, codes) if cut is not None else \
            _safe(_partner_activities, acts.get(pid, empty) if wh.has("fct_activities") else None, codes)
        # every row as small CSV files, one per partner and month: a month that did not change keeps
        # byte-identical files, which later publications share (files.share_unchanged_files)
        for key, model in (("claims", "fct_ghg_reductions"), ("activities", "fct_activities")):
            links = []
            for month, data in (csv_files[model].files(pid) if model in csv_files else []):
                rel = f"data/partners/{slug}/{month}-{key}.csv"
                page["files"].append((rel, data))
                links.append({"href": f"../{rel}", "label": period_label(month)})
            page[f"{key}_csv"] = links
        page["trajectory"] = _safe(_trajectory_charts, r, traj.get(pid) if wh.has("dash_partner_trajectory") else None,
                                   pledge.get(pid, empty) if isinstance(pledge, ByPartner) else pledge.get(pid), period)
        page["peer_chart"] = _safe(peer_chart, summary, "chart-peer", me=r) if summary is not None \
            else Unavailable.missing("dash_peer_summary")
        page["peers_in_type"] = r.get("peer_group_size")
        page["disputes"] = _partner_disputes(disputes.get(pid))
        yield slug, page


def file_hashes(wh: Warehouse) -> dict[str, str]:
    """Each landed file's digest (dash_quality_files), shown beside a partner's rows. A partner_pool worker
    (LazyWarehouse) reads only the two columns, in the order of the whole table (`order by` every column: a
    file listed twice keeps the same last digest), instead of holding the whole table (~75k rows, ~80 MB
    resident per worker at national scale) for the rest of its pages."""
    if isinstance(wh, LazyWarehouse) and "dash_quality_files" not in wh.frames and wh.has("dash_quality_files"):
        table = wh.sources["dash_quality_files"]
        try:
            with (nullcontext(wh.con) if wh.con is not None else
                  duckdb.connect(str(wh.db), read_only=True, config=dict(WORKER_DUCKDB))) as con:
                cols = [str(c[0]) for c in con.execute(f"describe {table}").fetchall()]
                every = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
                rows = con.execute(f'select "file", "file_hash" from {table} order by {every}').fetchall()
                if wh.con is not None:
                    drop_cached_blocks(con, wh.memory_limit)
            return {str(f): str(h) for f, h in rows if isinstance(h, str)}
        except duckdb.Error:             # e.g. no such columns: as the whole table says below
            pass
    files = wh.opt("dash_quality_files")
    return {} if files is None else {str(f): str(h) for f, h in zip(files["file"], files["file_hash"]) if isinstance(h, str)}


def _partner_disputes(d: pd.DataFrame | None) -> list[dict]:
    """Figures this partner disputes (right of reply, mart_partner_disputes): shown marked, never changed."""
    if d is None or not len(d):
        return []
    from phakhi.ingest.contracts import load_contract

    figure = load_contract("partner_replies").column("figure")      # the figures' Thai/English labels
    return [{**x, "label": (figure.value_label(x["figure"], "th"), figure.value_label(x["figure"], "en"))}
            for x in plain_records(d.sort_values("figure"))]


def _latest(rows: list[dict], total: int | None = None) -> dict:
    """The last INLINE_ROWS rows (oldest first) and how many there are in all."""
    return {"rows": rows[-INLINE_ROWS:], "total": len(rows) if total is None else total}


ROW_ORDER = {"fct_ghg_reductions": ("period", "project_id", "source_file", "source_row"),
             "fct_activities": ("period", "activity_no", "source_file", "source_row")}


def _partner_claims(c: pd.DataFrame | None, codes: Codebook) -> dict:
    if c is None:
        raise MissingData("fct_ghg_reductions")
    if len(c):
        c = c.sort_values([x for x in ROW_ORDER["fct_ghg_reductions"] if x in c.columns])
    return _claims_section(plain_records(c.tail(INLINE_ROWS)), len(c), codes)     # only the rows shown become dicts


def _claims_section(shown: list[dict], total: int, codes: Codebook) -> dict:
    out = []
    for x in shown:
        out.append({**x, "sector_label": codes("sector", x.get("sector")),
                    "method_label": codes("programme", x.get("method")),
                    "method_short": short_label(codes("programme", x.get("method"))),
                    "verification_label": codes("verification", x.get("verification_status")),
                    "kind_label": codes("figure_kind", x.get("figure_kind")),
                    "period_label": period_label(x.get("period"))})
    section = _latest(out, total)
    # the programmes' full names once, under the table (the cells show the short name)
    legend = {tuple(c["method_short"]): tuple(c["method_label"]) for c in section["rows"] if c.get("method")}
    section["programmes"] = [{"short": k, "label": v} for k, v in legend.items() if k != v]
    return section


def _partner_activities(a: pd.DataFrame | None, codes: Codebook) -> dict:
    if a is None:
        raise MissingData("fct_activities")
    if len(a):
        a = a.sort_values([x for x in ROW_ORDER["fct_activities"] if x in a.columns])
    return _activities_section(plain_records(a.tail(INLINE_ROWS)), len(a), codes)


def _activities_section(shown: list[dict], total: int, codes: Codebook) -> dict:
    return _latest([{**x, "element_label": codes("ace_element", x.get("ace_element")),
                     "type_label": codes("activity_type", x.get("activity_type")),
                     "province_label": codes("province", x.get("province_code")),
                     "period_label": period_label(x.get("period"))} for x in shown], total)


def _month_columns(t: pd.DataFrame) -> dict[str, list]:
    """The monthly trajectory's columns as lists (rows already in period order)."""
    return {"months": t["period"].astype(str).tolist(), "vals": t["reduced_tco2e"].astype(float).tolist(),
            "counted": t["counted_tco2e"].astype(float).tolist(),
            "rolling": t["rolling_12m_tco2e"].astype(float).tolist(),
            "req": [num(v) for v in t["required_path_tco2e"].tolist()]}


def _year_columns(y: pd.DataFrame) -> dict[str, list]:
    """The pledge path's columns as lists (rows already in year order)."""
    return {"year": y["year"].tolist(), "req": [num(v) for v in y["required_path_tco2e"].tolist()],
            "reduced": y["reduced_in_year_tco2e"].tolist()}


class ColumnsByPartner:
    """A per-partner table sorted once by (partner, key) and turned into column lists once (`extract`); each
    partner's columns are slices of those lists - what extract(that partner's rows sorted by key) gives,
    without a sort, a take and a conversion per partner."""

    def __init__(self, df: pd.DataFrame, key: str, extract):
        ordered = df.sort_values(["partner_id", key], kind="stable")
        self.columns = extract(ordered)
        self.span = {str(pid): (int(pos[0]), int(pos[-1]) + 1)
                     for pid, pos in ordered.groupby("partner_id", sort=False).indices.items()}

    def get(self, pid) -> dict[str, list] | None:
        hit = self.span.get(str(pid))
        return None if hit is None else {k: v[hit[0]:hit[1]] for k, v in self.columns.items()}


def _trajectory_charts(p: dict, months_df: pd.DataFrame | dict | None, years_df: pd.DataFrame | dict | None,
                       period: str) -> dict:
    """(1) monthly reductions with the rolling 12-month sum against the required path (dash_partner_trajectory);
    (2) the whole pledge: required straight-line path from base year to target year, and what was reduced
    (dash_partner_pledge_path). Each table: one partner's rows, or their columns (ColumnsByPartner)."""
    if months_df is None:
        raise MissingData("dash_partner_trajectory")
    t = months_df if isinstance(months_df, dict) else _month_columns(months_df.sort_values("period"))
    months, vals, counted, rolling, req = t["months"], t["vals"], t["counted"], t["rolling"], t["req"]
    x = months            # ISO months on every trace; the axis labels them once (ticktext): 8,000 pages a month
    data = [
        {"type": "bar", "x": x, "y": vals, "name": bi("ลดได้ในเดือน (ตามที่รายงาน)", "Reduced in the month (claimed)"),
         "marker": {"color": "#93c5fd"}, "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": rolling,
         "name": bi("รวม 12 เดือนล่าสุด", "Total over the last 12 months"), "line": {"color": COLORS["blue"], "width": 3},
         "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": x, "y": req, "line": {"color": COLORS["amber"], "dash": "dash", "width": 2},
         "name": bi("เส้นทางที่ต้องถึงในปีนั้น", "Required path for the year"),
         "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"},
    ]
    if counted != vals:            # some claims were duplicates: show what counts beside what was claimed
        data.insert(1, {"type": "bar", "x": x, "y": counted,
                        "name": bi("นับแล้ว (ไม่รวมรายการซ้ำ)", "Counted (duplicates excluded)"),
                        "marker": {"color": "#1e40af"}, "hovertemplate": "%{y:,.1f} tCO2e<extra></extra>"})
    monthly_chart = chart("chart-trajectory", data, base_layout(
        ("ก๊าซที่ลดได้ เทียบกับเส้นทางที่ต้องถึง", "Reductions against the required path"),
        ("tCO2e", "tCO2e"), barmode="group",
        xaxis={"type": "category", "tickmode": "array", "tickvals": months, "ticktext": axis_months(months)}), height=380)

    pledge_chart = None
    if years_df is not None and not isinstance(years_df, dict) and len(years_df):
        years_df = _year_columns(years_df.sort_values("year"))
    if years_df is not None and isinstance(years_df, dict) and len(years_df["year"]):
        y = years_df
        years = [int(v) for v in y["year"]]
        target_year, pledged = int(p["target_year"]), num(p.get("pledged_reduction_tco2e"))
        seen = [i for i, v in enumerate(y["reduced"]) if pd.notna(v)]
        obs = {"year": [y["year"][i] for i in seen], "reduced_in_year_tco2e": [y["reduced"][i] for i in seen]}
        cur_year = int(period[:4])
        data2 = [{"type": "scatter", "mode": "lines", "x": years, "y": y["req"],
                  "name": bi("เส้นทางตรงจากปีฐานถึงปีเป้าหมาย", "Straight-line path, base year to target year"),
                  "line": {"color": COLORS["amber"], "dash": "dash"}, **year_hover(years, "tCO2e")},
                 {"type": "scatter", "mode": "markers", "x": [target_year], "y": [pledged],
                  "name": bi("คำมั่น (ปีเป้าหมาย)", "Pledge (target year)"),
                  "marker": {"symbol": "star", "size": 16, "color": COLORS["amber"]},
                  **year_hover([target_year], "tCO2e")}]
        if len(seen):
            data2.append({"type": "scatter", "mode": "markers", "x": [int(v) for v in obs["year"]],
                          "y": [num(v) for v in obs["reduced_in_year_tco2e"]], "name": bi("ลดได้ทั้งปี", "Reduced in the year"),
                          "marker": {"size": 10, "color": "#60a5fa"}, **year_hover(obs["year"], "tCO2e")})
        data2.append({"type": "scatter", "mode": "markers", "x": [cur_year], "y": [rolling[-1] if rolling else 0],
                      "name": bi(f"รวม 12 เดือนถึง {period_label(period)[0]}", f"12 months to {period_label(period)[1]}"),
                      "marker": {"size": 13, "color": COLORS["blue"], "line": {"color": "#fff", "width": 1}},
                      **year_hover([cur_year], "tCO2e")})
        lay = base_layout(("ความก้าวหน้าตลอดช่วงคำมั่น", "Progress over the whole pledge"), ("tCO2e/ปี", "tCO2e/year"))
        lay["xaxis"] = {**year_ticks(years[0], years[-1], 1 if len(years) <= 15 else 5), "gridcolor": "#e5e7eb"}
        pledge_chart = chart("chart-pledge", data2, lay, height=340)
    return {"monthly": monthly_chart, "pledge": pledge_chart, "months": len(months)}


# ------------------------------------------------------------------ national
def _emission_chart(nat: pd.DataFrame, basis: str, codes: Codebook, chart_id: str) -> dict | None:
    rows = nat[(nat["basis"] == basis) & (nat["measure"] == "emissions")]
    if rows.empty:
        return None
    data = []
    palette = ["#0f172a", "#2563eb", "#0891b2", "#7c3aed"]
    obs = rows[rows["series_kind"] == "observed"]
    for i, (sid, g) in enumerate(obs.groupby("series_id", sort=True)):
        g = g.sort_values("year")
        data.append({"type": "scatter", "mode": "lines+markers", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]),
                     "line": {"color": palette[i % len(palette)], "width": 2.5}, "marker": {"size": 8},
                     **year_hover(g["year"], "MtCO2e")})
    for sid, g in rows[rows["series_kind"] == "projected"].groupby("series_id", sort=True):
        data.append({"type": "scatter", "mode": "markers", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]),
                     "marker": {"symbol": "diamond-open", "size": 12, "color": "#475569"},
                     **year_hover(g["year"], "MtCO2e")})
    tg = rows[rows["series_kind"] == "target"]
    for sid, g in sorted(tg.groupby("series_id", sort=True), key=lambda kv: not bool(kv[1]["target_in_force_at_period"].fillna(False).any())):
        g = g.sort_values("year")
        in_force = bool(g["target_in_force_at_period"].fillna(False).any())
        th, en = g["series_label_th"].iloc[0], g["series_label_en"].iloc[0]
        if not in_force:
            th, en = th + " (ถูกแทนที่แล้ว)", en + " (superseded)"
        data.append({"type": "scatter", "mode": "lines", "x": g["year"].tolist(), "y": g["value"].tolist(),
                     "name": bi(th, en),
                     "line": {"color": COLORS["green"] if in_force else "#cbd5e1", "width": 3 if in_force else 1.5,
                              "dash": "solid" if in_force else "dot"},
                     "opacity": 1 if in_force else 0.8, **year_hover(g["year"], "MtCO2e")})
    lay = base_layout(None, ("MtCO2e", "MtCO2e"))
    lay["legend"] = {"orientation": "h", "y": -0.12, "font": {"size": 11}}
    first, last = int(rows["year"].min()), int(rows["year"].max())
    lay["xaxis"] = {**year_ticks(first - first % 5, last, 5 if last - first <= 60 else 10), "gridcolor": "#e5e7eb"}
    in_force_end = tg.loc[tg["target_in_force_at_period"].fillna(False).astype(bool), "year"]
    if len(in_force_end):          # superseded paths that run further stay reachable by zooming out
        lay["xaxis"]["range"] = [float(rows["year"].min()) - 1, float(in_force_end.max()) + 1]
    return chart(chart_id, data, lay, height=460)


def _targets_table(wh: Warehouse, nat: pd.DataFrame | None, codes: Codebook) -> list[dict]:
    t = wh.opt("dim_targets")
    if t is not None:
        names = {r["target_id"]: (r.get("name_th"), r.get("name_en")) for r in plain_records(t)}
        order = [(c, asc) for c, asc in (("in_force_at_period", False), ("target_year", True), ("target_id", True))
                 if c in t.columns]
        out = []
        for r in plain_records(t.sort_values([c for c, _ in order], ascending=[a for _, a in order])):
            status = r.get("status_at_period") or ("in_force" if r.get("in_force_at_period") else "superseded")
            out.append({**r, "status": status, "status_label": codes("target_status", status),
                        "superseded_by_label": names.get(r.get("superseded_by")),
                        "basis_pair": (r.get("basis_label_th") or codes("basis", r.get("basis"))[0],
                                       r.get("basis_label_en") or codes("basis", r.get("basis"))[1])})
        return out
    if nat is None:
        raise MissingData("dim_targets")
    tg = nat[nat["series_kind"] == "target"].groupby("target_id").agg(
        name_th=("series_label_th", "first"), name_en=("series_label_en", "first"), basis=("basis", "first"),
        target_year=("year", "max"), status=("target_status", "first")).reset_index()
    return [{**r, "status_label": codes("target_status", r["status"]), "basis_pair": codes("basis", r["basis"]),
             "superseded_by_label": None} for r in plain_records(tg)]


def national_headline(wh: Warehouse, codes: Codebook, period: str) -> dict:
    """The headline the mart dash_national_headline chose: the target in force due soonest, the latest
    inventory on its basis against its path, and the share of the gap partners' counted reductions close."""
    hit = plain_records(wh.get("dash_national_headline"))
    if not hit:
        raise MissingData("dash_national_headline (target in force)")
    h = hit[0]

    def part(prefix, *cols):
        return {c: h.get(f"{prefix}_{c}") for c in cols} if h.get(f"{prefix}_year") is not None else None

    return {"target_id": h["target_id"], "name": (h.get("name_th"), h.get("name_en")),
            "basis": (h.get("basis_th"), h.get("basis_en")), "target_year": h.get("target_year"),
            "target_value": h.get("target_value_mtco2e"), "source": h.get("source"),
            "latest": part("latest", "year", "value", "source"), "path_at_latest": h.get("path_at_latest"),
            "gap_share": part("gap_share", "year", "value", "source_detail"),
            "partner_counted": part("partner_counted", "year", "value")}


def national_page(wh: Warehouse, codes: Codebook, period: str) -> dict:
    nat = wh.get("mart_national_progress")
    charts = []
    for i, basis in enumerate(["net_incl_lulucf", "gross_excl_lulucf"]):
        c = _emission_chart(nat, basis, codes, f"chart-national-{i}")
        if c:
            charts.append({"basis": basis, "label": codes("basis", basis), "chart": c})
    partner = nat[nat["basis"] == "partner_claims"]
    years = sorted(int(y) for y in partner["year"].unique())
    pr = []
    for y in years:
        g = partner[partner["year"] == y].set_index("series_id")["value"]
        pr.append({"year": y, **{k: num(g.get(k)) for k in ("partner_reductions_claimed", "partner_reductions_duplicate",
                                                          "partner_reductions_counted",
                                                          "partner_reductions_counted_annualised")}})
    gaps = plain_records(nat[nat["measure"] == "gap_share"].sort_values(["year", "target_id"]))
    other = nat[(nat["series_kind"] == "observed") & ~nat["basis"].isin(["partner_claims", "net_incl_lulucf", "gross_excl_lulucf"])
                & (nat["measure"] != "gap_share")]
    series = (nat.groupby(["series_kind", "series_id"], sort=True)
              .agg(label_th=("series_label_th", "first"), label_en=("series_label_en", "first"),
                   basis=("basis", "first"), unit=("unit", "first"), source=("source", "first"),
                   first_year=("year", "min"), last_year=("year", "max"), detail=("source_detail", "first"),
                   status=("target_status", "first"))
              .reset_index())
    series_rows = [{**r, "kind_label": codes("series_kind", r["series_kind"]), "basis_label": codes("basis", r["basis"]),
                    "status_label": codes("target_status", r["status"]) if r.get("status") else None}
                   for r in plain_records(series)]
    return {"headline": _safe(national_headline, wh, codes, period), "charts": charts,
            "targets": _safe(_targets_table, wh, nat, codes), "partner_years": pr, "gaps": gaps,
            "other_observed": plain_records(other.sort_values(["series_id", "year"])), "series": series_rows}




# ------------------------------------------------------------------ provinces
def provinces_page(wh: Warehouse, codes: Codebook) -> dict:
    ps = wh.get("mart_province_summary")
    light = lights(wh, "province")
    rows = []
    for r in plain_records(ps.sort_values("province_code")):
        total = num(r.get("participants_12m"))
        female = num(r.get("participants_female_12m"))
        rows.append({**r, "name": (r.get("name_th"), r.get("name_en")),
                     "female_share": female / total if total and female is not None else None,
                     "region_label": (r.get("region_th"), r.get("region_en")) if r.get("region_th") else codes("region", r.get("region")),
                     "status": r.get("track_status") or "no_data", "light": light.get(str(r["province_code"]), "grey"),
                     "row": int(r["grid_row"]) + 1 if r.get("grid_row") is not None else None,
                     "col": int(r["grid_col"]) + 1 if r.get("grid_col") is not None else None})
    placed = [r for r in rows if r["row"] and r["col"]]
    grid = {"rows": max((r["row"] for r in placed), default=0), "cols": max((r["col"] for r in placed), default=0)}
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"rows": rows, "grid": grid, "counts": counts,
            "max": {k: max([num(r.get(k)) or 0 for r in rows] or [0]) for k in
                    ("activities_12m", "participants_12m", "partners", "reductions_12m_counted_tco2e")}}


# ------------------------------------------------------------------ ACE
def ace_summary(wh: Warehouse, codes: Codebook) -> list[dict]:
    el = wh.get("dash_ace_elements").sort_values(["element_order", "element_code"])
    m = wh.get("dash_ace_monthly")
    monthly = {str(code): g.sort_values("period")["activities"].astype(float).tolist()
               for code, g in m.groupby("element_code", sort=False)}
    out = []
    for e in plain_records(el):
        code = e["element_code"]
        label = (e.get("element_th"), e.get("element_en")) if e.get("element_en") else codes("ace_element", code)
        out.append({"code": code, "label": label, "light": e["light"], "last3": e.get("last3"), "prev3": e.get("prev3"),
                    "activities_12m": e.get("activities_12m"), "participants_12m": e.get("participants_12m"),
                    "female": e.get("participants_female_12m"), "male": e.get("participants_male_12m"),
                    "unspecified": e.get("participants_unspecified_12m"), "youth": e.get("participants_youth_12m"),
                    "female_share": e.get("female_share_12m"), "provinces": e.get("provinces_12m"),
                    "partners": e.get("partners_12m"), "monthly": monthly.get(code, [])})
    return out


def ace_page(wh: Warehouse, codes: Codebook) -> dict:
    elements = ace_summary(wh, codes)
    months = sorted(set(wh.get("dash_ace_monthly")["period"].astype(str)))
    palette = ["#1d4ed8", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2"]
    x = axis_months(months)
    lines = [{"type": "scatter", "mode": "lines+markers", "x": x, "y": e["monthly"], "name": bi(*e["label"]),
              "line": {"color": palette[i % 6], "width": 2}, "hovertemplate": "%{y:,.0f}<extra>%{fullData.name}</extra>"}
             for i, e in enumerate(elements)]
    over_time = chart("chart-ace-time", lines, base_layout(("จำนวนกิจกรรมต่อเดือน แยกตามองค์ประกอบ ACE",
                                                            "Activities per month by ACE element"),
                                                           ("กิจกรรม", "activities")), height=400)
    names = [bi(*e["label"]) for e in elements]
    sex = [("female", ("หญิง", "Female"), "#db2777"), ("male", ("ชาย", "Male"), "#2563eb"),
           ("unspecified", ("ไม่ระบุเพศ", "Sex not stated"), "#9ca3af")]
    bars = [{"type": "bar", "orientation": "h", "y": names, "x": [e[k] or 0 for e in elements], "name": bi(*lab),
             "marker": {"color": col}, "hovertemplate": "%{x:,.0f}<extra>%{fullData.name}</extra>"}
            for k, lab, col in sex if any(e.get(k) for e in elements)]
    lay = base_layout(("ผู้เข้าร่วม 12 เดือนล่าสุด แยกตามเพศ", "Participants over the last 12 months, by sex"),
                      None, barmode="stack")
    lay["yaxis"] = {"automargin": True, "autorange": "reversed"}
    lay["xaxis"] = {"title": {"text": bi("คน", "people")}, "gridcolor": "#e5e7eb"}
    by_sex = chart("chart-ace-sex", bars, lay, height=340)
    return {"elements": elements, "over_time": over_time, "by_sex": by_sex, "months": len(months),
            "window": window_label(wh)}


# ------------------------------------------------------------------ sectors
def sector_lights(wh: Warehouse, codes: Codebook) -> list[dict]:
    sp = wh.get("mart_sector_progress")
    light = lights(wh, "sector")
    return [{**r, "label": (r.get("name_th") or codes("sector", r["sector"])[0], r.get("name_en") or codes("sector", r["sector"])[1]),
             "light": light.get(str(r["sector"]), "grey"), "status": r.get("track_status") or "no_data"}
            for r in plain_records(sp.sort_values("reductions_12m_counted_tco2e", ascending=False, kind="stable"))]


# ------------------------------------------------------------------ awareness
def _labelled(df: pd.DataFrame, codes: Codebook, provinces: Codebook) -> pd.DataFrame:
    df = df.copy()
    for col, kind in (("measure", "measure"), ("domain", "domain")):
        for lang, i in (("th", 0), ("en", 1)):
            name = f"{col}_{lang}"
            fallback = df[col].map(lambda v: codes(kind, v)[i])
            df[name] = df[name].fillna(fallback) if name in df.columns else fallback

    def value_label(row, i):
        if row["domain"] == "province":
            return codes("province", row["domain_value"])[i]
        if row["domain"] == "region":
            return codes("region", row["domain_value"])[i]
        return codes("domain_value", row["domain_value"])[i]

    for lang, i in (("th", 0), ("en", 1)):
        name = f"domain_value_{lang}"
        fallback = df.apply(lambda r: value_label(r, i), axis=1) if len(df) else pd.Series(dtype=str)
        df[name] = df[name].fillna(fallback) if name in df.columns else fallback
    df["_m"] = df["measure"].map(lambda m: MEASURE_ORDER.index(m) if m in MEASURE_ORDER else 99)
    df["_d"] = df["domain"].map(lambda d: DOMAIN_ORDER.index(d) if d in DOMAIN_ORDER else 99)
    return df.sort_values(["_m", "_d", "domain_value"], kind="stable")


def no_survey_wave(wh: Warehouse) -> bool:
    """True when the survey marts are there and hold no wave: nothing has been loaded yet (not an error)."""
    waves = wh.opt("mart_awareness_waves")
    return waves is not None and waves.empty


def _waves(wh: Warehouse, aw: pd.DataFrame) -> tuple[int, int]:
    if aw.empty:
        raise NoSurveyWave()
    waves = sorted(int(w) for w in aw["wave"].unique())
    base = waves[0]
    meta = wh.opt("mart_awareness_waves")
    if meta is not None and "is_baseline" in meta.columns and meta["is_baseline"].fillna(False).any():
        base = int(meta.loc[meta["is_baseline"].fillna(False).astype(bool), "wave"].iloc[0])
    ch = wh.opt("mart_awareness_change")
    if ch is not None and "baseline_wave" in ch.columns and len(ch):
        base = int(ch["baseline_wave"].iloc[0])
    return base, waves[-1]


def _ci_trace(rows: pd.DataFrame, name, color, x_of, offset: int) -> dict:
    est = [num(v) for v in rows["estimate"]]
    hi = [None if e is None or num(h) is None else num(h) - e for e, h in zip(est, rows["ci_high"])]
    lo = [None if e is None or num(l) is None else e - num(l) for e, l in zip(est, rows["ci_low"])]
    sup = rows["suppressed"].fillna(False).astype(bool).tolist() if "suppressed" in rows else [False] * len(rows)
    return {"type": "scatter", "mode": "markers", "name": name, "x": [x_of(r) for r in plain_records(rows)], "y": est,
            "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "thickness": 1.5, "width": 4,
                        "color": color},
            "marker": {"color": color, "size": 9}, "offsetgroup": str(offset),
            "customdata": [bi("ไม่เผยแพร่: ผู้ตอบน้อย", "withheld: too few respondents") if s else bi("", "") for s in sup],
            "hovertemplate": "%{x}<br>%{y:.1f} (95% CI)%{customdata}<extra>%{fullData.name}</extra>"}


def awareness_headline(wh: Warehouse, codes: Codebook) -> dict:
    aw = wh.get("mart_awareness_baseline")
    base, latest = _waves(wh, aw)

    def cell(wave):
        hit = aw[(aw["wave"] == wave) & (aw["measure"] == "awareness_index") & (aw["domain"] == "overall")]
        return plain_records(hit)[0] if len(hit) else None

    change = None
    ch = wh.opt("mart_awareness_change")
    if ch is not None and base != latest:
        hit = ch[(ch["wave"] == latest) & (ch["measure"] == "awareness_index") & (ch["domain"] == "overall")]
        change = plain_records(hit)[0] if len(hit) else None
    return {"baseline_wave": base, "latest_wave": latest, "baseline": cell(base), "latest": cell(latest),
            "change": change}


def awareness_page(wh: Warehouse, codes: Codebook, drift: dict | None) -> dict:
    aw = _labelled(wh.get("mart_awareness_baseline"), codes, codes)
    base, latest = _waves(wh, aw)
    waves = [base] if base == latest else [base, latest]
    main = aw[~aw["domain"].isin(["province"]) & aw["wave"].isin(waves)]
    core = main[main["measure"].isin(["awareness_index", "knowledge", "concern", "behaviour"])]

    def x_measure(r):
        return bi(r["measure_th"], r["measure_en"])

    def x_domain(r):
        if r["domain"] == "overall":
            return bi(r["domain_value_th"] if r["domain_value"] != "all" else "ทั้งประเทศ",
                      r["domain_value_en"] if r["domain_value"] != "all" else "National")
        return bi(f'{r["domain_th"]}: {r["domain_value_th"]}', f'{r["domain_en"]}: {r["domain_value_en"]}')

    wave_names = {w: bi(f"รอบ พ.ศ. {w + 543}" + (" – รอบฐาน" if w == base else " – ล่าสุด"),
                        f"Wave {w}" + (" – baseline" if w == base else " – latest")) for w in waves}
    wave_colors = {base: COLORS["baseline"], latest: COLORS["latest"]}
    overall = core[core["domain"] == "overall"]
    c1 = chart("chart-aw-overall", [_ci_trace(overall[overall["wave"] == w], wave_names[w], wave_colors[w], x_measure, i)
                                    for i, w in enumerate(waves)],
               base_layout(("ทั้งประเทศ: ค่าประมาณและช่วงความเชื่อมั่น 95%", "National: estimates with 95% confidence intervals"),
                           ("คะแนน 0–100", "score 0–100"), scattermode="group"), height=340)
    idx = core[core["measure"] == "awareness_index"]
    lay2 = base_layout(("ดัชนีความตระหนักรู้ แยกตามกลุ่มประชากร", "Awareness index by population group"),
                       ("คะแนน 0–100", "score 0–100"), scattermode="group")
    lay2["xaxis"] = {"automargin": True, "tickangle": -40}
    legend_on_top(lay2)
    c2 = chart("chart-aw-domains", [_ci_trace(idx[idx["wave"] == w], wave_names[w], wave_colors[w], x_domain, i)
                                    for i, w in enumerate(waves)], lay2, height=440)
    if idx.empty:
        c2 = None
    # awareness levels (share low/medium/high), national
    levels = None
    lv = main[(main["domain"] == "overall") & main["measure"].isin(["share_low", "share_medium", "share_high"])]
    if len(lv):
        data = []
        for m, col in (("share_low", "#fca5a5"), ("share_medium", "#fcd34d"), ("share_high", "#6ee7b7")):
            g = lv[lv["measure"] == m].set_index("wave")
            data.append({"type": "bar", "orientation": "h", "y": [wave_names[w] for w in waves],
                         "x": [num(g["estimate"].get(w)) for w in waves], "name": bi(*codes("measure", m)),
                         "marker": {"color": col}, "hovertemplate": "%{x:.1f}%<extra>%{fullData.name}</extra>"})
        lay = base_layout(("สัดส่วนผู้มีความตระหนักรู้แต่ละระดับ (ทั้งประเทศ)", "Share of people at each awareness level (national)"),
                          None, barmode="stack")
        lay["xaxis"] = {"range": [0, 100], "ticksuffix": "%"}
        lay["yaxis"] = {"automargin": True}
        lay["legend"]["traceorder"] = "normal"
        levels = chart("chart-aw-levels", data, lay, height=260)
    table = [{**r, "cells": {}} for r in plain_records(
        main.drop_duplicates(["measure", "domain", "domain_value"])[
            ["measure", "domain", "domain_value", "measure_th", "measure_en", "domain_th", "domain_en",
             "domain_value_th", "domain_value_en"]])]
    cells = _first_cells(main)
    for r in table:
        for w in waves:
            r["cells"][w] = cells.get((w, r["measure"], r["domain"], r["domain_value"]))
    prov = aw[(aw["domain"] == "province") & (aw["wave"] == latest) & (aw["measure"] == "awareness_index")]
    return {"baseline_wave": base, "latest_wave": latest, "waves": waves, "headline": awareness_headline(wh, codes),
            "overall_chart": c1, "domain_chart": c2, "levels_chart": levels, "table": table,
            "measures": [{"code": m, "label": codes("measure", m)} for m in MEASURE_ORDER if m in set(main["measure"])],
            "provinces": plain_records(prov.sort_values("domain_value")), "change": _safe(awareness_change, wh, codes, latest),
            "drift": _safe(drift_rows, codes, drift)}


def _first_cells(main: pd.DataFrame) -> dict[tuple, dict]:
    """(wave, measure, domain, domain_value) -> the first such row of `main` (as plain_records gives it): what
    filtering `main` on the four columns gives first, by one pass instead of one filter per table cell (a
    filter matches no row where a value is missing: neither does a key holding None)."""
    out: dict[tuple, dict] = {}
    for rec in plain_records(main):
        key = (rec["wave"], rec["measure"], rec["domain"], rec["domain_value"])
        if None not in key and key not in out:
            out[key] = rec
    return out


def awareness_change(wh: Warehouse, codes: Codebook, latest: int) -> dict:
    ch = wh.get("mart_awareness_change")
    ch = _labelled(ch[ch["wave"] == latest], codes, codes)
    comparable = bool(ch["comparable"].fillna(True).all()) if "comparable" in ch else True
    note = next((n for n in ch.get("comparability_note", pd.Series(dtype=str)).dropna() if n), "")
    main = ch[~ch["domain"].isin(["province"])]
    idx = main[main["measure"] == "awareness_index"]

    def x_domain(r):
        if r["domain"] == "overall":
            return bi("ทั้งประเทศ", "National")
        return bi(f'{r["domain_th"]}: {r["domain_value_th"]}', f'{r["domain_en"]}: {r["domain_value_en"]}')

    groups = [("up", bi("เพิ่มขึ้นอย่างมีนัยสำคัญ", "significant rise"), COLORS["green"]),
              ("down", bi("ลดลงอย่างมีนัยสำคัญ", "significant fall"), COLORS["red"]),
              ("ns", bi("ไม่มีนัยสำคัญ", "not significant"), "#64748b")]

    def kind(r):
        if not r.get("significant"):
            return "ns"
        return "up" if (r.get("difference") or 0) > 0 else "down"

    recs = plain_records(idx)
    data = []
    for k, name, color in groups:
        sel = [r for r in recs if kind(r) == k and r.get("difference") is not None]
        if not sel:
            continue
        data.append({"type": "scatter", "mode": "markers", "name": name, "x": [x_domain(r) for r in sel],
                     "y": [r["difference"] for r in sel],
                     "error_y": {"type": "data", "symmetric": False,
                                 "array": [r["ci_high"] - r["difference"] for r in sel],
                                 "arrayminus": [r["difference"] - r["ci_low"] for r in sel], "color": color},
                     "customdata": [r.get("p_adjusted") for r in sel], "marker": {"color": color, "size": 10},
                     "hovertemplate": "%{x}<br>%{y:+.1f} pts, p(adj)=%{customdata:.3f}<extra></extra>"})
    lay = base_layout(("การเปลี่ยนแปลงของดัชนีเทียบกับรอบฐาน (จุด) พร้อมช่วงความเชื่อมั่น 95%",
                       "Change in the index versus the baseline (points) with 95% CI"), ("จุด", "points"),
                      shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                               "line": {"color": "#0f172a", "width": 1}}])
    lay["yaxis"]["rangemode"] = "normal"
    lay["xaxis"] = {"automargin": True, "tickangle": -40}
    lay["xaxis"].update({"categoryorder": "array", "categoryarray": [x_domain(r) for r in recs]})
    legend_on_top(lay)
    return {"comparable": comparable, "note": note, "chart": chart("chart-aw-change", data, lay, height=420) if data else None,
            "rows": [{**r, "kind": kind(r)} for r in plain_records(main)],
            "adjustment": next((a for a in ch.get("adjustment", pd.Series(dtype=str)).dropna()), "Benjamini-Hochberg"),
            "n_significant": int(main["significant"].fillna(False).astype(bool).sum()) if "significant" in main else 0,
            "n_tests": int(main["p_value"].notna().sum()) if "p_value" in main else 0}


def drift_rows(codes: "Codebook", drift: dict | None) -> dict:
    if not drift:                       # fewer than two survey waves: nothing to compare yet
        raise MissingData("drift_report")
    text = codes.maps.get("survey_item", {})
    rows = [{**r, "text": text.get(str(r.get("item")))} for r in drift.get("rows", [])]
    return {**drift, "rows": rows}


# ------------------------------------------------------------------ overview
def overview_cards(wh: Warehouse) -> dict:
    o = plain_records(wh.get("dash_overview"))[0]
    return {"partners": o["partners"], "counts": {k: o[k] for k in ("on_track", "off_track", "no_data")},
            "counted_12m": o["counted_12m_tco2e"], "required_12m": o["required_path_tco2e"],
            "completeness": o["mean_reporting_completeness"]}


def overview_page(wh: Warehouse, codes: Codebook, period: str) -> dict:
    partners = _safe(partner_rows, wh, codes)
    board = partners
    attention = partners
    if not isinstance(partners, Unavailable):
        groups: dict[str, dict] = {}
        for r in partners:
            g = groups.setdefault(r.get("peer_group") or "", {"label": r["peer"], "partners": []})
            g["partners"].append(r)
        order = {"on_track": 0, "off_track": 1, "no_data": 2}
        for g in groups.values():
            g["partners"].sort(key=lambda r: (order.get(r["status"], 3), -(r["pct_path"] or 0), r["partner_id"]))
        board = [{**groups[k], "code": k, "total": len(groups[k]["partners"]),
                  "counts": {c: sum(1 for r in groups[k]["partners"] if r["light"] == c)
                             for c in ("green", "amber", "red", "grey")},
                  "partners": groups[k]["partners"][:CHIPS_PER_GROUP]} for k in sorted(groups)]
        off = [r for r in partners if r["status"] == "off_track" and r["pct_path"] is not None]
        attention = sorted(off, key=lambda r: (r["pct_path"], r["partner_id"]))[:5]
    return {"cards": _safe(overview_cards, wh), "board": board, "attention": attention,
            "ace": _safe(ace_summary, wh, codes), "sectors": _safe(sector_lights, wh, codes),
            "national": _safe(national_headline, wh, codes, period), "awareness": _safe(awareness_headline, wh, codes)}


# ------------------------------------------------------------------ data quality and downloads
def quality_page(gate: dict | None, wh: Warehouse, out_dir: Path, codes: Codebook) -> dict:
    gate = gate or {}
    checks = gate.get("checks", [])
    suites: dict[str, dict] = {}
    for c in checks:
        s = suites.setdefault(c.get("suite"), {"suite": c.get("suite"), "checks": [], "passed": 0, "failed": 0})
        s["checks"].append({**plain(c), "severity_label": codes("severity", c.get("severity"))})
        s["passed" if c.get("success") else "failed"] += 1
    # the gate's own results come first: a missing quality mart leaves its table empty, never the page
    quarantine = wh.opt("dash_quality_quarantine")
    q_by = [] if quarantine is None else [
        {**r, "family_label": codes("family", r.get("family")), "message": (r.get("message_th"), r.get("message_en"))}
        for r in plain_records(quarantine.sort_values(["family", "problems"], ascending=[True, False], kind="stable"))]
    ingest = wh.opt("dash_quality_ingest")
    ing = [] if ingest is None else [{**r, "family_label": codes("family", r.get("family"))} for r in plain_records(ingest)]
    dbt = gate.get("dbt") or {}
    return {"passed": gate.get("passed"), "total": len(checks), "passed_checks": sum(bool(c.get("success")) for c in checks),
            "warnings": gate.get("warnings", 0), "blocking": gate.get("blocking", 0),
            "suites": sorted(suites.values(), key=lambda s: (-s["failed"], str(s["suite"]))),
            "dbt": {"success": dbt.get("success"), "counts": dbt.get("counts") or {}, "failures": dbt.get("failures") or []},
            "ingest": ing, "quarantine": q_by, "quarantine_rows": int(sum(r.get("problems") or 0 for r in q_by)),
            "data_docs": (out_dir / "quality" / "data_docs" / "index.html").is_file(),
            "dbt_docs": (out_dir / "docs" / "dbt" / "index.html").is_file(),
            "drift": (out_dir / "drift" / "drift_report.html").is_file(),
            "files": [p for p in ("quality/gate.json", "quality/ingest_report.csv", "quality/quarantine.csv",
                                  "quality/quarantine.parquet") if (out_dir / p).is_file()] + ["manifest.json"],
            "sources": sorted(wh.sources.items())}


def downloads_page(out_dir: Path) -> dict:
    import json

    dp = out_dir / "datapackage.json"
    if not dp.is_file():
        raise MissingData("datapackage.json")
    package = json.loads(dp.read_text(encoding="utf-8"))
    resources = []
    for res in package.get("resources", []):
        path = res.get("path")
        csvs = path if isinstance(path, list) else [path]
        files = [{"path": f, "size": (out_dir / f).stat().st_size} for f in csvs + list(res.get("alternates") or [])
                 if f and (out_dir / f).is_file()]
        # a resource split by month: one row per month, its CSV and Parquet side by side
        months = [{"label": period_label(Path(c).stem), "csv": c, "parquet": str(Path(c).with_suffix(".parquet"))}
                  for c in csvs] if isinstance(path, list) else []
        resources.append({**res, "files": [] if months else files, "months": months,
                          "size": sum(f["size"] for f in files)})
    return {"package": package, "resources": resources,
            "license": (package.get("licenses") or [{}])[0]}



# ------------------------------------------------------------------ which months are in
def month_status(wh: Warehouse, codes: Codebook) -> dict | None:
    """Months the publication includes and months received but held (dbt dash_month_status): shown in every
    page's header and on the quality page."""
    ms = wh.opt("dash_month_status")
    if ms is None or not len(ms):
        return None
    rows = [{**r, "label": period_label(r["period"]), "status_label": codes("month_status", r["status"])}
            for r in plain_records(ms.sort_values("period"))]
    return {"rows": rows, "first": rows[0]["label"], "held": [r for r in rows if r["status"] == "held"]}


# ------------------------------------------------------------------ partner pages in worker processes
# DuckDB settings of the connections a partner_pool worker opens (set in the worker by render_partner_range):
# one thread (the workers already use every core) and a small buffer pool (the batches scan the fact tables,
# whose blocks would otherwise stay cached in each worker).
WORKER_DUCKDB: dict[str, str] = {}
WORKER_DUCKDB_SETTINGS = {"threads": "1", "memory_limit": "256MB"}


# Tables of which a partner page shows only its own partner's rows: a worker reads only its partners' rows
# (the same rows in the same order: `order by all` of a subset; DuckDB gives each column the same pandas type).
OWN_ROWS_ONLY = ("dash_partner_credentials", "dash_partner_trajectory", "dash_partner_pledge_path",
                 "mart_partner_disputes", "mart_peer_matches", "mart_partner_network")


class LazyWarehouse(Warehouse):
    """The dashboard tables of a warehouse file, each read on first use (as read_warehouse reads it) and kept:
    a worker holds only what partner pages use. The per-partner facts stay deferred (PartnerBatches); with
    `partners` set, the OWN_ROWS_ONLY tables hold only those partners' rows."""

    partners: list[str] | None = None
    # one connection for every table read (lazy_warehouse's keep_open: a page worker's, the publishing
    # process's), its cached blocks evicted after each table; else a connection per table (~25 ms of CPU each)
    con: duckdb.DuckDBPyConnection | None = None

    def has(self, name: str) -> bool:
        return name in self.sources

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def _read(self, con, name: str) -> pd.DataFrame:
        table = self.sources[name]
        if self.partners is not None and name in OWN_ROWS_ONLY:
            try:
                return con.execute(f"select * from {table} where partner_id in (select unnest($1::varchar[])) "
                                   "order by all", [self.partners]).df()
            except duckdb.Error:            # no partner_id column: the whole table, as read_warehouse reads it
                pass
        return con.execute(f"select * from {table} order by all").df()

    def get(self, name: str) -> pd.DataFrame:
        if name in self.frames:
            return self.frames[name]
        if name not in self.sources:
            raise MissingData(name)
        if name in self.deferred:
            return super().get(name)
        try:
            if self.con is not None:
                frame = stable_frame(self._read(self.con, name))
                drop_cached_blocks(self.con, self.memory_limit)
            else:
                with duckdb.connect(str(self.db), read_only=True, config=dict(WORKER_DUCKDB)) as con:
                    frame = stable_frame(self._read(con, name))
        except duckdb.Error as exc:        # read_warehouse leaves such a table out: the same here
            log.warning("could not read %s: %s", self.sources[name], exc)
            del self.sources[name]
            raise MissingData(name) from exc
        self.frames[name] = frame
        return frame


def lazy_warehouse(db: Path, tables: dict[str, str], probe: bool = False, keep_open: bool = False) -> LazyWarehouse:
    """With `probe`, a table that cannot be read is left out at once (as read_warehouse leaves it out), so
    that `has` and `sources` say what read_warehouse's say before any table is read. With `keep_open`, the
    connection that listed the tables reads every table (LazyWarehouse.keep_open; the caller closes it)."""
    con, limit = worker_connection(db) if keep_open else (duckdb.connect(str(db), read_only=True), None)
    try:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        sources = {m: t for m, t in tables.items() if t in present}
        if probe:
            for model, table in list(sources.items()):
                try:
                    con.execute(f"select * from {table} limit 0").fetchall()
                except duckdb.Error as exc:        # e.g. a view over a table another model is rebuilding
                    log.warning("could not read %s: %s", table, exc)
                    del sources[model]
    except BaseException:
        con.close()
        raise
    wh = LazyWarehouse({}, sources, Path(db), tuple(m for m in PER_PARTNER_TABLES if m in sources))
    if keep_open:
        wh.con, wh.memory_limit = con, limit
    else:
        con.close()
    return wh


# At national scale a worker renders several ranges (partner_pool.PARTNERS_PER_TASK): the whole tables and what
# is made from them (every partner's row, the landed files' digests, the partners' ties, the practice pages'
# files) are read and made once per worker process, not once per range - with the compiled templates
# (site.worker_env), ~0.3 s of CPU a range at scale 0.25; the tables holding only a range's partners
# (OWN_ROWS_ONLY) are dropped after each range, and everything after a range with none queued behind it
# (render_partner_range's `more`): a worker holds no more between ranges than during one.
_WORKER_KEPT: dict[tuple, LazyWarehouse] = {}
WORKER_RELEASE.append(_WORKER_KEPT.clear)


def worker_warehouse(job: dict) -> LazyWarehouse:
    """A partner_pool worker's warehouse, kept between its ranges while the warehouse file and the tables are
    the same; its connection is opened for the range (the caller closes it)."""
    st = os.stat(job["db"])
    key = (job["db"], st.st_ino, st.st_size, st.st_mtime_ns, tuple(sorted(job["tables"].items())))
    if key not in _WORKER_KEPT:
        _WORKER_KEPT.clear()
        wh = _WORKER_KEPT[key] = lazy_warehouse(Path(job["db"]), job["tables"], keep_open=True)
        wh.derived = {}
        return wh
    wh = _WORKER_KEPT[key]
    wh.con, wh.memory_limit = worker_connection(wh.db)
    return wh


GC_YOUNG_EVERY = 14_000         # allocations between the cyclic collector's young collections in a page worker


def render_partner_range(out_dir: str, job: dict, start: int, stop: int, common: dict,
                         strict: bool, more: bool = False) -> tuple[list[str], list[dict]]:
    """A partner_pool worker's share: the pages (and files) of partners [start, stop) in page order, read from
    the warehouse file `job["db"]`; returns the files written and the notes of pages that could not be. With
    `more` (ranges are queued after this one), the worker keeps its whole tables for its next range."""
    import shutil
    import tempfile

    milestone(f"publish: partner range {start}-{stop} starts")
    # DuckDB spills what exceeds memory_limit to a temp folder, by default `<warehouse>.tmp` beside the file:
    # beside the published warehouse that is the name promote_warehouse copies the next warehouse to
    spill = tempfile.mkdtemp(prefix="phakhi-pages-duckdb-")
    WORKER_DUCKDB.update(WORKER_DUCKDB_SETTINGS, temp_directory=spill)
    # a page's data (row dicts, labels, chart specs) is freed by refcounting once the page is written; the cyclic
    # collector's default young collection (every 700 allocations) ran ~330 times per 1,000 pages (scale 0.25,
    # 0.14-0.16 s of ~4 s CPU); every GC_YOUNG_EVERY: ~13 times, 0.05 s. What it frees is the same.
    threshold = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_EVERY, *threshold[1:])
    try:
        return _render_partner_range(out_dir, job, start, stop, common, strict)
    finally:
        gc.set_threshold(*threshold)
        if not more:
            _WORKER_KEPT.clear()
        shutil.rmtree(spill, ignore_errors=True)
        milestone(f"publish: partner range {start}-{stop} ends")


def _render_partner_range(out_dir: str, job: dict, start: int, stop: int, common: dict,
                          strict: bool) -> tuple[list[str], list[dict]]:
    wh = worker_warehouse(job)
    try:
        if wh.has("dash_partners") and "partner_id" in wh.get("dash_partners").columns:
            wh.partners = [str(p) for p in wh.get("dash_partners").sort_values("partner_id")["partner_id"].iloc[start:stop]]
        codes = Codebook(wh)
        notes: list[dict] = []
        stream = partner_stream(wh, codes, job["period"], job["practices_size"], part=(start, stop))
        written = write_partner_pages(Path(out_dir), stream, worker_env(job.get("status_labels")),
                                      {**common, "notes": []}, notes, strict)
    finally:
        wh.close()
        for name in OWN_ROWS_ONLY:          # this range's partners only: the next range reads its own
            wh.frames.pop(name, None)
    return [str(p) for p in written], notes



# ------------------------------------------------------------------ the whole site
def site_context(db: Path, out_dir: Path, *, period: str, pub_id: str, is_sample: bool, tables: dict[str, str] | None = None,
                 gate: dict | None = None, drift: dict | None = None, warehouse: Warehouse | None = None,
                 page_sizes: dict[str, int] | None = None, before_files: Callable[[], None] | None = None) -> dict:
    """Everything the templates need, page by page. Pages whose data is missing are `Unavailable`.
    `tables` is the dashboard exposure's list (phakhi.publish.exposures.dashboard_tables).
    pages["partner_pages"] is a generator: render_site writes each partner page as it is produced.
    `before_files` is called before the pages that list the publication's own files (downloads, quality) are
    made: build.py waits there for the open data, written by other processes while the tables are read."""
    # each table read when a page first asks for it: when worker processes render the partner pages, this
    # process never reads the tables only those pages use (trajectories, peer matches, credentials, file digests);
    # all on one connection, closed by render_site (opening one per table cost ~25 ms each: ~0.8 s of a
    # near-empty publish's ~2 s)
    wh = warehouse or lazy_warehouse(db, tables or {}, probe=True, keep_open=True)
    codes = Codebook(wh)
    pages = {
        "overview": _safe(overview_page, wh, codes, period),
        "national": _safe(national_page, wh, codes, period),
        "partners": _safe(partners_page, wh, codes, (page_sizes or {}).get("partners")),
        "provinces": _safe(provinces_page, wh, codes),
        "ace": _safe(ace_page, wh, codes),
        "awareness": _safe(awareness_page, wh, codes, drift),
        "downloads": None,                          # below: it lists the publication's files
    }
    practices_size = (page_sizes or {}).get("practices") or LIST_PAGE_SIZE["practices"]
    add_linking_pages(pages, wh, codes, _safe, practices_size)    # network, practices (curated), awareness beside ACE, map colour
    if before_files is not None:
        milestone("publish: site pages read, waiting for the open data")
        try:
            before_files()
        except BaseException:
            if warehouse is None:
                wh.close()
            raise
    pages["downloads"] = _safe(downloads_page, out_dir)
    if no_survey_wave(wh):                          # a first day on real data: say so, invent no figure
        pages["awareness_ace"] = Unavailable.no_survey_wave()
    pages = {k: ({"unavailable": v} if isinstance(v, Unavailable) else v) for k, v in pages.items()}
    notes = []          # every page or section shown as "not available yet", listed on the Data quality page
    for key, page in pages.items():
        if isinstance(page.get("unavailable"), Unavailable):
            u = page["unavailable"]
            notes.append({"page": key, "section": "", "th": u.th, "en": u.en, "detail": u.detail})
            continue
        for sub, u in page.items():
            if isinstance(u, Unavailable):
                notes.append({"page": key, "section": sub, "th": u.th, "en": u.en, "detail": u.detail})
    pages["partner_pages"] = partner_stream(wh, codes, period, practices_size) if wh.has("dash_partners") else iter(())
    pages["quality"] = _safe(quality_page, gate, wh, out_dir, codes)
    if isinstance(pages["quality"], Unavailable):
        pages["quality"] = {"unavailable": pages["quality"]}
    dp = wh.opt("dash_period")
    # partner pages can be rendered by worker processes, each reading the warehouse file itself
    # (phakhi.publish.partner_pool): only when this context was read from that file
    job = {"db": str(db), "tables": dict(tables or {}), "period": period, "practices_size": practices_size,
           "partners": len(wh.get("dash_partners")), "status_labels": codes.maps.get("track_status", {}),
           "render": render_partner_range} \
        if warehouse is None and wh.has("dash_partners") and Path(db).is_file() else None
    return {"partner_job": job, "meta": {"period": period, "period_label": period_label(period), "pub_id": pub_id, "is_sample": is_sample,
                     "months": _safe(month_status, wh, codes),
                     "year": int(period[:4]),
                     "window_label": period_label(str(dp["window_first_period"].iloc[0])) if dp is not None and len(dp) else None},
            "status_labels": codes.maps.get("track_status", {}), "light_labels": codes.maps.get("light", {}),
            "pages": pages, "notes": notes, "close": wh.close if warehouse is None else None}
