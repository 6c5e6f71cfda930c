"""Benchmark: seconds per dbt model against an existing warehouse, without running a refresh or dbt build.

    cp $HOME_OF_A_RUN/warehouse/build.duckdb /tmp/x/            # always a COPY: the script may write into it
    .venv/bin/python benchmarks/models.py --warehouse /tmp/x/build.duckdb
    .venv/bin/python benchmarks/models.py --warehouse /tmp/x/build.duckdb mart_peer_matches --repeat 3
    .venv/bin/python benchmarks/models.py --warehouse /tmp/x/build.duckdb --check   # compare with the tables there

Python models (dbt_project/models/**/<name>.py) run their own `model(dbt, session)` with a small stand-in for
dbt's object: `dbt.ref(name)` is the table of that name already in the warehouse (as the build left it), so the
figure is the model's own work (reading its inputs as DataFrames, computing, building the result), without
dbt's start-up or the write-back. SQL models (named with --sql) are compiled by `dbt compile` against the warehouse
and their SELECT run straight in DuckDB (wall time of `create temp table ... as <compiled sql>`).

--network N: mart_partner_network's function on a synthetic graph of N partners (the national warehouse has no
links yet), with SAMPLE's density (33 links per 60 partners): "clustered" like SAMPLE (groups of 3-8 partners),
"random" pairs across the country (one component of ~1,500 partners) and "overlapping" groups (one component of
~3,400): timed in parts (betweenness, communities, the whole function, CPU seconds) and against the
implementation before issue 17 (tests/oracle_network.py), whose result must be identical.

--check compares each Python model's result with the table of the same name in the warehouse (the build's):
same rows and values (floats to 1e-9 relative), so a faster model is also shown to give the published figures.
Wall-clock seconds, best of --repeat, on whatever else the machine is running.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODELS = REPO / "dbt_project" / "models"
SLOW_PYTHON = ["mart_partner_network", "mart_peer_matches", "mart_awareness_baseline", "mart_awareness_reliability"]
SLOW_SQL = ["fct_activities", "mart_best_practices"]


class _Config:
    def __init__(self, values: dict):
        self.values = values

    def __call__(self, **_):
        return None

    def get(self, key, default=None):
        return self.values.get(key, default)


class StandIn:
    """What the Python models use of dbt's object: ref(name).df() and config(...)/config.get(key)."""

    def __init__(self, con, config: dict):
        self.con, self.config = con, _Config(config)
        self.where = {name: schema for schema, name in
                      con.execute("select table_schema, table_name from information_schema.tables "
                                  "where table_catalog = current_database()").fetchall()}

    def ref(self, name: str):
        return self.con.sql(f'select * from "{self.where[name]}"."{name}"')


def python_model(name: str):
    path = next(MODELS.rglob(f"{name}.py"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


def check(con, name: str, result) -> str:
    import numpy as np
    import pandas as pd

    schema = StandIn(con, {}).where.get(name)
    if schema is None:
        return "no table to compare"
    built = con.execute(f'select * from "{schema}"."{name}"').df()
    cols = [c for c in built.columns if c in result.columns]
    key = cols[: min(len(cols), 8)]
    a = result[cols].sort_values(key, kind="stable").reset_index(drop=True)
    b = built[cols].sort_values(key, kind="stable").reset_index(drop=True)
    if len(a) != len(b):
        return f"DIFFERENT: {len(a)} rows vs {len(b)} in the warehouse"
    worst = 0.0
    for c in cols:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            if not np.array_equal(np.isnan(xv), np.isnan(yv)):
                return f"DIFFERENT: nulls of {c}"
            ok = ~np.isnan(xv)
            rel = np.abs(xv[ok] - yv[ok]) / np.maximum(np.abs(yv[ok]), 1e-300)
            worst = max(worst, float(rel.max()) if len(rel) else 0.0)
            if len(rel) and rel.max() > 1e-9:
                return f"DIFFERENT: {c} (relative difference up to {rel.max():.2e})"
        elif not (x.astype(object).where(x.notna(), None).tolist() == y.astype(object).where(y.notna(), None).tolist()):
            return f"DIFFERENT: {c}"
    return f"same {len(a)} rows (floats: largest relative difference {worst:.1e})"


def time_python(con, name: str, repeat: int, config: dict, compare: bool) -> None:
    model = python_model(name)
    best, result = float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = model(StandIn(con, config), con)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, wall)
    note = check(con, name, result) if compare else ""
    print(f"{name:34s} python {best:8.2f} s wall (cpu {cpu:.2f} s)  {len(result):>9,} rows  {note}", flush=True)


def synthetic_links(n: int, kind: str, seed: int = 17):
    import random

    import pandas as pd

    rnd = random.Random(seed)
    ids = [f"P{i:05d}" for i in range(n)]
    n_links = round(n * 33 / 60)
    rows = []
    if kind in ("clustered", "overlapping"):
        pool = ids[:]
        rnd.shuffle(pool)
        while len(rows) < n_links:
            if kind == "clustered":       # groups of 3-8 partners apart from each other (SAMPLE's shape)
                size = rnd.randint(3, 8)
                members, pool = pool[:size], pool[size:] or rnd.sample(ids, len(ids))
            else:                         # groups drawn from the whole country: they chain into a giant component
                members = rnd.sample(ids, rnd.randint(3, 8))
            for a, b in zip(members, members[1:]):
                rows.append((a, b))
            if rnd.random() < 0.5:
                rows.append((members[0], members[-1]))
    else:
        while len(rows) < n_links:
            a, b = rnd.sample(ids, 2)
            rows.append((a, b))
    links = pd.DataFrame([{"partner_a": min(a, b), "partner_b": max(a, b),
                           "link_type": rnd.choice(["joint_activity", "joint_activity", "shared_credential",
                                                    "parent_child"]), "weight": rnd.choice([1, 1, 2, 3])}
                          for a, b in rows[:n_links]])
    return ids, links.drop_duplicates(["partner_a", "partner_b", "link_type"])


def time_network(n: int) -> None:
    import networkx as nx

    from phakhi.linking.network import betweenness, build_graph, network_metrics

    sys.path.insert(0, str(REPO / "tests"))
    import oracle_network

    for kind in ("clustered", "random", "overlapping"):
        ids, links = synthetic_links(n, kind)
        g = build_graph(ids, links)
        comps = sorted((len(c) for c in nx.connected_components(g)), reverse=True)
        t = time.process_time()
        betweenness(g, list(nx.connected_components(g)))
        between = time.process_time() - t
        t = time.process_time()
        linked = g.subgraph([v for v in g if g.degree(v) > 0])
        nx.community.greedy_modularity_communities(linked, weight="weight")
        communities = time.process_time() - t
        t = time.process_time()
        new = network_metrics(ids, links)
        whole = time.process_time() - t
        t = time.process_time()
        old = oracle_network.network_metrics(ids, links)
        before = time.process_time() - t
        same = new.equals(old)
        print(f"network {kind:11s} {n:,} partners, {g.number_of_edges():,} links, largest component {comps[0]:,}: "
              f"betweenness {between:.2f} s, communities {communities:.2f} s, whole {whole:.2f} s CPU "
              f"(before: {before:.2f} s CPU){'  identical' if same else '  DIFFERENT'}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=f"Python models (default: {' '.join(SLOW_PYTHON)})")
    ap.add_argument("--warehouse", type=Path, help="a COPY of a built warehouse (build.duckdb)")
    ap.add_argument("--network", type=int, metavar="N", help="time the network metrics on synthetic graphs of N partners")
    ap.add_argument("--sql", nargs="*", default=None, help=f"SQL models to time (bare --sql: {' '.join(SLOW_SQL)})")
    ap.add_argument("--period", default=None, help="PHAKHI_PERIOD for compiling SQL models (default: the warehouse's)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="compare Python models' results with the warehouse's tables")
    ap.add_argument("--min-cell-n", type=int, default=30)
    args = ap.parse_args(argv)
    if args.network:
        time_network(args.network)
    if args.warehouse is None:
        if not args.network:
            ap.error("give --warehouse (a copy of a built warehouse) and/or --network N")
        return

    import duckdb

    import phakhi  # noqa: F401  (telemetry opt-outs)

    con = duckdb.connect(str(args.warehouse))
    partners = con.execute("select count(*) from information_schema.tables where table_name = 'dim_partner_versions'")
    print(f"warehouse {args.warehouse} ({args.warehouse.stat().st_size / 1e6:,.0f} MB; "
          f"{'partners table present' if partners.fetchone()[0] else 'no partner table'})", flush=True)
    names = args.models or (SLOW_PYTHON if args.sql is None else [])
    for name in names:
        time_python(con, name, args.repeat, {"min_cell_n": args.min_cell_n}, args.check)
    if args.sql is not None:
        period = args.period or con.execute("select max(period) from marts.mart_partner_progress").fetchone()[0]
        con.close()                        # dbt compile opens the warehouse itself
        time_sql(args.warehouse, args.sql or SLOW_SQL, args.repeat, str(period))
    else:
        con.close()


def time_sql(warehouse: Path, names: list[str], repeat: int, period: str) -> None:
    import duckdb

    env = {**os.environ, "PHAKHI_WAREHOUSE": str(warehouse), "PHAKHI_PERIOD": period,
           "PHAKHI_HISTORY": str(warehouse.with_name("history.duckdb")), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run([str(dbt), "compile", "-q", "-s", *names, "--project-dir", str(REPO / "dbt_project"),
                    "--profiles-dir", str(REPO / "dbt_project")], env=env, check=True, cwd=REPO / "dbt_project",
                   stdout=subprocess.DEVNULL)
    compiled = REPO / "dbt_project" / "target" / "compiled" / "phakhi" / "models"
    con = duckdb.connect(str(warehouse))
    try:
        for name in names:
            sql = next(compiled.rglob(f"{name}.sql")).read_text(encoding="utf-8")
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                con.execute(f"create or replace temp table bench_{name} as {sql}")
                best = min(best, time.perf_counter() - t0)
            n = con.execute(f"select count(*) from bench_{name}").fetchone()[0]
            print(f"{name:34s} sql    {best:8.2f} s wall  {n:>9,} rows", flush=True)
    finally:
        con.close()


if __name__ == "__main__":
    main()
