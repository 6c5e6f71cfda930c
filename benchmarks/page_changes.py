"""Which parts of each partner page a new month changes: the page data (phakhi.publish.pages.partner_stream) of
two warehouses - e.g. a home copied before its 12th month and the same home after it - compared section by
section (and field by field for the partner's own row `p`). Prints how many pages are unchanged, how many
change each section, and the combinations; reads the warehouses only. A page can be reused without rendering
only if nothing it shows changed, month-wide parts (the month, the 12-month window, peer quantiles, rankings)
included.

    .venv/bin/python benchmarks/page_changes.py /tmp/q11 2025-11 /tmp/q12 2025-12
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _digest(value) -> str:
    from phakhi.publish.site import plain

    text = json.dumps(plain(value), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def page_parts(home: Path, period: str) -> dict[str, dict[str, str]]:
    """slug -> {section: digest} (and "p.<field>" for the partner's row), for every partner page of a home."""
    from phakhi.publish.exposures import dashboard_tables
    from phakhi.publish.pages import WORKER_DUCKDB, WORKER_DUCKDB_SETTINGS, Codebook, lazy_warehouse, partner_stream
    from phakhi.publish.partner_csv import KnownFile

    WORKER_DUCKDB.update(WORKER_DUCKDB_SETTINGS)
    wh = lazy_warehouse(home / "warehouse" / "phakhi.duckdb", dashboard_tables(home / "dbt" / "target" / "manifest.json"))
    codes = Codebook(wh)
    out = {}
    for slug, d in partner_stream(wh, codes, period, 25):
        d["files"] = sorted((rel, data.sha256 if isinstance(data, KnownFile) else hashlib.sha256(data).hexdigest())
                            for rel, data in d.pop("files", []))
        d.pop("hashes", None)           # every landed file's digest: the same table on every page
        out[slug] = {k: _digest(v) for k, v in d.items()} | {f"p.{k}": _digest(v) for k, v in d["p"].items()}
    return out


OWN_ROWS = {"files", "claims", "claims_csv", "activities", "activities_csv", "credentials", "credentials_csv",
            "disputes", "registry"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("home_a", type=Path)
    ap.add_argument("period_a")
    ap.add_argument("home_b", type=Path)
    ap.add_argument("period_b")
    args = ap.parse_args()
    a, b = page_parts(args.home_a, args.period_a), page_parts(args.home_b, args.period_b)
    both = sorted(set(a) & set(b))
    changed: collections.Counter = collections.Counter()
    combos: collections.Counter = collections.Counter()
    own_rows_same = 0
    for slug in both:
        diff = {k for k in set(a[slug]) | set(b[slug]) if a[slug].get(k) != b[slug].get(k)}
        changed.update(diff)
        combos[tuple(sorted(k for k in diff if not k.startswith("p.") and k != "p")) + (("p",) if "p" in diff else ())] += 1
        own_rows_same += not (diff & OWN_ROWS)
    print(json.dumps({"pages_a": len(a), "pages_b": len(b), "in_both": len(both),
                      "identical_page_data": sum(a[s] == b[s] for s in both),
                      "no_new_rows_of_their_own": own_rows_same}))
    print("pages whose section (or field of p) changed:")
    for k, c in changed.most_common():
        print(f"  {c:7d}  {k}")
    print("combinations of changed sections:")
    for k, c in combos.most_common(15):
        print(f"  {c:7d}  {', '.join(k) or '(none)'}")


if __name__ == "__main__":
    main()
