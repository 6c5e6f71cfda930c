"""Are two warehouses' published tables the same? Every base table of the marts and intermediate schemas, compared
as multisets of rows (order-free: `except all` both ways, exact values), with its columns (names, types, order).

    .venv/bin/python benchmarks/marts_compare.py BEFORE/warehouse/phakhi.duckdb AFTER/warehouse/phakhi.duckdb

    ... --ignore-run-dependent      # two homes refreshed separately (see RUN_DEPENDENT)

Prints one line per table (rows, rows only in one of the two) and, for a table that differs, the columns whose
values differ; exits 1 on any difference. Used to show that a change to the dbt stage (incremental models,
cheaper Python models, folded tests) publishes the same figures, on SAMPLE and on national homes (11 months,
then the 12th on top).
"""
from __future__ import annotations

import argparse
import sys

import duckdb

SCHEMAS = ("marts", "intermediate")
# Columns that differ between two homes refreshed at different times from the same landing, whatever the code:
# the partner-registry snapshot's validity start (the time of the snapshot) and the version id made from it, the
# row fingerprints that include that id, and a file's hash (SAMPLE's workbooks carry the time they were written).
RUN_DEPENDENT = ("partner_version_id", "valid_from", "partner_version_valid_from", "row_hash", "file_hash",
                 "dbt_valid_from", "dbt_updated_at", "dbt_scd_id")


def tables(con, alias: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    rows = con.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = ? and t.table_type = 'BASE TABLE' and c.table_schema in ? "
        "order by c.table_schema, c.table_name, c.ordinal_position", [alias, list(SCHEMAS)]).fetchall()
    out: dict = {}
    for schema, table, column, type_ in rows:
        out.setdefault((schema, table), []).append((column, type_))
    return out


def compare(before: str, after: str, ignore: tuple[str, ...] = ()) -> list[dict]:
    con = duckdb.connect()
    con.execute(f"attach '{before}' as a (read_only)")
    con.execute(f"attach '{after}' as b (read_only)")
    ta, tb = tables(con, "a"), tables(con, "b")
    out = []
    for key in sorted(set(ta) | set(tb)):
        name = ".".join(key)
        if key not in ta or key not in tb:
            out.append({"table": name, "same": False, "note": "only in " + ("after" if key in tb else "before")})
            continue
        if ta[key] != tb[key]:
            out.append({"table": name, "same": False, "note": f"columns differ: {ta[key]} / {tb[key]}"})
            continue
        cols = ", ".join(f'"{c}"' for c, _ in ta[key] if c not in ignore) or "1"
        qa, qb = (f'(select {cols} from {db}."{key[0]}"."{key[1]}")' for db in ("a", "b"))
        n_a, n_b = (con.execute(f"select count(*) from {q}").fetchone()[0] for q in (qa, qb))
        only_a = con.execute(f"select count(*) from (select * from {qa} except all select * from {qb})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select * from {qb} except all select * from {qa})").fetchone()[0]
        row = {"table": name, "rows": n_a, "rows_after": n_b, "only_before": only_a, "only_after": only_b,
               "same": n_a == n_b and only_a == only_b == 0}
        if not row["same"]:
            row["columns"] = [c for c, _ in ta[key] if c not in ignore and con.execute(
                f'select count(*) from (select "{c}" from {qa} except all select "{c}" from {qb})').fetchone()[0]]
        out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--ignore-run-dependent", action="store_true", help=f"leave out {', '.join(RUN_DEPENDENT)}")
    args = ap.parse_args()
    result = compare(args.before, args.after, RUN_DEPENDENT if args.ignore_run_dependent else ())
    for r in result:
        if "note" in r:
            print(f"{r['table']:55s} DIFFERS: {r['note']}")
        else:
            state = "same" if r["same"] else f"DIFFERS in {r['columns']}"
            print(f"{r['table']:55s} {r['rows']:>9,} rows  only before {r['only_before']:,}  only after "
                  f"{r['only_after']:,}  {state}")
    differ = [r["table"] for r in result if not r["same"]]
    print(f"{len(result)} tables, {len(result) - len(differ)} the same" + (f"; differ: {differ}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
