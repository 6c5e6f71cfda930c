"""Same raw tables and quarantine before and after a change to ingest: ingest a landing area with one code
checkout, dump every raw table, and compare two dumps.

    # with the code of main, then with this branch (each into a fresh PHAKHI_HOME holding a copy of the landing)
    /work/main/.venv/bin/python benchmarks/ingest_compare.py dump --repo /work/main --landing L --out /tmp/a
    .venv/bin/python benchmarks/ingest_compare.py dump --landing L --out /tmp/b
    .venv/bin/python benchmarks/ingest_compare.py compare /tmp/a /tmp/b

A dump is one Parquet file per raw table (raw.<family>, raw.quarantine, raw.ingest_manifest, ...), rows in a
canonical order, each with its position in the raw table (`_raw_position`, DuckDB's rowid: the row order is
compared too); `received_at` (the run's clock) is left out. `compare` prints the first difference per table
and exits 1 when any table differs.

The dump ingests as the refresh does: with a checkout whose landing module can spill settled rows to disk
(`landed_dir`, `settle_family_cached(spill=...)`), every family but the registry is spilled as it settles and
load_raw copies it from the file (--no-spill: everything held in memory, as `phakhi ingest --landing`).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VOLATILE = {"received_at"}


def dump(landing: Path, out: Path, repo: Path, spill: bool = True) -> None:
    sys.path.insert(0, str(repo))
    home = Path(tempfile.mkdtemp(prefix="ingest-compare-"))
    try:
        shutil.copytree(landing, home / "landing")
        os.environ["PHAKHI_HOME"] = str(home)
        os.environ.setdefault("PHAKHI_PROGRESS", "0")
        import duckdb

        import phakhi  # noqa: F401
        from phakhi.ingest import landing as ingest
        from phakhi.settings import Paths

        assert Path(ingest.__file__).resolve().is_relative_to(repo.resolve()), ingest.__file__
        paths = Paths(home)
        run_families = None
        if spill and hasattr(ingest, "landed_dir"):     # what the refresh's per-family task does

            def run_families(jobs, run_at):
                return [ingest.settle_family_cached(paths, j.family, j.files, j.known, run_at,
                                                    spill=ingest.landed_dir(paths)) for j in jobs]
        results = ingest.ingest_landing_settled(paths, run_families=run_families)
        spilled = sum(type(r).__name__ == "SpilledResult" for r in results)
        db = home / "warehouse.duckdb"
        ingest.load_raw(db, results)
        out.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(db)) as con:
            for (table,) in con.execute("select table_name from information_schema.tables "
                                        "where table_schema = 'raw' order by 1").fetchall():
                cols = [c for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'raw' "
                    "and table_name = ? order by ordinal_position", [table]).fetchall() if c not in VOLATILE]
                sel = ", ".join(["rowid as _raw_position"] + [f'"{c}"' for c in cols])
                con.execute(f"copy (select {sel} from raw.\"{table}\" order by all) to '{out / table}.parquet' "
                            "(format parquet)")
        print(f"dumped {len(list(out.glob('*.parquet')))} raw tables of {landing} with {repo} into {out} "
              f"({spilled} families spilled to disk as they settled)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def compare(a: Path, b: Path) -> int:
    import duckdb

    names = sorted({p.stem for p in a.glob("*.parquet")} | {p.stem for p in b.glob("*.parquet")})
    bad = 0
    con = duckdb.connect()
    for t in names:
        pa, pb = a / f"{t}.parquet", b / f"{t}.parquet"
        if not (pa.exists() and pb.exists()):
            print(f"{t}: only in {'the first' if pa.exists() else 'the second'} dump")
            bad += 1
            continue
        ta, tb = (con.execute(f"describe select * from '{p}'").fetchall() for p in (pa, pb))
        n = con.execute(f"select count(*) from '{pa}'").fetchone()[0]
        diff = con.execute(f"select count(*) from ((select * from '{pa}' except all select * from '{pb}') union all "
                           f"(select * from '{pb}' except all select * from '{pa}'))").fetchone()[0] if ta == tb else None
        if ta != tb or diff:
            bad += 1
            print(f"{t}: DIFFERENT ({'columns/types differ' if ta != tb else f'{diff} rows differ'})")
        else:
            print(f"{t}: same ({n:,} rows)")
    print("identical" if not bad else f"{bad} table(s) differ")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--landing", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--repo", type=Path, default=REPO, help="the code checkout to ingest with")
    d.add_argument("--no-spill", action="store_true", help="hold every family in memory (no spill to disk)")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        dump(args.landing, args.out, args.repo, spill=not args.no_spill)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
