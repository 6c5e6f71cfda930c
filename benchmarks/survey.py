"""Benchmark: domain means with design-based SEs, 50 domains x 20 items on 20,000 respondents.

    .venv/bin/python benchmarks/survey.py                                   # Phakhi only
    .venv/bin/python benchmarks/survey.py --samplics-python /tmp/samplics-venv/bin/python
    .venv/bin/python benchmarks/survey.py -n 5000 --domains 20 --items 10 --json out.json

The data are synthetic and seeded: 40 strata x 25 PSUs (villages) x 20 respondents, unequal weights, a domain
column with 50 categories that cut across PSUs, 20 items scored 0-100 with PSU effects and 3% missing.

    phakhi Taylor    phakhi.survey.design.estimate(..., "mean", item, by="domain") per item (linearised SEs, domains
                     by zeroed influence values, missing values as a domain)
    phakhi bootstrap the same with 200 bootstrap replicate weights (phakhi.survey.replicates): one matrix product
                     for all domains of an item
    samplics         samplics.estimation.TaylorEstimator(PopParam.mean).estimate(y, weights, stratum, psu,
                     domain=...) per item, in its own interpreter (a throwaway venv: samplics is not a Phakhi dependency); its
                     estimates and SEs are compared with Phakhi's (they must agree)

Wall-clock seconds, best of --repeat runs, on whatever else the machine is running.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLICS_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from samplics.estimation import TaylorEstimator
from samplics.utils.types import PopParam
df = pd.read_parquet(sys.argv[1]); items = json.loads(sys.argv[2]); repeat = int(sys.argv[3])
best, out = float("inf"), {}
for _ in range(repeat):
    t0 = time.perf_counter()
    for item in items:
        ok = df[item].notna()
        est = TaylorEstimator(PopParam.mean)
        est.estimate(y=df.loc[ok, item], samp_weight=df.loc[ok, "weight"], stratum=df.loc[ok, "stratum"],
                     psu=df.loc[ok, "psu"], domain=df.loc[ok, "domain"], remove_nan=True)
        out[item] = {str(k): [float(est.point_est[k]), float(est.stderror[k])] for k in est.point_est}
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "estimates": out}))
"""


def make_data(n: int, domains: int, items: int, seed: int = 2026):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    per_psu, psus_per_stratum = 20, 25
    n_psu = max(2, n // per_psu)
    psu = np.repeat(np.arange(n_psu), per_psu)[:n]
    stratum = psu // psus_per_stratum
    frame = {"stratum": stratum, "psu": psu, "weight": rng.lognormal(6, 0.4, n),
             "domain": rng.integers(0, domains, n).astype(str)}
    psu_effect = rng.normal(0, 8, n_psu)
    for j in range(items):
        y = np.clip(55 + 2 * (j % 5) + psu_effect[psu] + rng.normal(0, 18, n), 0, 100)
        y[rng.random(n) < 0.03] = np.nan
        frame[f"item{j + 1:02d}"] = y
    return pd.DataFrame(frame)


def run_phakhi(df, items, repeat):
    from phakhi.survey.design import Design, estimate

    design = Design("weight", strata="stratum", psu=("psu",))
    best, results = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = {item: estimate(df, design, "mean", item, by="domain") for item in items}
        best = min(best, time.perf_counter() - t0)
    return best, results


def run_replicates(df, items, repeat):
    from phakhi.survey import replicates
    from phakhi.survey.design import Design

    design = Design("weight", strata="stratum", psu=("psu",))
    t0 = time.perf_counter()
    rep = replicates.bootstrap(df, design, 200, seed=1)
    build = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for item in items:
            replicates.estimate(df, rep, "mean", item, by="domain")
        best = min(best, time.perf_counter() - t0)
    return build, best, rep.n_replicates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="respondents (default 20,000)")
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--samplics-python", help="an interpreter with samplics installed (not the project venv)")
    parser.add_argument("--no-replicates", action="store_true", help="skip the replicate-weight timing")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    df = make_data(args.n, args.domains, args.items)
    items = [c for c in df.columns if c.startswith("item")]
    cells = args.domains * len(items)
    figures = {"respondents": len(df), "domains": args.domains, "items": len(items), "cells": cells}
    seconds, results = run_phakhi(df, items, args.repeat)
    figures["phakhi_taylor_seconds"] = round(seconds, 3)
    line = (f"survey estimation: {args.domains} domains x {len(items)} items on {len(df):,} respondents "
            f"({cells:,} domain means with SEs): Phakhi Taylor {seconds:.2f} s")
    if not args.no_replicates:
        build, rep_seconds, n_rep = run_replicates(df, items, args.repeat)
        figures.update(phakhi_bootstrap_replicates=n_rep, phakhi_bootstrap_build_seconds=round(build, 3),
                       phakhi_bootstrap_seconds=round(rep_seconds, 3))
        line += f"; Phakhi bootstrap ({n_rep} replicates) {rep_seconds:.2f} s (+{build:.2f} s to build)"
    if args.samplics_python:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "survey.parquet"
            df.to_parquet(path)
            proc = subprocess.run([args.samplics_python, "-c", SAMPLICS_SCRIPT, str(path), json.dumps(items),
                                   str(args.repeat)], capture_output=True, text=True)
        if proc.returncode != 0:
            line += f"; samplics failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}"
        else:
            other = json.loads(proc.stdout.strip().splitlines()[-1])
            gaps = []
            for item in items:
                ours = results[item].assign(key=lambda t: t.domain.str.split("=", n=1).str[1]).set_index("key")
                for key, (est, se) in other["estimates"][item].items():
                    gaps.append(max(abs(ours.loc[key, "estimate"] - est) / abs(est),
                                    abs(ours.loc[key, "se"] - se) / se))
            figures.update(samplics_seconds=round(other["seconds"], 3), max_relative_difference=max(gaps))
            line += (f"; samplics {other['seconds']:.2f} s ({other['seconds'] / seconds:.1f}x Phakhi Taylor); "
                     f"largest relative difference in estimates/SEs {max(gaps):.1e}")
    print(line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
