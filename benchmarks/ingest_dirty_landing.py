"""A landing full of bad rows, for `benchmarks/ingest_compare.py` (the same quarantine, reason for reason, before
and after a change to ingest): a SAMPLE registry, then 40 activity, 40 GHG and 40 inventory files whose cells
are, one in seven, an edge value of tests/test_contract_columns.COMMON (Thai digits, B.E. and C.E. years,
blanks and dashes, NaN, out-of-range and non-finite numbers, date cells, province variants, units, unknown
partners), as .xlsx (title block, footer line), UTF-8 CSV and cp874 CSV. Deterministic (seeded).

    .venv/bin/python benchmarks/ingest_dirty_landing.py --registry var/landing/partner_registry --out /tmp/dirty
    # then: ingest_compare.py dump --landing /tmp/dirty/landing ... with each checkout, and compare
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def write(registry: Path, out: Path, seed: int = 1917) -> int:
    from test_contract_columns import COMMON, _example

    from phakhi.doctor import csv_bytes, xlsx_bytes
    from phakhi.ingest.contracts import load_contract

    land = out / "landing"
    shutil.rmtree(land, ignore_errors=True)
    shutil.copytree(registry, land / "partner_registry")
    rng = random.Random(seed)

    def for_csv(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, (date, datetime)):
            return v.strftime("%d/%m/") + str(v.year + 543)
        return v

    n = 0
    for fam in ("activity_reports", "ghg_reductions", "partner_inventories"):
        c = load_contract(fam)
        head = [col.label_th or col.name for col in c.columns]
        good = {col.name: (col.allowed[0] if col.type == "enum" and col.allowed else _example(col)) for col in c.columns}
        folder = land / fam / "dirty"
        folder.mkdir(parents=True)
        for f in range(40):
            rows = []
            for _ in range(rng.randint(3, 25)):
                r = dict(good)
                if "partner_id" in r:
                    r["partner_id"] = f"P{f + 1:03d}" if rng.random() < 0.95 else "P999"
                for col in c.columns:
                    if rng.random() < 0.15:
                        r[col.name] = rng.choice(COMMON)
                rows.append([r[col.name] for col in c.columns])
            if f % 3 == 0:
                cells = [[v if not (isinstance(v, float) and math.isinf(v)) else "inf" for v in row] for row in rows]
                (folder / f"f{f:03d}.xlsx").write_bytes(
                    xlsx_bytes([["รายงาน"], []] + [head] + cells + [["ลงชื่อ ....... ผู้รายงาน"]]))
            else:
                cells = [[for_csv(v) for v in row] for row in rows]
                try:
                    data = csv_bytes(head, cells, encoding="utf-8" if f % 3 == 1 else "cp874")
                except UnicodeEncodeError:
                    data = csv_bytes(head, cells, encoding="utf-8")
                (folder / f"f{f:03d}.csv").write_bytes(data)
            n += 1
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--registry", type=Path, required=True, help="a landing's partner_registry folder (SAMPLE's)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1917)
    args = ap.parse_args(argv)
    n = write(args.registry, args.out, args.seed)
    print(f"{n} files with bad rows under {args.out / 'landing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
