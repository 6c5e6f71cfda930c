"""Run the great-expectations checkpoint over the build warehouse and decide whether it may be published.

Each suite file in expectations/ names the warehouse table (or a SQL query, for cross-table reconciliations)
it checks, and each expectation carries a severity: `critical` blocks publication, `warning` is reported.
GX validates pandas DataFrames read from DuckDB: GX through duckdb-engine returns empty results.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from phakhi.settings import EXPECTATIONS_DIR


@dataclass
class Check:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    sample: list = field(default_factory=list)
    sample_rows: list = field(default_factory=list)    # ids of failing rows (the suite's row_id columns)
    observed: object = None
    kwargs: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)       # "partner P001, file x.xlsx row 7" behind failing rows


@dataclass
class GateResult:
    checks: list[Check]
    dbt: dict = field(default_factory=dict)      # dbt build outcome summary (tests are part of the gate)
    data_docs: Path | None = None                # GX Data Docs site built by the checkpoint (offline-ready)
    digests: dict = field(default_factory=dict)  # suite -> digest of (suite, the rows it validated)
    reused: list = field(default_factory=list)   # suites not re-validated: same digest as the live publication's

    def memo(self) -> dict:
        """What a later gate may reuse: each suite none of whose critical checks failed, with its digest and
        checks. A suite with failing warnings is kept too: its verdicts, samples and sources are a function of
        its digest (the same expectations over the same ordered rows), and they are carried, so the warnings
        are still reported; re-validating it each month (three suites at quarter scale, ~1.9 s) found nothing
        new. A suite with a blocking failure is never reused."""
        by_suite: dict[str, list] = {}
        for c in self.checks:
            by_suite.setdefault(c.suite, []).append(c)
        return {s: {"digest": d, "checks": [c.__dict__ for c in by_suite.get(s, [])]}
                for s, d in self.digests.items()
                if not any(not c.success and c.severity == "critical" for c in by_suite.get(s, []))}

    @property
    def blocking(self) -> list[Check]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if not c.success and c.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.blocking and self.dbt.get("success", True)

    def summary(self) -> str:
        """A reason a person can act on: each failing expectation with sample failing values."""
        lines = []
        for f in self.dbt.get("failures", []):
            lines.append(f"dbt {f['status']}: {f['node']}: {f['message'][:300]}")
        for c in self.blocking:
            where = f"{c.suite}.{c.column}" if c.column else c.suite
            counts = f" ({c.unexpected_count} of {c.element_count} rows)" if c.unexpected_count is not None else ""
            sample = f"; e.g. {c.sample[:5]}" if c.sample else ""
            if c.sample_rows:
                sample += f"; failing rows {c.sample_rows[:5]}"
            if c.sources:
                sample += "; from " + "; ".join(c.sources[:5])
            lines.append(f"{c.expectation} failed on {where}{counts}{sample}; expected {c.kwargs}")
        return "\n".join(lines) or "all checks passed"

    def to_dict(self) -> dict:
        return {"passed": self.passed, "data_docs": str(self.data_docs) if self.data_docs else None, "blocking": len(self.blocking), "warnings": len(self.warnings),
                "checks": [c.__dict__ for c in self.checks], "dbt": self.dbt, "reused_suites": list(self.reused)}


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


# Statistical comparisons hold up to floating-point noise: two figures computed along different paths
# (p_adjusted from p_value through Benjamini-Hochberg) may differ in the 16th digit the "wrong" way.
PAIR_TOLERANCE = 1e-9
_PAIR_TYPES = ("expect_column_pair_values_a_to_be_greater_than_b",)


def with_tolerance(frame: pd.DataFrame, suite: dict, tol: float = PAIR_TOLERANCE) -> pd.DataFrame:
    """For each 'A >= B' comparison of float columns: where A falls short of B by no more than `tol`
    (relative to |B|, at least absolute `tol`), A is taken as B -- noise is not a failure, a real shortfall
    still is. Works on a copy; the warehouse is never changed."""
    out = frame
    for e in suite.get("expectations", []):
        if e.get("type") not in _PAIR_TYPES:
            continue
        a, b = e["kwargs"].get("column_A"), e["kwargs"].get("column_B")
        if a not in frame or b not in frame or not (pd.api.types.is_float_dtype(frame[a]) or
                                                     pd.api.types.is_float_dtype(frame[b])):
            continue
        if out is frame:
            out = frame.copy()
        x, y = out[a].astype("float64"), out[b].astype("float64")
        noise = (x < y) & ((y - x) <= tol * y.abs().clip(lower=1.0))
        out.loc[noise, a] = out.loc[noise, b]
    return out


_FILE_COLS, _ROW_COLS = ("_file", "source_file", "file"), ("_row", "source_row", "row")
_RAW_WITH_PARTNER = ("activity_reports", "ghg_reductions", "partner_inventories", "partner_registry")


def trace_sources(con: duckdb.DuckDBPyConnection, suite: dict, sample_rows: list, limit: int = 5) -> list[str]:
    """Name the partner, file and row behind failing rows: the suite's row ids are looked up in its table, and
    from the partner (and month) found there in the raw tables, which keep each row's file and row number."""
    table = suite.get("table")
    out: list[str] = []
    if not table or not sample_rows:
        return out

    def cols_of(name: str) -> list[str]:
        schema, _, tbl = name.rpartition(".")
        return [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? and (? = '' or table_schema = ?)",
            [tbl, schema, schema]).fetchall()]

    try:
        have = cols_of(table)
        for ids in sample_rows[:limit]:
            if not isinstance(ids, dict):
                continue
            keys = {k: v for k, v in ids.items() if k in have and k in (suite.get("row_id") or [])}
            if not keys:
                continue
            want = [c for c in ("partner_id", "period", *_FILE_COLS, *_ROW_COLS) if c in have]
            if not want:
                continue
            where = " and ".join(f'"{k}" = ?' for k in keys)
            row = con.execute(f"select {', '.join(want)} from {table} where {where} limit 1", list(keys.values())).fetchone()
            if row is None:
                continue
            found = dict(zip(want, row))
            pid = found.get("partner_id")
            file = next((found[c] for c in _FILE_COLS if found.get(c)), None)
            line = next((found[c] for c in _ROW_COLS if found.get(c) is not None), None)
            if file is None and pid:
                for raw in _RAW_WITH_PARTNER:
                    rcols = cols_of(f"raw.{raw}")
                    if "partner_id" not in rcols:
                        continue
                    cond, args = "partner_id = ?", [pid]
                    if found.get("period") is not None and "period" in rcols:
                        cond, args = cond + " and period = ?", args + [str(found["period"])[:7]]
                    hit = con.execute(f"select _file, _row from raw.{raw} where {cond} order by _file, _row limit 1",
                                      args).fetchone()
                    if hit:
                        file, line = hit
                        break
            text = ", ".join(x for x in (f"partner {pid}" if pid else "", f"file {file}" if file else "",
                                         f"row {line}" if line is not None else "") if x)
            if text:
                out.append(f"{', '.join(f'{k}={v}' for k, v in keys.items())}: {text}")
    except duckdb.Error:
        return out
    return out


def suite_parameters(con: duckdb.DuckDBPyConnection, suite: dict) -> dict:
    """GX suite parameters ({"$PARAMETER": name} in an expectation's kwargs), each the one value its SQL returns
    from the warehouse, e.g. the number of survey waves loaded: the awareness marts may be empty only when it
    is 0 (expectations/README.md)."""
    return {name: con.execute(sql).fetchone()[0] for name, sql in (suite.get("parameters") or {}).items()}


# Expectation kwargs that name the columns an expectation reads
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_ROW_COUNT_TYPES = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """{(schema, table): its columns in table order} of the warehouse, in one catalog query (one per suite was
    ~5 ms each: ~15 % of a near-empty home's gate, issue 17)."""
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database() order by table_schema, table_name, ordinal_position").fetchall():
        out.setdefault((schema, table), []).append(column)
    return out


def suite_columns(con: duckdb.DuckDBPyConnection, suite: dict,
                  catalog: dict[tuple[str, str], list[str]] | None = None) -> list[str] | None:
    """The columns of a table suite's rows that its expectations, row conditions and row ids read, in table
    order (a national activity table is a million rows: read 3 columns, not 25). None (every column) for a
    query suite or an expectation type not known to read only the columns it names. `catalog`: the
    warehouse's table_columns, read once for every suite."""
    if suite.get("query"):
        return None
    schema, _, table = suite["table"].rpartition(".")
    cols = list((table_columns(con) if catalog is None else catalog).get((schema or "main", table), []))
    named = set(suite.get("row_id") or [])
    for e in suite.get("expectations", []):
        kwargs = e.get("kwargs", {})
        if not (e.get("type", "").startswith("expect_column_") or e.get("type") in _ROW_COUNT_TYPES):
            return None
        named |= {kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)}
        cond = kwargs.get("row_condition") or ""
        named |= {c for c in cols if re.search(rf"\b{re.escape(c)}\b", cond)}
    if not named <= set(cols):
        return None                          # a column the table lacks: let the expectation say so
    return [c for c in cols if c in named] or cols[:1]


_ROW_HASH = "__phakhi_row_hash"


def frame_for(con: duckdb.DuckDBPyConnection, suite: dict,
              catalog: dict[tuple[str, str], list[str]] | None = None, row_hashes: bool = False):
    """The rows a suite validates; with `row_hashes`, (frame, each row's 64-bit hash in the frame's order), the
    hashes taken by DuckDB in the same query (suite_digest)."""
    if suite.get("query"):
        select = f"select * from ({suite['query']})"
    else:
        cols = suite_columns(con, suite, catalog)
        names = "*" if cols is None else ", ".join(f'"{c}"' for c in cols)
        select = f"select {names} from {suite['table']}"
    # ordered: sample failing rows in reports must not depend on DuckDB's parallel scan order (the hash, a function
    # of the row, orders only identical rows)
    if not row_hashes:
        return con.execute(f"{select} order by all").df()
    frame = con.execute(f"select r.*, hash(r) as {_ROW_HASH} from ({select}) as r order by all").df()
    return frame, frame.pop(_ROW_HASH).to_numpy()


def suite_digest(spec: dict, frame: pd.DataFrame, row_hashes, parameters: dict | None = None) -> str:
    """The suite, its parameters and exactly the rows it validates (column names and types, each row's hash in
    order): equal digests, equal verdicts (with_tolerance is a function of the rows). The row hashes are DuckDB's,
    taken while the rows are read: pandas' hash of the frame was ~10 % of a quarter-scale month's gate (py-spy), the
    most of it the activity ids of stg_partner_reports__activities, a table growing with every month."""
    import hashlib

    h = hashlib.sha256(json.dumps([spec, parameters or {}], sort_keys=True, default=str).encode())
    h.update(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(row_hashes.tobytes())
    return h.hexdigest()[:32]


# GX compares a column with its bounds in one vectorised step only for int64 and float64 columns; any other integer
# (DuckDB's INTEGER arrives as int32) goes value by value through Python (Series.map): the participants of every
# activity, a million rows at national size. The same values as int64 give the same verdicts.
_NARROW_INTS = ("int8", "int16", "int32", "uint8", "uint16", "uint32")


def widened(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its narrow integer columns as int64 (a new frame when any is, sharing the other columns)."""
    narrow = {c: "int64" for c, t in frame.dtypes.items() if str(t) in _NARROW_INTS}
    return frame.astype(narrow, copy=False) if narrow else frame


def read_suite(con: duckdb.DuckDBPyConnection, spec: dict,
               catalog: dict[tuple[str, str], list[str]] | None = None) -> tuple[pd.DataFrame, dict, str]:
    """What the gate validates for one suite: its rows (narrow integers widened, tolerance columns added), its
    parameters and the digest that lets an unchanged suite keep its checks (taken of the rows as DuckDB gave them:
    widening and tolerance derive from the rows)."""
    frame, row_hashes = frame_for(con, spec, catalog, row_hashes=True)
    parameters = suite_parameters(con, spec)
    digest = suite_digest(spec, frame, row_hashes, parameters)
    # consolidated (a deep copy has one block per dtype): GX filters the whole frame by a boolean mask several times
    # per expectation, and pandas merged the blocks of every filtered copy again when the frame's were split - as
    # popping the row hashes, widening and tolerating split them (fct_ghg_reductions' validation 0.30 -> 0.17 s CPU
    # at national size)
    return with_tolerance(widened(frame), spec).copy(), parameters, digest


def run_gate(warehouse: Path, suites: list[dict] | None = None, previous: dict | None = None,
             template_cache: Path | None = None) -> GateResult:
    """Every suite over the warehouse. `previous` (GateResult.memo() of the live publication's gate, same code):
    a suite whose digest is unchanged - the same expectations over byte-identical rows - keeps its passed
    checks without re-validation (scoped to what changed; `phakhi refresh --full-gate` re-validates all).
    `template_cache`: a folder keeping the Data Docs' compiled templates between gates (data_docs_views)."""
    import sys

    from phakhi.warm_imports import warm_imports

    # GX in the background while the first suites' rows are read, unless imported already (while dbt ran)
    warming = None if "great_expectations" in sys.modules else warm_imports("great_expectations")
    suites = load_suites() if suites is None else suites
    gx_context = _LazyContext(warming, template_cache, [s["name"] for s in suites])
    parameters, digests, reused = {}, {}, []
    checks: list[Check] = []
    order = {s["name"]: i for i, s in enumerate(suites)}
    validated = []
    # One suite at a time: its rows are read, digested, validated (unless reused) and let go before the next
    # suite's are read (holding every suite's frame at once - stg_partner_reports__activities is a million rows
    # at national size - put gigabytes on the refresh's peak).
    with duckdb.connect(str(warehouse), read_only=True) as con:
        catalog = table_columns(con)
        for spec in suites:
            name = spec["name"]
            frame, parameters[name], digests[name] = read_suite(con, spec, catalog)
            memo = (previous or {}).get(name)
            if memo and memo.get("digest") == digests[name] and memo.get("checks"):
                reused.append(name)
                checks += [Check(**c) for c in memo["checks"]]
                continue
            validated.append(spec)
            checks += _validate(gx_context.ctx, gx_context.source, spec, frame, parameters[name])
            del frame
        checks.sort(key=lambda c: order.get(c.suite, len(order)))    # suite order, reused or not (stable)
        by_name = {spec["name"]: spec for spec in validated}
        # reused checks are traced already; the same connection (a DuckDB instance costs ~20 ms to open)
        for c in [c for c in checks if not c.success and c.sample_rows and c.suite in by_name]:
            c.sources = trace_sources(con, by_name[c.suite], c.sample_rows)
    ctx = gx_context.ctx
    ctx.build_data_docs()
    site = ctx.get_docs_sites_urls()[0].get("site_url")
    docs = Path(site.removeprefix("file://")).parent if site else None
    if docs is not None:
        from phakhi.quality.data_docs import make_offline

        make_offline(docs)
    return GateResult(checks, data_docs=docs, digests=digests, reused=reused)


class _LazyContext:
    """One ephemeral GX context for every suite, made when first needed: reading and digesting the suites'
    rows needs no GX, so its import (started in the background by run_gate) overlaps them. Its pandas data
    source holds one DataFrame asset per suite in `assets` (named for the suite, batch definition "all_rows")."""

    def __init__(self, warming=None, template_cache: Path | None = None, assets: list[str] = ()):
        self._ctx = self._source = None
        self._warming = warming
        self._template_cache = template_cache
        self._assets = list(assets)

    @property
    def ctx(self):
        if self._ctx is None:
            if self._warming is not None:      # never two threads importing GX's modules at once
                self._warming.join()
            import great_expectations as gx

            self._ctx = gx.get_context(mode="ephemeral")
            self._ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
            if self._template_cache is not None:
                from phakhi.quality.data_docs_views import data_docs_site

                sites = self._ctx.variables.data_docs_sites
                self._ctx.variables.data_docs_sites = {name: data_docs_site(site, self._template_cache)
                                                       for name, site in sites.items()}
            # Every asset in the data source's configuration at once: GX saves the context's whole configuration
            # (as YAML) after each asset or batch definition added, so adding them one by one grew with the
            # square of the suites (~6 % of a national month's gate).
            self._source = self._ctx.data_sources.add_pandas("phakhi_warehouse", assets=[
                {"name": name, "type": "dataframe", "batch_definitions": [{"name": "all_rows"}]}
                for name in self._assets])
        return self._ctx

    @property
    def source(self):
        self.ctx
        return self._source


def _validate(ctx, source, spec: dict, frame: pd.DataFrame, parameters: dict) -> list[Check]:
    """One suite over its DataFrame: one checkpoint run (each suite has its own DataFrame batch parameter)."""
    import great_expectations as gx

    suite = ctx.suites.add(gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"]))
    batch = source.get_asset(spec["name"]).get_batch_definition("all_rows")
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=spec["name"], data=batch, suite=suite))
    # No "unexpected index query": for a DataFrame GX writes every failing row's position in this in-memory frame
    # into a `df.filter(items=[...])` string that no check and no Data Docs page shows (the failing rows' ids are
    # in the sample), at the cost of a filter of the frame per expectation (~8 % of the validation's CPU at
    # national size).
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 10, "return_unexpected_index_query": False}
    if spec.get("row_id"):
        result_format["unexpected_index_column_names"] = spec["row_id"]
    # No UpdateDataDocsAction per checkpoint: it rebuilt the whole Data Docs site (recompiling its Jinja
    # templates) after every suite, 70 % of the gate's time; the site is built once by run_gate from the stored
    # validation results (the same pages).
    checkpoint = gx.Checkpoint(name=f"gate_{vd.name}", validation_definitions=[vd], actions=[],
                               result_format=result_format)
    result = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters)
    checks = []
    for run in result.run_results.values():
        for r in run.to_json_dict()["results"]:
            cfg, res = r["expectation_config"], r.get("result", {})
            kwargs = {k: v for k, v in cfg["kwargs"].items() if k not in ("batch_id",)}
            checks.append(Check(
                suite=vd.name, expectation=cfg["type"], column=kwargs.get("column"),
                severity=str(cfg.get("severity") or "critical").lower(), success=bool(r["success"]),
                element_count=res.get("element_count"), unexpected_count=res.get("unexpected_count"),
                sample=res.get("partial_unexpected_list") or [], observed=res.get("observed_value"),
                sample_rows=(res.get("partial_unexpected_index_list") or [])[:10],
                kwargs=kwargs))
    return checks
