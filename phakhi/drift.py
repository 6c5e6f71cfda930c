"""Per-item drift between two survey waves (baseline vs a later wave), as an evidently report (HTML + JSON).

Two waves are two independent samples, each with its own estimation error. evidently's default categorical test
treats the baseline's counts as the exact population distribution and flags identical distributions ~34% of
the time; a plain two-sample chi-square ignores the survey design, and with clustered samples and unequal
weights it too flags far more than alpha (the design effect inflates the variance of every proportion).

Phakhi registers its own evidently StatTest, `rao_scott_two_sample`: the two-sample chi-square test of
homogeneity on the design-weighted answer distributions with the Rao–Scott first-order correction,

    X2    = sum_i n_i sum_k (p_ik - pbar_k)^2 / pbar_k          (Pearson's X2 with weighted proportions p_ik)
    pbar_k = (n_1 p_1k + n_2 p_2k) / (n_1 + n_2)
    dbar  = sum_i sum_k (1 - n_i / n) (1 - pbar_k) d_ik / (K - 1)   (Rao & Scott 1981, independent samples)
    F     = X2 / (dbar (K - 1))  ~  F(K - 1, (K - 1) nu),  nu = design df of both waves (PSUs - strata),

where d_ik is the design effect of wave i's estimated proportion in category k (design variance from
phakhi.survey.design — strata, PSUs, weights — over p(1-p)/n_i). Referring X2/dbar to an F distribution with the
design's degrees of freedom (as R's svychisq does by default) accounts for the design effects being estimated
from few PSUs. Without design information every d_ik = 1, dbar = 1 and nu = n - 2: the test is Pearson's
chi-square up to the F vs chi-square reference. "Don't know"/"refused" codes are missing, never a category.
p-values are corrected across items with Benjamini–Hochberg.
"""
from __future__ import annotations

import json
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phakhi.survey.multiple_testing import benjamini_hochberg

__all__ = ["WaveDesign", "DriftResult", "drift_report", "two_sample_stattest", "design_adjusted_homogeneity",
           "survey_design", "benjamini_hochberg", "STATTEST_NAME"]

log = logging.getLogger("phakhi.drift")

STATTEST_NAME = "rao_scott_two_sample"
MIN_N = 30                  # the publication rule: no survey figure from fewer than 30 respondents
_REGISTERED: dict = {}
_ACTIVE: dict = {}          # the design context of the report being run (see survey_design)


@dataclass(frozen=True)
class WaveDesign:
    """The design of one wave's respondents, for design-adjusted tests. `frame` holds the design columns and is
    indexed like the item data passed to the test (evidently keeps the index)."""
    frame: pd.DataFrame
    weights: str = "weight"
    strata: str | None = "stratum"
    psu: str | None = "psu"

    @classmethod
    def from_frame(cls, df: pd.DataFrame, weights: str = "weight", strata: str = "stratum",
                   psu: str = "psu") -> "WaveDesign | None":
        """The design in `df`'s columns, or None when it has no weights column."""
        if weights not in df.columns:
            return None
        cols = [c for c in (weights, strata, psu) if c in df.columns]
        return cls(df[cols].copy(), weights, strata if strata in df.columns else None,
                   psu if psu in df.columns else None)

    def design(self):
        from phakhi.survey.design import Design

        return Design(self.weights, strata=self.strata, psu=(self.psu,) if self.psu else ())


def _distribution(values: pd.Series, wave: WaveDesign | None, keys: list) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(weighted proportions, design effects of the proportions, unweighted n, design df) over `keys`."""
    values = values.dropna()
    n = len(values)
    if wave is None:
        counts = values.value_counts()
        p = np.array([counts.get(k, 0) for k in keys], dtype=float) / max(n, 1)
        return p, np.ones(len(keys)), n, max(n - 1, 1)
    from phakhi.survey.design import estimate

    frame = wave.frame
    unknown = values.index.difference(frame.index)
    if len(unknown):
        raise ValueError(f"{len(unknown)} answer(s) have no row in the wave's design frame (index mismatch)")
    y = values.reindex(frame.index)
    frame = frame.assign(_y=y.astype(object).where(y.notna(), None))
    est = estimate(frame, wave.design(), "proportion", "_y", lonely_psu="adjust").set_index("level")
    p = np.array([float(est["estimate"].get(k, 0.0)) for k in keys])
    se = np.array([float(est["se"].get(k, 0.0)) for k in keys])
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where((p > 0) & (p < 1), se ** 2 / (p * (1 - p) / n), 1.0)
    # Design degrees of freedom of the answering respondents: PSUs - strata (elements - strata without PSUs).
    answered = y.notna().to_numpy()
    strata = frame[wave.strata].to_numpy()[answered] if wave.strata else np.zeros(answered.sum())
    units = frame[wave.psu].to_numpy()[answered] if wave.psu else np.arange(answered.sum())
    n_strata = len(pd.unique(strata))
    df = len(pd.unique(pd.Series(list(zip(strata, units))))) - n_strata if wave.psu else answered.sum() - n_strata
    return p, d, n, max(int(df), 1)


def design_adjusted_homogeneity(reference: pd.Series, current: pd.Series, reference_design: WaveDesign | None = None,
                                current_design: WaveDesign | None = None) -> dict:
    """Two-sample test that two waves' answer distributions are the same (module doc: Rao–Scott first-order
    corrected chi-square; Pearson's when no design is given). Missing values must already be NaN."""
    from scipy.stats import f as f_dist

    keys = sorted(set(reference.dropna().unique()) | set(current.dropna().unique()), key=str)
    p1, d1, n1, nu1 = _distribution(reference, reference_design, keys)
    p2, d2, n2, nu2 = _distribution(current, current_design, keys)
    n = n1 + n2
    adjusted = reference_design is not None or current_design is not None
    out = {"method": "Rao-Scott first-order corrected chi-square, F reference (design-adjusted)" if adjusted
           else "Pearson chi-square two-sample, F reference (no design information)", "n_reference": n1,
           "n_current": n2, "design_df": nu1 + nu2,
           "categories": [str(k) for k in keys], "reference_distribution": p1.round(6).tolist(),
           "current_distribution": p2.round(6).tolist()}
    pbar = (n1 * p1 + n2 * p2) / n if n else np.zeros(len(keys))
    keep = pbar > 0
    k = int(keep.sum())
    if n1 == 0 or n2 == 0 or k < 2:
        return {**out, "statistic": 0.0, "df": max(k - 1, 0), "mean_deff": 1.0, "p_value": 1.0}
    p1, p2, pbar, d1, d2 = p1[keep], p2[keep], pbar[keep], d1[keep], d2[keep]
    x2 = n1 * ((p1 - pbar) ** 2 / pbar).sum() + n2 * ((p2 - pbar) ** 2 / pbar).sum()
    dbar = (((1 - n1 / n) * (1 - pbar) * d1).sum() + ((1 - n2 / n) * (1 - pbar) * d2).sum()) / (k - 1)
    if not dbar > 0:
        dbar = 1.0
    stat = x2 / dbar
    p_value = f_dist.sf(stat / (k - 1), k - 1, (k - 1) * (nu1 + nu2))
    return {**out, "statistic": float(stat), "df": k - 1, "mean_deff": float(dbar), "p_value": float(p_value)}


def _stattest_impl(reference_data: pd.Series, current_data: pd.Series, feature_type, threshold: float):
    """The function evidently calls per item: (p-value, drifted)."""
    ctx = _ACTIVE.get("designs") or (None, None)
    p = design_adjusted_homogeneity(reference_data, current_data, ctx[0], ctx[1])["p_value"]
    return p, p < threshold


def two_sample_stattest():
    """The evidently StatTest used in the drift report (registered once per process)."""
    if "test" in _REGISTERED:
        return _REGISTERED["test"]
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    test = StatTest(name=STATTEST_NAME, display_name="Rao-Scott design-adjusted two-sample chi-square p_value",
                    allowed_feature_types=[ColumnType.Categorical], default_threshold=0.05)
    register_stattest(test, default_impl=_stattest_impl)
    _REGISTERED["test"] = test
    return test


@contextmanager
def survey_design(reference: WaveDesign | None, current: WaveDesign | None):
    """Make the two waves' designs available to the StatTest while a report (or a direct call) runs."""
    previous = _ACTIVE.get("designs")
    _ACTIVE["designs"] = (reference, current)
    try:
        yield
    finally:
        _ACTIVE["designs"] = previous


@dataclass
class DriftResult:
    baseline_wave: int
    current_wave: int
    summary: pd.DataFrame      # item, p_value, p_adjusted, drifted, statistic, df, mean_deff, n_baseline, n_current
    html_path: Path
    json_path: Path
    design_adjusted: bool = False


def drift_report(baseline: pd.DataFrame, current: pd.DataFrame, items: list[str], missing_codes: set[int],
                 out_dir: Path, baseline_wave: int, current_wave: int, alpha: float = 0.05, *,
                 baseline_design: WaveDesign | None = None, current_design: WaveDesign | None = None,
                 min_n: int = MIN_N) -> DriftResult | None:
    """Write drift_report.html / drift_report.json for `items` into out_dir.

    The test is design-adjusted when the waves' designs are given, or when the frames carry the design columns
    weight (and stratum, psu); otherwise it is Pearson's two-sample chi-square (simple random samples assumed).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    baseline_design = baseline_design or WaveDesign.from_frame(baseline)
    current_design = current_design or WaveDesign.from_frame(current)

    def prep(df):
        # Missing codes ("don't know", "refused") are not answers: they must not count as a category.
        return df[items].astype("Float64").mask(df[items].isin(list(missing_codes))).astype("Int64").astype("string")

    ref_items, cur_items = prep(baseline), prep(current)
    # Nothing below n = 30 is published: an item answered by fewer than min_n respondents in either wave is
    # withheld from the report (its answer counts would be small cells); with no item left, no report at all.
    withheld = [i for i in items if min(int(ref_items[i].notna().sum()), int(cur_items[i].notna().sum())) < min_n]
    items = [i for i in items if i not in withheld]
    if not items:
        return None
    ref_items, cur_items = ref_items[items], cur_items[items]
    definition = DataDefinition(categorical_columns=items)
    ref = Dataset.from_pandas(ref_items, data_definition=definition)
    cur = Dataset.from_pandas(cur_items, data_definition=definition)
    test = two_sample_stattest()
    with survey_design(baseline_design, current_design):
        snapshot = Report([DataDriftPreset(columns=items, method=test)]).run(cur, ref)
        tests = {item: design_adjusted_homogeneity(ref_items[item], cur_items[item], baseline_design, current_design)
                 for item in items}
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "drift_report.html", out_dir / "drift_report.json"
    snapshot.save_html(str(html_path))
    data = snapshot.dict()
    summary = pd.DataFrame([{"item": item, "p_value": t["p_value"], "statistic": t["statistic"], "df": t["df"],
                             "mean_deff": t["mean_deff"], "n_baseline": t["n_reference"], "n_current": t["n_current"]}
                            for item, t in tests.items()],
                           columns=["item", "p_value", "statistic", "df", "mean_deff", "n_baseline", "n_current"])
    summary.insert(2, "p_adjusted", benjamini_hochberg(summary["p_value"].to_numpy()) if len(summary) else [])
    summary.insert(3, "drifted", summary["p_adjusted"] < alpha)
    adjusted = baseline_design is not None or current_design is not None
    method = next(iter(tests.values()))["method"] if tests else ""
    payload = {"baseline_wave": baseline_wave, "current_wave": current_wave, "test": method,
               "stattest": STATTEST_NAME, "design_adjusted": adjusted,
               "correction": "Benjamini-Hochberg", "alpha": alpha,
               "missing_codes": sorted(int(c) for c in missing_codes),
               "min_n": min_n, "withheld_items_n_below_min": withheld,
               "note": ("Each item's answer distribution (missing codes excluded) in the later wave against the "
                        "baseline wave: two independent samples. drifted = BH-adjusted p < alpha."),
               "items": summary.to_dict("records"),
               "distributions": {item: {k: t[k] for k in ("categories", "reference_distribution",
                                                          "current_distribution")} for item, t in tests.items()},
               "evidently": data}
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return DriftResult(baseline_wave, current_wave, summary, html_path, json_path, adjusted)


def skipped_because(waves: list[int]) -> str:
    """Why there is no drift report: in words a data engineer can act on."""
    if not waves:
        return "no survey wave has been loaded yet (landing/survey_waves/ is empty)"
    return f"only one survey wave ({waves[0]}) has been loaded"


def survey_drift_from_warehouse(db_path: Path, out_dir: Path, baseline_wave: int | None = None,
                                current_wave: int | None = None, alpha: float = 0.05) -> DriftResult | None:
    """The drift report for two waves read from a warehouse: core items of the instrument, design-adjusted with
    the design columns (and the raked weights when the warehouse holds them). Defaults: the baseline wave and the
    latest wave. None when the warehouse holds fewer than two waves."""
    import duckdb

    from phakhi.survey.instrument import load_instrument

    inst = load_instrument()
    items = [i["code"] for i in inst["items"] if i.get("core")]
    with duckdb.connect(str(db_path), read_only=True) as con:
        waves = loaded_waves(con)
        if len(waves) < 2 and (baseline_wave is None or current_wave is None):
            _log_skipped(waves)
            return None
        from phakhi.survey.instrument import baseline_wave as registered_baseline

        b = int(baseline_wave) if baseline_wave is not None else registered_baseline(waves)
        c = int(current_wave) if current_wave is not None else max(w for w in waves if w != b)
        has_final = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'intermediate' "
            "and table_name = 'int_survey__respondent_weights' and table_type = 'BASE TABLE'").fetchone()[0] > 0
        weight = "coalesce(f.final_weight, r.weight)" if has_final else "r.weight"
        join = ("left join intermediate.int_survey__respondent_weights f using (wave, respondent_id)"
                if has_final else "")
        frames = {w: con.execute(
            f"select {', '.join('r.' + i for i in items)}, {weight} as weight, r.stratum, r.psu "
            f"from raw.survey_waves r {join} where r.wave = ? order by r.respondent_id", [w]).df() for w in (b, c)}
    for w, f in frames.items():
        if f.empty:
            raise ValueError(f"wave {w} has no respondents in {db_path} (waves: {waves})")
    return drift_report(frames[b], frames[c], items, {int(k) for k in inst["missing_codes"]}, out_dir, b, c, alpha)


def loaded_waves(con) -> list[int]:
    return [w for (w,) in con.execute("select distinct wave from raw.survey_waves order by wave").fetchall()]


def _log_skipped(waves: list[int]) -> None:
    log.warning("drift report skipped: %s; it compares a later survey wave with the baseline wave "
                "(the awareness pages say so)", skipped_because(waves))


def reuse_drift_report(report_dir: Path, out_dir: Path) -> DriftResult | None:
    """The drift report of an earlier publication (its drift/ folder), copied into out_dir, for a refresh in
    which no survey wave and no code changed: the same waves give the same report (it reads only the waves
    and their weights). None when that folder holds no complete report (then compute it)."""
    import shutil

    report_dir, out_dir = Path(report_dir), Path(out_dir)
    html, js = report_dir / "drift_report.html", report_dir / "drift_report.json"
    if not (html.is_file() and js.is_file()) or read_drift_report(report_dir) is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(html, out_dir / html.name)
    shutil.copyfile(js, out_dir / js.name)
    return read_drift_report(out_dir)


def read_drift_report(report_dir: Path) -> DriftResult | None:
    """The DriftResult a report folder (drift_report.html + .json) holds; None when it is incomplete. The JSON
    keeps each summary figure exactly (floats written with repr)."""
    report_dir = Path(report_dir)
    html, js = report_dir / "drift_report.html", report_dir / "drift_report.json"
    if not (html.is_file() and js.is_file()):
        return None
    try:
        payload = json.loads(js.read_text(encoding="utf-8"))
        summary = pd.DataFrame(payload["items"], columns=["item", "p_value", "p_adjusted", "drifted", "statistic", "df",
                                                          "mean_deff", "n_baseline", "n_current"])
        baseline, current = int(payload["baseline_wave"]), int(payload["current_wave"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return DriftResult(baseline, current, summary, html, js, bool(payload.get("design_adjusted")))


def survey_drift_in_child(db_path: Path, out_dir: Path) -> DriftResult | None:
    """`survey_drift_from_warehouse` in a child process, waited for at once (start_survey_drift)."""
    return start_survey_drift(db_path, out_dir).result()


def start_survey_drift(db_path: Path, out_dir: Path) -> "PendingDrift":
    """`survey_drift_from_warehouse` started now in a child Python process; its result is read back from the
    files it writes when asked (PendingDrift.result), or it is stopped (PendingDrift.cancel).

    A child (issue 17: memory): evidently (+~95 MB of modules, ~2 s CPU to import: scikit-learn, plotly) and the
    report's frames never enter the refresh's own process, which goes on to publish - the full refresh's peak
    stage. Started early: the refresh starts it as soon as dbt has built the warehouse and runs the gate
    meanwhile, each on one core (the child only reads the warehouse, read-only, as the gate does). The child's
    log records are passed on to this process's `phakhi.drift` logger (Prefect's run log). Nothing is started
    when there is nothing to compare (result: None)."""
    import subprocess
    import sys
    import tempfile

    from phakhi.settings import REPO_ROOT

    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:       # nothing to compare: no process started
        waves = loaded_waves(con)
    out_dir = Path(out_dir)
    if len(waves) < 2:
        _log_skipped(waves)
        return PendingDrift(None, out_dir)
    for name in REPORT_FILES:                                       # never read back a stale report
        (out_dir / name).unlink(missing_ok=True)
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # its output goes to files, not pipes: nothing reads it while the gate runs, and a full pipe would stall it
    stdout, stderr = tempfile.TemporaryFile("w+", encoding="utf-8"), tempfile.TemporaryFile("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from phakhi.drift import _main; _main(sys.argv[1:])",
                             str(db_path), str(out_dir)], stdout=stdout, stderr=stderr, text=True,
                            env={**os.environ, "PYTHONPATH": path})
    from phakhi.timing import counted_when_waited

    counted_when_waited(proc)        # its CPU is the drift stage's (which waits for it), not the gate's
    return PendingDrift(proc, out_dir, (stdout, stderr))


REPORT_FILES = ("drift_report.html", "drift_report.json")


class PendingDrift:
    """A drift report being computed in a child process (start_survey_drift). A context manager: leaving the
    block stops a child whose result was not taken (a failed gate, any error of the refresh) and removes what it
    wrote, so nothing of it is left for a publication to pick up."""

    def __init__(self, process, out_dir: Path, outputs: tuple = ()):
        self.process, self.out_dir, self.outputs = process, Path(out_dir), outputs

    def __enter__(self) -> "PendingDrift":
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()

    def result(self) -> DriftResult | None:
        """Wait for the child; its report, None when there was nothing to compare. A failure raises DriftFailed
        with the child's last error line."""
        if self.process is None:
            return None
        returncode = self.process.wait()
        stdout, stderr = self._read_outputs()
        self.process = None
        outcome = None
        for line in stdout.splitlines():
            kind, _, text = line.partition("\t")
            if kind == _OUTCOME:
                outcome = text
            elif kind.isdigit():
                log.log(int(kind), json.loads(text))
        if returncode != 0 or outcome is None:
            lines = [x for x in stderr.strip().splitlines() if x.strip()]
            raised = [x for x in lines if re.match(r"[A-Za-z_][\w.]*(Error|Exception|Failed)\b", x)]   # the exception's line
            why = (f"died of signal {-returncode}" if returncode < 0 else
                   (raised or lines or [f"exit {returncode}"])[-1])
            raise DriftFailed(f"the drift report could not be computed: {why}")
        if stderr.strip():                # a library's warnings, as they would have shown in this process
            import sys

            sys.stderr.write(stderr)
        if outcome == "none":
            return None
        result = read_drift_report(self.out_dir)
        if result is None:
            raise DriftFailed(f"the drift report's process wrote no complete report in {self.out_dir}")
        return result

    def cancel(self) -> None:
        """Stop the child unless its result was taken, and remove the report files it may have written (and
        their folder, when nothing else is in it)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._read_outputs()
        self.process = None
        for name in REPORT_FILES:
            (self.out_dir / name).unlink(missing_ok=True)
        try:
            self.out_dir.rmdir()
        except OSError:                   # absent, or holding something this child did not write
            pass

    def _read_outputs(self) -> tuple[str, str]:
        texts = []
        for fh in self.outputs:
            fh.seek(0)
            texts.append(fh.read())
            fh.close()
        self.outputs = ()
        stdout, stderr = texts or ("", "")
        return stdout, stderr


class DriftFailed(RuntimeError):
    """The drift report's process failed; the message gives its last error line."""


_OUTCOME = "OUTCOME"


class _LineHandler(logging.Handler):
    """The child's log records as '<level>\\t<json message>' lines on stdout (read by survey_drift_in_child)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelno}\t{json.dumps(record.getMessage(), ensure_ascii=False)}", flush=True)


def _main(argv: list[str]) -> None:
    db_path, out_dir = Path(argv[0]), Path(argv[1])
    log.addHandler(_LineHandler())
    log.propagate = False
    log.setLevel(logging.INFO)
    result = survey_drift_from_warehouse(db_path, out_dir)
    print(f"{_OUTCOME}\t{'none' if result is None else 'report'}", flush=True)

