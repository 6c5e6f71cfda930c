"""Same raw tables and quarantine before and after a change to ingest: ingest a landing area with one code
checkout, dump every raw table, and compare two dumps.

    # with the code of main, then with this branch (each into a fresh PHAKHI_HOME holding a copy of the landing)
    /work/main/.venv/bin/python benchmarks/ingest_compare.py dump --repo /work/main --landing L --out /tmp/a
    .venv/bin/python benchmarks/ingest_compare.py dump --landing L --out /tmp/b
    .venv/bin/python benchmarks/ingest_compare.py compare /tmp/a /tmp/b

With `--then L2 [--then L3 ...]` the same home ingests the first landing, then each later one in turn (its
files copied over the landing area, and files it lacks removed): the dump is of the last ingest, so a new
month, a changed file or a withdrawn one goes through the path a refresh takes on a kept history.
`--apart-from N` lowers the file count from which a family settles in its own process (landing.APART_FROM_FILES).

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


def _sync(src: Path, dest: Path) -> None:
    """`dest` holds exactly `src`'s files (copied with their times; unchanged ones left as they are)."""
    want = {p.relative_to(src) for p in src.rglob("*") if p.is_file() or p.is_symlink()}
    for p in sorted(dest.rglob("*"), reverse=True):
        rel = p.relative_to(dest)
        if (p.is_file() or p.is_symlink()) and rel not in want:
            p.unlink()
    for rel in sorted(want):
        a, b = src / rel, dest / rel
        if b.exists() and not a.is_symlink():
            sa, sb = a.stat(), b.stat()
            if sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns and a.read_bytes() == b.read_bytes():
                continue
        b.parent.mkdir(parents=True, exist_ok=True)
        if b.exists() or b.is_symlink():
            b.unlink()
        if a.is_symlink():
            os.symlink(os.readlink(a), b)
        else:
            shutil.copy2(a, b)


def dump(landing: Path, out: Path, repo: Path, spill: bool = True, then: list[Path] | None = None,
         apart_from: int | None = None) -> None:
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
        if apart_from is not None and hasattr(ingest, "APART_FROM_FILES"):
            ingest.APART_FROM_FILES = apart_from
        run_families = None
        if spill and hasattr(ingest, "landed_dir"):     # what the refresh's per-family task does

            def run_families(jobs, run_at):
                return [ingest.settle_family_cached(paths, j.family, j.files, j.known, run_at,
                                                    spill=ingest.landed_dir(paths)) for j in jobs]
        for later in then or []:          # the earlier landings, each ingested and loaded as a refresh does
            results = ingest.ingest_landing_settled(paths, run_families=run_families)
            ingest.load_raw(home / "warehouse.duckdb", results)
            _print_loads(ingest)
            if hasattr(results, "release"):
                results.release()
            _sync(later, home / "landing")
        results = ingest.ingest_landing_settled(paths, run_families=run_families)
        spilled = sum(type(r).__name__ == "SpilledResult" for r in results)
        db = home / "warehouse.duckdb"
        ingest.load_raw(db, results)
        _print_loads(ingest)
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


def _print_loads(ingest) -> None:
    """How load_raw wrote each raw table (a checkout that loads in proportion to what changed says)."""
    if getattr(ingest, "LOADS", None):
        print("load_raw: " + ", ".join(f"{f} {how}" for f, how in sorted(ingest.LOADS.items())))


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
    d.add_argument("--then", type=Path, action="append", default=[],
                   help="a later landing ingested next in the same home (repeatable)")
    d.add_argument("--apart-from", type=int, default=None, help="landing.APART_FROM_FILES for this dump")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        dump(args.landing, args.out, args.repo, spill=not args.no_spill, then=args.then, apart_from=args.apart_from)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
