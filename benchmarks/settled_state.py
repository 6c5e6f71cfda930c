"""Loading and saving the kept settled states (phakhi/ingest/settled.py), what a new month pays per family
before and after settling its new files: CPU seconds, best of N passes (a figure that holds on a loaded
machine), with the cycle collector paused as the refresh pauses it.

    .venv/bin/python benchmarks/settled_state.py --home /work/m26-h11          # any home after a refresh
    .venv/bin/python benchmarks/settled_state.py --home /work/m26-h11 --repo /work/main   # another checkout

"+month s": saving a month on top of the kept state (its last twelfth of files standing in for the month):
appended to the state's file where the checkout can (issue 17), else the whole state written again.
Reads the home's states only (saves go to a temporary folder): safe on a read-only home.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best(fn, passes: int) -> float:
    out = float("inf")
    for _ in range(passes):
        c = time.process_time()
        fn()
        out = min(out, time.process_time() - c)
    return out


def _month_appended(settled, folder: Path, state, passes: int) -> float | None:
    """Saving a month on top of the kept state (`save(..., since=)`), the month standing in for its last
    twelfth of files: the state cut before them is saved whole and loaded back as the kept one, then the
    whole state is saved on top of it (appended when this checkout can). None: a family without a rows file
    or with too few files for a month."""
    from dataclasses import replace

    r = state.result
    n = len(r.files) - len(r.files) // 12
    if not getattr(settled, "MAX_APPENDED", None) or state.rows_db is None or n < 1 or n == len(r.files):
        return None
    last = r.files[n - 1].file
    cut = type(r)(r.family, r.loaded, r.quarantine[r.quarantine["file"] <= last].reset_index(drop=True),
                  r.file_report[r.file_report["file"] <= last].reset_index(drop=True), r.files[:n])
    kept = replace(state, result=cut, mark="kept", inputs={o.file: state.inputs[o.file] for o in r.files[:n]
                                                           if o.file in state.inputs})
    out = float("inf")
    for _ in range(passes):
        settled.save(folder, kept)
        since = settled.load(folder, state.family, state.code)
        month = replace(state, mark="month",
                        result=type(r)(r.family, r.loaded, r.quarantine, r.file_report, since.result.files + r.files[n:]))
        c = time.process_time()
        settled.save(folder, month, since=since)
        out = min(out, time.process_time() - c)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--repo", type=Path, default=REPO, help="the code checkout to load and save with (A/B)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.repo))
    import pickle

    from phakhi.ingest import settled
    from phakhi.settings import Paths

    folder = Paths(args.home).ingest_cache
    gc.disable()
    print(f"{'family':22}{'files':>8}{'MB':>7}{'load s':>9}{'save s':>9}{'+month s':>12}")
    total = [0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory(prefix="settled-state-") as tmp:
        for path in sorted(folder.glob("settled-*.pkl")):
            with path.open("rb") as fh:
                head = pickle.load(fh)[1]       # its family and code (the rest: as the checkout reads it)
            family, code = head.family, head.code
            state = settled.load(folder, family, code)
            settled.save(Path(tmp), state)         # this checkout's format
            saved = Path(tmp) / path.name
            load = best(lambda: settled.load(Path(tmp), family, code), args.passes)
            save = best(lambda: settled.save(Path(tmp), settled.load(Path(tmp), family, code)), args.passes) - load
            files = len(getattr(state.result, "files", None) or [])
            month = _month_appended(settled, Path(tmp), state, args.passes)
            print(f"{family:22}{files:>8}{saved.stat().st_size / 1e6:>7.1f}{load:>9.3f}{save:>9.3f}"
                  f"{'-' if month is None else f'{month:.3f}':>12}")
            total[0] += load
            total[1] += save
            total[2] += month or 0.0
    print(f"{'all':22}{'':>8}{'':>7}{total[0]:>9.3f}{total[1]:>9.3f}{total[2]:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
