"""The evaluator's command line: `phakhi survey estimate` (design-based estimates from any survey file) and
`phakhi compare-waves` (a later wave against the baseline, from the published warehouse).

Kept light at import time (typer only): numpy/pandas/scipy are imported when a command runs.
"""
from __future__ import annotations

import json
import math
import sys
from difflib import get_close_matches
from pathlib import Path
from typing import List, Optional

import typer

survey_app = typer.Typer(help="Design-based survey estimates for evaluators (Taylor-linearised SEs, as R's survey "
                              "package).", no_args_is_help=True, add_completion=False)

OUTPUT_KEYS = ["domain", "statistic", "variable", "level", "estimate", "se", "ci_low", "ci_high", "n"]
READABLE = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods", ".sav", ".zsav", ".dta", ".parquet")
EXIT_USAGE, EXIT_REFUSED = 2, 3


class CliError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


def _fail(message: str, code: int = EXIT_USAGE):
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


# ------------------------------------------------------------------------------------------------ reading
def read_survey(path: Path, sheet: Optional[str] = None):
    """A survey file as a DataFrame: CSV/TSV (UTF-8, or Thai Windows cp874), Excel (calamine), SPSS .sav
    (integer-valued numeric columns become nullable integers), Stata .dta or Parquet."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise CliError(f"{path.name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(READABLE)}")
    from phakhi.ingest.readers import decode_text, sav_frame   # the one reader of partner and survey files

    try:
        if suffix in (".csv", ".tsv", ".txt"):
            import io

            text, _ = decode_text(path.read_bytes())               # UTF-8 (BOM or not), UTF-16, Thai cp874
            return pd.read_csv(io.StringIO(text), sep="\t" if suffix == ".tsv" else ",")
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
            if sheet is None:
                return next(iter(sheets.values()))
            if sheet not in sheets:
                raise CliError(f"{path.name} has no sheet {sheet!r}; sheets: {', '.join(sheets)}")
            return sheets[sheet]
        if suffix in (".sav", ".zsav"):
            df, _ = sav_frame(path, user_missing=False)   # analysis: user-missing codes are missing
            return _integer_columns(df)
        if suffix == ".dta":
            return pd.read_stata(path, convert_categoricals=False)
        return pd.read_parquet(path)
    except CliError:
        raise
    except Exception as exc:  # a corrupt or mislabelled file: say which and why, no traceback
        raise CliError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from exc


def _integer_columns(df):
    """SPSS stores every number as a double: columns holding only whole numbers become Int64."""
    import numpy as np

    for col in df.columns:
        s = df[col]
        if s.dtype.kind == "f":
            v = s.dropna().to_numpy()
            if len(v) and np.all(np.isfinite(v)) and np.all(v == np.round(v)) and np.abs(v).max() < 2 ** 53:
                df[col] = s.astype("Int64")
    return df


def _check_columns(df, wanted: dict[str, str], source: str) -> None:
    """Every referenced column exists; otherwise one error naming what is missing and what is there."""
    columns = [str(c) for c in df.columns]
    problems = []
    for option, col in wanted.items():
        if col not in df.columns:
            close = get_close_matches(col, columns, n=1)
            problems.append(f"{option} {col!r} is not a column of {source}"
                            + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        raise CliError("; ".join(problems) + f". Available columns: {', '.join(columns)}")


def _split(value: Optional[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def _category(series):
    """Category labels as text, with whole-number floats written as integers (1.0 -> '1')."""
    s = series
    if s.dtype.kind == "f":
        s = s.astype("Int64") if (s.dropna() == s.dropna().round()).all() else s
    return s.astype("string")


def read_margin(spec: str, df) -> tuple[str, dict]:
    """--rake COL=FILE: population totals of COL's categories from a CSV/Excel file (a column named COL or
    'category' or the first column; a column named population/total/Freq/N/count or the last numeric one)."""
    import pandas as pd

    if "=" not in spec:
        raise CliError(f"--rake {spec!r}: expected COL=MARGINS.csv")
    column, file = (s.strip() for s in spec.split("=", 1))
    _check_columns(df, {"--rake": column}, "the data")
    table = read_survey(Path(file))
    cat_col = column if column in table.columns else "category" if "category" in table.columns else table.columns[0]
    names = {str(c).lower(): c for c in table.columns}
    total_col = next((names[k] for k in ("population", "total", "freq", "n", "count", "pop") if k in names and
                      names[k] != cat_col), None)
    if total_col is None:
        numeric = [c for c in table.columns if c != cat_col and pd.api.types.is_numeric_dtype(table[c])]
        if not numeric:
            raise CliError(f"{file}: no column of population totals (name one population, total, Freq, N or count)")
        total_col = numeric[-1]
    cats = _category(table[cat_col])
    if cats.isna().any() or cats.duplicated().any():
        raise CliError(f"{file}: the category column {cat_col!r} has empty or repeated categories")
    return column, dict(zip(cats, table[total_col].astype(float)))


# ------------------------------------------------------------------------------------------------ estimate
def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    x = float(x)
    if x == 0:
        return "0"
    digits = max(0, 6 - (int(math.floor(math.log10(abs(x)))) + 1))
    return f"{x:,.{digits}f}"


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[_fmt(r[c]) if isinstance(r[c], (int, float)) or r[c] is None else str(r[c]) for c in columns]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) if columns[i] not in ("domain", "statistic", "variable", "level") else v.ljust(w)
                        for i, (v, w) in enumerate(zip(row, widths))) for row in cells]
    return "\n".join(lines)


def _jsonable(v):
    import numpy as np

    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


@survey_app.command("estimate")
def estimate_command(
    data: Path = typer.Argument(..., help="Survey microdata: CSV, XLSX, SAV (SPSS), DTA or Parquet."),
    weights: str = typer.Option(..., "--weights", help="Weight column (design or already-calibrated weights)."),
    strata: Optional[str] = typer.Option(None, "--strata", help="Stratum column."),
    psu: Optional[str] = typer.Option(None, "--psu", help="Cluster column(s): PSU, or PSU,SSU for two stages."),
    fpc: Optional[str] = typer.Option(None, "--fpc", help="Finite-population correction column(s), one per stage: "
                                                          "population sizes or sampling fractions."),
    mean: Optional[str] = typer.Option(None, "--mean", help="Estimate the mean of this column."),
    total: Optional[str] = typer.Option(None, "--total", help="Estimate the population total of this column."),
    proportion: Optional[str] = typer.Option(None, "--proportion", help="Estimate the share of each category."),
    ratio: Optional[str] = typer.Option(None, "--ratio", help="NUM/DEN: ratio of the totals of two columns."),
    by: Optional[str] = typer.Option(None, "--by", help="Domain column: one estimate per category, full design kept."),
    rake: Optional[List[str]] = typer.Option(None, "--rake", help="COL=MARGINS.csv: rake the weights to these "
                                                                  "population totals (repeatable); SEs account for it."),
    trim: Optional[str] = typer.Option(None, "--trim", help="LOW,HIGH bounds on the raking adjustment factor."),
    na_codes: Optional[str] = typer.Option(None, "--na-codes", help="Codes meaning missing in the analysis "
                                                                    "variable(s), e.g. 8,9 (don't know, refused)."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level of the intervals."),
    lonely_psu: str = typer.Option("fail", "--lonely-psu", help="Single-PSU strata: fail | adjust | remove."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
    fmt: str = typer.Option("table", "--format", help="table | json"),
):
    """Design-based estimate (mean, total, proportion or ratio) with Taylor-linearised SE and CI.

    Example: phakhi survey estimate apistrat.csv --weights pw --strata stype --fpc fpc --mean api00
    """
    try:
        rows, notes = run_estimate(data, weights=weights, strata=strata, psu=psu, fpc=fpc, mean=mean, total=total,
                                   proportion=proportion, ratio=ratio, by=by, rake=rake or [], trim=trim,
                                   na_codes=na_codes, conf_level=conf_level, lonely_psu=lonely_psu, sheet=sheet,
                                   fmt=fmt)
    except CliError as exc:
        _fail(str(exc))
    for note in notes:
        typer.echo(note, err=True)
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        typer.echo(_table(rows, OUTPUT_KEYS))


def run_estimate(data: Path, *, weights: str, strata=None, psu=None, fpc=None, mean=None, total=None,
                 proportion=None, ratio=None, by=None, rake=(), trim=None, na_codes=None, conf_level=0.95,
                 lonely_psu="fail", sheet=None, fmt="table") -> tuple[list[dict], list[str]]:
    """The estimate command without the terminal: (rows as dicts with OUTPUT_KEYS, notes for stderr)."""
    import numpy as np

    if fmt not in ("table", "json"):
        raise CliError(f"--format must be table or json, not {fmt!r}")
    chosen = {k: v for k, v in {"mean": mean, "total": total, "proportion": proportion, "ratio": ratio}.items() if v}
    if len(chosen) != 1:
        raise CliError("give exactly one of --mean COL, --total COL, --proportion COL, --ratio NUM/DEN"
                       + (f" (got {', '.join('--' + k for k in chosen)})" if chosen else ""))
    statistic, target = next(iter(chosen.items()))
    denominator = None
    if statistic == "ratio":
        if target.count("/") != 1:
            raise CliError(f"--ratio {target!r}: expected NUM/DEN, e.g. --ratio api.stu/enroll")
        target, denominator = (s.strip() for s in target.split("/"))
    if lonely_psu not in ("fail", "adjust", "remove"):
        raise CliError(f"--lonely-psu must be fail, adjust or remove, not {lonely_psu!r}")

    df = read_survey(Path(data), sheet)
    psu_cols, fpc_cols = _split(psu), _split(fpc)
    wanted = {"--weights": weights, f"--{statistic}": target}
    if denominator:
        wanted["--ratio denominator"] = denominator
    wanted.update({"--strata": strata} if strata else {})
    wanted.update({f"--psu[{i + 1}]": c for i, c in enumerate(psu_cols)})
    wanted.update({f"--fpc[{i + 1}]": c for i, c in enumerate(fpc_cols)})
    wanted.update({"--by": by} if by else {})
    _check_columns(df, wanted, Path(data).name)

    from phakhi.survey.design import Design, estimate
    from phakhi.survey.raking import kish_effective_n, rake as rake_weights, weighting_deff

    df = df.copy()
    codes = [float(c) for c in _split(na_codes)]
    for col in filter(None, (target, denominator)):
        if codes and df[col].dtype.kind in "iuf":
            df[col] = df[col].mask(df[col].isin(codes))
    if statistic == "proportion":
        df[target] = _category(df[target]).astype(object).where(df[target].notna(), None)
    for col in filter(None, (target, denominator)):
        if statistic != "proportion" and not _numeric(df[col]):
            raise CliError(f"--{statistic} needs a numeric column; {col!r} holds text (e.g. "
                           f"{df[col].dropna().astype(str).head(3).tolist()}); use --proportion for categories")
        if statistic != "proportion":
            df[col] = df[col].astype("Float64").astype(float)
    if by:
        df[by] = _category(df[by])
        if df[by].isna().any():
            raise CliError(f"--by column {by!r} has {int(df[by].isna().sum())} missing value(s); recode them first")

    notes, calibration = [], []
    w = df[weights]
    if not _numeric(w) or w.isna().any() or (w.astype(float) < 0).any():
        raise CliError(f"--weights column {weights!r} must be numeric, non-negative and complete")
    df[weights] = w.astype(float)
    if rake:
        margins = {}
        for spec in rake:
            column, targets = read_margin(spec, df)
            key = f"__rake__{column}"
            df[key] = _category(df[column]).fillna("<missing>")
            margins[key] = targets
        try:
            from phakhi.survey.weighting import parse_trim

            bounds = parse_trim(trim)
            res = rake_weights(df, weights, margins, trim=bounds)
        except ValueError as exc:
            raise CliError(f"raking failed: {str(exc).replace('__rake__', '')}") from exc
        raked = f"{weights}__raked"
        df[raked] = res.weights
        notes.append(f"raked {weights} to {', '.join(k.replace('__rake__', '') for k in margins)}: "
                     f"{'converged' if res.converged else 'NOT converged'} after {res.iterations} sweep(s), largest "
                     f"margin gap {res.max_abs_diff:.3g}; Kish effective n {kish_effective_n(df[weights]):.1f} -> "
                     f"{kish_effective_n(df[raked]):.1f}; weighting deff {weighting_deff(df[weights]):.3f} -> "
                     f"{weighting_deff(df[raked]):.3f}")
        weights, calibration = raked, list(margins)
    elif trim:
        raise CliError("--trim bounds the raking adjustment: it needs --rake")

    try:
        design = Design(weights, strata=strata, psu=psu_cols, fpc=fpc_cols)
        result = estimate(df, design, statistic, target, denominator=denominator, by=by, conf_level=conf_level,
                          calibration=calibration or None, lonely_psu=lonely_psu)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if denominator:
        result["variable"] = f"{target}/{denominator}"
    rows = [{k: _jsonable(r[k]) for k in OUTPUT_KEYS} for r in result.to_dict("records")]
    if not np.isfinite([r["se"] for r in rows if r["se"] is not None] or [0]).all():
        notes.append("note: some standard errors are not finite")
    return rows, notes


def _numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series)     # booleans count as 0/1


# ------------------------------------------------------------------------------------------------ compare waves
def load_published(home: Optional[Path]):
    """(baseline estimates, waves table or None, where they came from, warehouse path or None) from the
    published warehouse, else from the latest publication's open data. CliError when no refresh has run."""
    import duckdb
    import pandas as pd

    from phakhi.settings import Paths

    paths = Paths.from_env(home)
    db = paths.published_db
    if db.is_file():
        with duckdb.connect(str(db), read_only=True) as con:
            tables = {t for (t,) in con.execute("select table_name from information_schema.tables "
                                                 "where table_schema = 'marts'").fetchall()}
            if "mart_awareness_baseline" in tables:
                est = con.execute("select * from marts.mart_awareness_baseline").df()
                waves = (con.execute("select * from marts.mart_awareness_waves").df()
                         if "mart_awareness_waves" in tables else None)
                return est, waves, f"published warehouse {db}", db
    latest = paths.latest / "data" / "awareness_baseline.parquet"
    if latest.is_file():
        waves_file = latest.with_name("awareness_waves.parquet")
        return (pd.read_parquet(latest), pd.read_parquet(waves_file) if waves_file.is_file() else None,
                f"latest publication {paths.latest.resolve()}", None)
    raise CliError(f"no awareness estimates published under PHAKHI_HOME={paths.home}: no refresh has run there yet "
                   f"(looked for {db} and {latest}). Run `phakhi refresh` first, or pass --home.")


def compare_waves(
    baseline: Optional[int] = typer.Option(None, "--baseline", help="Baseline wave (default: the registered "
                                                                     "baseline, sources/instrument/waves.yml)."),
    wave: Optional[int] = typer.Option(None, "--wave", help="Wave to compare (default: the latest)."),
    measure: Optional[List[str]] = typer.Option(None, "--measure", help="Only these measures (repeatable): "
                                                "awareness_index, knowledge, concern, behaviour, share_low/medium/high."),
    domain: Optional[List[str]] = typer.Option(None, "--domain", help="Only these domains (repeatable): overall, "
                                               "region, province, sex, age_group, urban_rural, education."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default PHAKHI_HOME/reports/"
                                                           "compare-<baseline>-<wave>)."),
    drift: bool = typer.Option(True, "--drift/--no-drift", help="Also write the per-item drift report (evidently)."),
    fmt: str = typer.Option("table", "--format", help="table | json | csv (what is printed)."),
    home: Optional[Path] = typer.Option(None, "--home", envvar="PHAKHI_HOME",
                                        help="Runtime directory holding the published warehouse. Default ./var"),
):
    """Compare a survey wave with the baseline: differences, SEs, 95% CIs, p-values (BH-adjusted) per measure and
    domain, refusing waves whose core questionnaire differs. Prints the table and writes a report folder."""
    try:
        code = run_compare_waves(baseline, wave, measure or [], domain or [], out, drift, fmt, home)
    except CliError as exc:
        _fail(str(exc))
    if code:
        raise typer.Exit(code)


def run_compare_waves(baseline, wave, measures, domains, out, drift, fmt, home) -> int:
    from phakhi.settings import Paths
    from phakhi.survey.awareness import ADJUSTMENT_NAME, ADJUSTMENT, DOMAINS, MEASURES, change_table
    from phakhi.survey.comparability import check_waves
    from phakhi.survey.instrument import baseline_wave

    if fmt not in ("table", "json", "csv"):
        raise CliError(f"--format must be table, json or csv, not {fmt!r}")
    bad = [m for m in measures if m not in MEASURES] + [d for d in domains if d not in DOMAINS]
    if bad:
        raise CliError(f"unknown measure/domain {bad}; measures: {', '.join(MEASURES)}; domains: {', '.join(DOMAINS)}")
    estimates, waves_table, source, db = load_published(home)
    available = sorted(int(w) for w in estimates["wave"].unique())
    b = int(baseline) if baseline is not None else baseline_wave(available)
    w = int(wave) if wave is not None else max([x for x in available if x != b], default=b)
    missing = [x for x in (b, w) if x not in available]
    if missing:
        raise CliError(f"wave(s) {missing} not in the {source}; waves available: {available}")
    if b == w:
        raise CliError(f"--baseline and --wave are both {b}: nothing to compare (waves available: {available})")
    instruments = ({int(r.wave): r.instrument for r in waves_table.itertuples()} if waves_table is not None
                   and "instrument" in waves_table else None)
    comp = check_waves(b, w, instruments=instruments)
    if not comp.comparable:
        typer.secho(comp.message(), fg="red", err=True)
        typer.echo("Nothing compared, no report written: change in awareness cannot be separated from the change in "
                   "the questionnaire. See docs/evaluator.md, 'Comparing waves'.", err=True)
        return EXIT_REFUSED
    table = change_table(estimates, b, [w], comparability={w: comp})
    if measures:
        table = table[table["measure"].isin(measures)]
    if domains:
        table = table[table["domain"].isin(domains)]

    paths = Paths.from_env(home)
    folder = Path(out) if out else paths.home / "reports" / f"compare-{b}-{w}"
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "change.csv", index=False, encoding="utf-8-sig")
    records = [{k: _jsonable(v) for k, v in r.items()} for r in table.to_dict("records")]
    (folder / "change.json").write_text(json.dumps(records, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    header = (f"Awareness, wave {w} vs baseline {b} (from the {source}). Difference = {w} - {b}; the waves are "
              f"independent samples, SE(diff) = sqrt(SE_{b}^2 + SE_{w}^2); 95% CI = diff +/- 1.96 SE; p two-sided; "
              f"p_adj = {ADJUSTMENT_NAME[ADJUSTMENT]} within each domain variable; * = p_adj < 0.05.")
    text = _change_text(table, b, w)
    (folder / "README.md").write_text(f"# Wave {w} vs baseline {b}\n\n{header}\n\n{comp.message()}\n\n```\n{text}\n"
                                      "```\n", encoding="utf-8")
    drift_note = ""
    if drift:
        drift_note = _write_drift(db, folder / "drift", b, w)
    if fmt == "json":
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    elif fmt == "csv":
        typer.echo(table.to_csv(index=False), nl=False)
    else:
        typer.echo(header)
        typer.echo(comp.message())
        typer.echo(text)
    typer.echo(f"\nReport written to {folder} (change.csv, change.json, README.md{drift_note})", err=True)
    return 0


def _change_text(table, b: int, w: int) -> str:
    lines = []
    for r in table.itertuples():
        if r.suppressed:
            cells = ["withheld (n below threshold)", "", "", "", "", ""]
        else:
            sig = "*" if r.significant else ""
            cells = [f"{r.baseline_estimate:.2f}", f"{r.wave_estimate:.2f}", f"{r.difference:+.2f}",
                     f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]", f"{r.p_value:.4f}", f"{r.p_adjusted:.4f} {sig}"]
        lines.append([r.measure, r.domain, str(r.domain_value), *cells, f"{r.n_baseline}/{r.n_wave}"])
    head = ["measure", "domain", "value", str(b), str(w), "diff", "95% CI", "p", "p_adj", "n"]
    widths = [max(len(h), *(len(x[i]) for x in lines)) if lines else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(wd) for h, wd in zip(head, widths))]
    out += ["  ".join(c.ljust(wd) for c, wd in zip(x, widths)).rstrip() for x in lines]
    return "\n".join(out)


def _write_drift(db: Optional[Path], folder: Path, b: int, w: int) -> str:
    if db is None:
        typer.echo("drift report skipped: the latest publication holds no microdata (it needs the published "
                   "warehouse)", err=True)
        return ""
    from phakhi.drift import survey_drift_from_warehouse

    try:
        result = survey_drift_from_warehouse(db, folder, b, w)
    except Exception as exc:   # the change table stands on its own; say why the drift part is missing
        typer.echo(f"drift report skipped: {type(exc).__name__}: {exc}", err=True)
        return ""
    return "" if result is None else ", drift/drift_report.html, drift/drift_report.json"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(survey_app())
