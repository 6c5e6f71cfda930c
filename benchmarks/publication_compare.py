"""Two publications compared file by file, apart from ids and timestamps: the proof that a publish-stage change
leaves the published bytes as they were (same warehouse in, same files out). Prints the differences; exit
status 1 when any file differs, is missing on one side, or is only in one.

    .venv/bin/python benchmarks/publication_compare.py /tmp/a/home/publications/2025-12-r1 /tmp/b/home/publications/2025-12-r2

Normalised before comparing (both sides): each side's own publication id, run id, code version and home path, ISO timestamps, UUIDs
(dbt's invocation id) and the parse times of dbt's docs. Everything else must be byte-identical.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
EPOCH = re.compile(rb'"created_at": \d{10}\.\d+')       # dbt's docs: each node's parse time
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def ids_of(pub: Path) -> list[bytes]:
    """The publication id and run id a publication names (its manifest), longest first."""
    out = {pub.name, str(pub.resolve().parents[1])}     # and its home's path (dbt's docs name it)
    manifest = pub / "manifest.json"
    if manifest.is_file():
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        out |= {str(doc.get(k)) for k in ("publication_id", "run_id", "code_version") if doc.get(k)}
    out |= {x.lower() for x in out}            # the data package's name is lower case
    return sorted((x.encode() for x in out), key=len, reverse=True)


def normalised(data: bytes, ids: list[bytes]) -> bytes:
    for i in ids:
        data = data.replace(i, b"<ID>")
    data = TIMESTAMP.sub(b"<TIME>", data)
    data = EPOCH.sub(b'"created_at": <TIME>', data)
    return UUID.sub(b"<UUID>", data)


def files(pub: Path) -> dict[str, Path]:
    out = {}
    for root, _dirs, names in os.walk(pub):
        for n in names:
            p = Path(root) / n
            if not p.is_symlink():
                out[str(p.relative_to(pub))] = p
    return out


def compare(a: Path, b: Path, show: int = 20, also: list[str] = ()) -> int:
    fa, fb = files(a), files(b)
    extra = sorted((x.encode() for x in also), key=len, reverse=True)
    ida, idb = ids_of(a) + extra, ids_of(b) + extra
    only_a, only_b = sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))
    differ, same_bytes = [], 0
    for rel in sorted(set(fa) & set(fb)):
        x, y = fa[rel].read_bytes(), fb[rel].read_bytes()
        if x == y:
            same_bytes += 1
        elif normalised(x, ida) != normalised(y, idb):
            differ.append(rel)
    print(json.dumps({"files_a": len(fa), "files_b": len(fb), "identical_bytes": same_bytes,
                      "same_apart_from_ids_and_times": len(set(fa) & set(fb)) - same_bytes - len(differ),
                      "differ": len(differ), "only_a": len(only_a), "only_b": len(only_b)}))
    for label, items in (("differ", differ), ("only in a", only_a), ("only in b", only_b)):
        for rel in items[:show]:
            print(f"  {label}: {rel}")
    if differ:
        rel = differ[0]
        x, y = normalised(fa[rel].read_bytes(), ida), normalised(fb[rel].read_bytes(), idb)
        at = next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), min(len(x), len(y)))
        print(f"  first difference in {rel} at byte {at}:\n    a: {x[max(0, at - 80):at + 80]!r}\n"
              f"    b: {y[max(0, at - 80):at + 80]!r}")
        print("  sha256:", hashlib.sha256(x).hexdigest()[:16], hashlib.sha256(y).hexdigest()[:16])
    return 1 if differ or only_a or only_b else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--normalise", action="append", default=[], metavar="TEXT",
                    help="also replace TEXT on both sides, e.g. each checkout's path (dbt's docs name it)")
    args = ap.parse_args()
    sys.exit(compare(args.a, args.b, also=args.normalise))


if __name__ == "__main__":
    main()
