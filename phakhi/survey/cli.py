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
    if abs(x) < 1e-4:
        return f"{x:.4g}"        # p-values and other tiny numbers: significant digits, not a row of zeros
    digits = max(0, 6 - (int(math.floor(math.log10(abs(x)))) + 1))
    return f"{x:,.{digits}f}"


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[_fmt(r[c]) if isinstance(r[c], (int, float)) or r[c] is None else str(r[c]) for c in columns]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    text = {c for c in columns if any(isinstance(r[c], str) for r in rows)} | {"domain", "statistic", "variable",
                                                                               "level"}
    lines += ["  ".join(v.ljust(w) if columns[i] in text else v.rjust(w)
                        for i, (v, w) in enumerate(zip(row, widths))).rstrip() for row in cells]
    return "\n".join(lines)


def _jsonable(v):
    import numpy as np

    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


HELP_EPILOG = """Examples (R's survey package results in brackets; data from R's api data sets):

  phakhi survey estimate apistrat.csv --weights pw --strata stype --fpc fpc --mean api00    [662.29, SE 9.4089]

  GREG calibration to N and the total of api99 (R: calibrate(dclus1, ~api99, c(6194, 3914069))):
  phakhi survey estimate apiclus1.csv --weights pw --psu dnum --fpc fpc --mean api00 --calibrate "~api99" --population N=6194,api99=3914069    [666.72, SE 3.2959]

  Jackknife replicates built from the design (R: svymean(~api00, as.svrepdesign(dclus1))):
  phakhi survey estimate apiclus1.csv --weights pw --psu dnum --fpc fpc --mean api00 --replicates jk1    [644.17, SE 26.329]

  Difference of two items on the same schools (R: svycontrast(svymean(~api00+api99, dclus1), c(1,-1))):
  phakhi survey estimate apiclus1.csv --weights pw --psu dnum --fpc fpc --contrast "diff=api00-api99"    [37.191, SE 3.0852]

  Two-group t-test (R: svyttest(api00 ~ sch.wide, dclus1)):
  phakhi survey estimate apiclus1.csv --weights pw --psu dnum --fpc fpc --ttest api00 --group sch.wide

  Totals of a category, complete cases, a file's own replicate weights:
  phakhi survey estimate apiclus1.csv --weights pw --psu dnum --fpc fpc --total stype    [E 4873.97, SE 1333.32]
  phakhi survey estimate apiclus2.csv --weights pw --psu dnum,snum --fpc fpc1,fpc2 --mean api00 --na complete:enroll
  phakhi survey estimate file.csv --weights wt --repweights "repw*" --rep-type Fay --rho 0.5 --mean y
"""


@survey_app.command("estimate", epilog=HELP_EPILOG)
def estimate_command(
    data: Path = typer.Argument(..., help="Survey microdata: CSV, XLSX, SAV (SPSS), DTA or Parquet."),
    weights: str = typer.Option(..., "--weights", help="Weight column (design or already-calibrated weights), "
                                                       "e.g. --weights pw."),
    strata: Optional[str] = typer.Option(None, "--strata", help="Stratum column, e.g. --strata stype."),
    psu: Optional[str] = typer.Option(None, "--psu", help="Cluster column(s): PSU, or PSU,SSU for two stages, e.g. "
                                                          "--psu dnum,snum."),
    fpc: Optional[str] = typer.Option(None, "--fpc", help="Finite-population correction column(s), one per stage: "
                                                          "population sizes or sampling fractions, e.g. --fpc fpc1,fpc2."),
    mean: Optional[str] = typer.Option(None, "--mean", help="Estimate the mean of this column, e.g. --mean api00."),
    total: Optional[str] = typer.Option(None, "--total", help="Estimate the population total of this column; a text "
                                        "column (or --categorical) gives the total of every category, e.g. --total stype."),
    proportion: Optional[str] = typer.Option(None, "--proportion", help="Estimate the share of each category, "
                                                                        "e.g. --proportion stype."),
    ratio: Optional[str] = typer.Option(None, "--ratio", help="NUM/DEN: ratio of the totals of two columns, e.g. "
                                                              "--ratio api.stu/enroll."),
    contrast: Optional[List[str]] = typer.Option(None, "--contrast", help="A linear combination of the means (or "
                                                 "totals, --contrast-of total) of items answered by the same "
                                                 "respondents, with its SE (R's svycontrast); repeatable, e.g. "
                                                 "--contrast \"diff=api00-api99\" --contrast \"avg=0.5*k1+0.5*k2\"."),
    contrast_of: str = typer.Option("mean", "--contrast-of", help="What --contrast combines: mean | total."),
    ttest: Optional[str] = typer.Option(None, "--ttest", help="Design-based two-group t-test of this column's mean "
                                        "between the two categories of --group (R's svyttest: df = PSUs - strata - 1), "
                                        "e.g. --ttest api00 --group sch.wide."),
    group: Optional[str] = typer.Option(None, "--group", help="The two-category column of --ttest."),
    categorical: bool = typer.Option(False, "--categorical", help="Treat the --total column's codes as categories "
                                                                  "(R's factor()), e.g. --total region --categorical."),
    by: Optional[str] = typer.Option(None, "--by", help="Domain column: one estimate per category, full design kept, "
                                                        "e.g. --by stype."),
    na: Optional[str] = typer.Option(None, "--na", help="Missing values: 'available' (default: each analysis "
                                     "variable's own missing rows are left out) or 'complete[:COL,COL]' (only rows "
                                     "with every analysis variable and the listed columns present, kept as a domain "
                                     "with the full design, as R's na.rm=TRUE), e.g. --na complete:api99,enroll."),
    rake: Optional[List[str]] = typer.Option(None, "--rake", help="COL=MARGINS.csv: rake the weights to these "
                                             "population totals (repeatable); SEs account for it, e.g. "
                                             "--rake stype=stype.csv."),
    trim: Optional[str] = typer.Option(None, "--trim", help="LOW,HIGH bounds on the raking adjustment factor, "
                                                            "e.g. --trim 0.3,3."),
    calibrate: Optional[str] = typer.Option(None, "--calibrate", help="Calibrate the weights to population totals of "
                                            "this R-style formula's model columns (GREG; numeric columns, categories, "
                                            "a*b interactions), SEs from the calibration residuals as R's calibrate(), "
                                            "e.g. --calibrate \"~api99\" or \"~stype*sch.wide\"."),
    population: Optional[str] = typer.Option(None, "--population", help="Totals for --calibrate: NAME=TOTAL,... with "
                                             "R's column names (N for the intercept; a category as stypeH, or every "
                                             "category), e.g. --population N=6194,api99=3914069; or a CSV/Excel file "
                                             "with columns term,total."),
    calfun: str = typer.Option("linear", "--calfun", help="Calibration function: linear (GREG) | raking (raking to "
                                                          "the formula's margins or joint cells)."),
    bounds: Optional[str] = typer.Option(None, "--bounds", help="LOW,HIGH bounds on the calibration factor g = "
                                                                "calibrated/design weight, e.g. --bounds 0.5,2."),
    cal_variance: Optional[str] = typer.Option(None, "--cal-variance", help="Working-variance coefficients of the "
                                               "calibration model, var_i ~ x_i'lambda (R's calibrate(variance=)); the "
                                               "ratio estimator: --calibrate \"~enroll-1\" --population "
                                               "enroll=3811472 --cal-variance 1."),
    replicates: Optional[str] = typer.Option(None, "--replicates", help="Replicate variance from replicates built "
                                             "from the design: jk1 (unstratified) | jkn | bootstrap, e.g. "
                                             "--replicates jk1 (R's as.svrepdesign)."),
    bootstrap_replicates: int = typer.Option(200, "--bootstrap-replicates", help="Number of bootstrap replicates, "
                                                                                  "e.g. --bootstrap-replicates 500."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the bootstrap, e.g. --seed 2025."),
    repweights: Optional[str] = typer.Option(None, "--repweights", help="The file's replicate weight columns (full "
                                             "weights): a comma list or a pattern, e.g. --repweights \"repw*\"."),
    rep_type: Optional[str] = typer.Option(None, "--rep-type", help="Type of --repweights: JK1 | JKn | BRR | Fay | "
                                                                    "bootstrap | other, e.g. --rep-type BRR."),
    rho: Optional[float] = typer.Option(None, "--rho", help="Fay's rho of --rep-type Fay, e.g. --rho 0.5."),
    scale: Optional[float] = typer.Option(None, "--scale", help="Overall variance scale of the replicates (default "
                                          "by type as R: BRR 1/R, Fay 1/(R(1-rho)^2), bootstrap 1/(R-1), JK1 (R-1)/R), "
                                          "e.g. --scale 0.05."),
    rscales: Optional[str] = typer.Option(None, "--rscales", help="Per-replicate scales (JKn: (n_h-1)/n_h): a comma "
                                          "list or a one-column CSV, e.g. --rscales rscales.csv."),
    rep_factors: bool = typer.Option(False, "--rep-factors", help="The --repweights columns are factors that "
                                     "multiply --weights (R's combined.weights=FALSE), not full replicate weights, "
                                     "e.g. BRR columns of 0 and 2."),
    mse: bool = typer.Option(False, "--mse/--no-mse", help="Replicate variance about the full-sample estimate "
                             "(--mse) or about the mean of the replicates (default), as R's survey.replicates.mse."),
    na_codes: Optional[str] = typer.Option(None, "--na-codes", help="Codes meaning missing in the analysis "
                                                                    "variable(s), e.g. --na-codes 8,9."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level of the intervals, e.g. 0.9."),
    lonely_psu: str = typer.Option("fail", "--lonely-psu", help="Single-PSU strata: fail | adjust | remove."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
    fmt: str = typer.Option("table", "--format", help="table | json"),
):
    """Design-based estimate (mean, total, proportion, ratio), contrast or t-test with its SE and CI: Taylor
    linearisation, or replicate weights; optionally after raking or GREG calibration. Checked against R's survey.

    Example: phakhi survey estimate apistrat.csv --weights pw --strata stype --fpc fpc --mean api00
    """
    try:
        rows, notes = run_estimate(
            data, weights=weights, strata=strata, psu=psu, fpc=fpc, mean=mean, total=total, proportion=proportion,
            ratio=ratio, contrast=contrast or [], contrast_of=contrast_of, ttest=ttest, group=group,
            categorical=categorical, by=by, na=na, rake=rake or [], trim=trim, calibrate=calibrate,
            population=population, calfun=calfun, bounds=bounds, cal_variance=cal_variance, replicates=replicates,
            bootstrap_replicates=bootstrap_replicates, seed=seed, repweights=repweights, rep_type=rep_type, rho=rho,
            scale=scale, rscales=rscales, rep_factors=rep_factors, mse=mse, na_codes=na_codes,
            conf_level=conf_level, lonely_psu=lonely_psu,
            sheet=sheet, fmt=fmt)
    except CliError as exc:
        _fail(str(exc))
    for note in notes:
        typer.echo(note, err=True)
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif rows and "t" in rows[0] and "group" in rows[0]:
        typer.echo(rows[0]["text"])
    else:
        typer.echo(_table(rows, list(rows[0]) if rows else OUTPUT_KEYS))


def _numbers(spec: str, option: str, example: str) -> list[float]:
    """A comma list of numbers (--cal-variance, --rscales, --bounds, --trim)."""
    try:
        return [float(v) for v in _split(spec.replace(";", ","))]
    except ValueError:
        raise CliError(f"{option} {spec!r}: expected numbers separated by commas, e.g. {example}") from None


def _bounds(value: Optional[str], option: str, floor: Optional[float] = None):
    """LOW,HIGH bounds on an adjustment factor: --bounds (calibration's g) and --trim (raking's, floor 0)."""
    if not value:
        return None
    numbers = _numbers(value, option, "0.5,2")
    if len(numbers) != 2:
        raise CliError(f"{option} {value!r}: expected LOW,HIGH, e.g. 0.5,2")
    low, high = numbers
    if not (low <= 1 <= high and (floor is None or floor <= low)):
        rule = "LOW <= 1 <= HIGH" if floor is None else f"{floor:g} <= LOW <= 1 <= HIGH"
        raise CliError(f"{option} {value!r}: the bounds must satisfy {rule}")
    return low, high


def read_population(spec: str) -> dict:
    """--population NAME=TOTAL,... or a CSV/Excel file with a column of names (term/name/variable or the first
    column) and one of totals (total/population/N/Freq/count or the last numeric column)."""
    import pandas as pd

    path = Path(spec)
    if "=" not in spec or path.suffix.lower() in READABLE and path.is_file():
        table = read_survey(path)
        names = {str(c).lower(): c for c in table.columns}
        name_col = next((names[k] for k in ("term", "name", "variable", "column") if k in names), table.columns[0])
        total_col = next((names[k] for k in ("total", "population", "n", "freq", "count", "pop")
                          if k in names and names[k] != name_col), None)
        if total_col is None:
            numeric = [c for c in table.columns if c != name_col and pd.api.types.is_numeric_dtype(table[c])]
            if not numeric:
                raise CliError(f"{path.name}: no column of population totals (name one total or population)")
            total_col = numeric[-1]
        if table[name_col].isna().any() or table[name_col].duplicated().any():
            raise CliError(f"{path.name}: the names column {name_col!r} has empty or repeated names")
        return dict(zip(table[name_col].astype(str).str.strip(), table[total_col].astype(float)))
    out = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"--population {part!r}: expected NAME=TOTAL, e.g. N=6194,api99=3914069") from None
        if not sep:
            raise CliError(f"--population {part!r}: expected NAME=TOTAL, e.g. N=6194,api99=3914069")
    return out


def _replicate_columns(df, spec: str) -> list[str]:
    from fnmatch import fnmatchcase

    columns = [str(c) for c in df.columns]
    if any(ch in spec for ch in "*?["):
        found = [c for c in columns if fnmatchcase(c, spec)]
        if not found:
            raise CliError(f"--repweights {spec!r} matches no column. Available columns: {', '.join(columns)}")
        return found
    found = list(_split(spec))
    _check_columns(df, {f"--repweights[{i + 1}]": c for i, c in enumerate(found)}, "the data")
    return found


def _rscales(spec: Optional[str]):
    if not spec:
        return None
    path = Path(spec)
    if path.suffix.lower() in READABLE and path.is_file():
        table = read_survey(path)
        return table.select_dtypes("number").iloc[:, -1].astype(float).to_numpy()
    return _numbers(spec, "--rscales", "0.5,0.5 (or a CSV file)")


def _go_with(owner: str, owner_given, options: dict) -> None:
    """Options that describe another one (--bounds of --calibrate, --rho of --repweights) are refused without it,
    naming the ones given."""
    used = [name for name, given in options.items() if given]
    if used and not owner_given:
        raise CliError(f"{', '.join(used)} {'goes' if len(used) == 1 else 'go'} with {owner}")


def _na_columns(na: Optional[str]) -> tuple[bool, tuple[str, ...]]:
    """--na -> (complete cases?, extra columns)."""
    if na in (None, "", "available"):
        return False, ()
    if na == "complete":
        return True, ()
    if na.startswith("complete:"):
        cols = _split(na.split(":", 1)[1])
        if not cols:
            raise CliError("--na complete: give the columns after the colon, e.g. --na complete:api99,enroll")
        return True, cols
    raise CliError(f"--na must be 'available', 'complete' or 'complete:COL,COL', not {na!r}")


def run_estimate(data: Path, *, weights: str, strata=None, psu=None, fpc=None, mean=None, total=None,
                 proportion=None, ratio=None, contrast=(), contrast_of="mean", ttest=None, group=None,
                 categorical=False, by=None, na=None, rake=(), trim=None, calibrate=None, population=None,
                 calfun="linear", bounds=None, cal_variance=None, replicates=None, bootstrap_replicates=200, seed=None,
                 repweights=None,
                 rep_type=None, rho=None, scale=None, rscales=None, rep_factors=False, mse=False, na_codes=None,
                 conf_level=0.95, lonely_psu="fail", sheet=None, fmt="table") -> tuple[list[dict], list[str]]:
    """The estimate command without the terminal: (rows as dicts, notes for stderr). Rows have OUTPUT_KEYS for
    estimates, phakhi.survey.contrasts.CONTRAST_COLUMNS for contrasts, and one row of t-test fields for --ttest."""
    import numpy as np

    if fmt not in ("table", "json"):
        raise CliError(f"--format must be table or json, not {fmt!r}")
    chosen = {k: v for k, v in {"mean": mean, "total": total, "proportion": proportion, "ratio": ratio,
                                "contrast": list(contrast) or None, "ttest": ttest}.items() if v}
    if len(chosen) != 1:
        raise CliError("give exactly one of --mean COL, --total COL, --proportion COL, --ratio NUM/DEN, "
                       "--contrast EXPR, --ttest COL"
                       + (f" (got {', '.join('--' + k for k in chosen)})" if chosen else ""))
    statistic, target = next(iter(chosen.items()))
    denominator = None
    if statistic == "ratio":
        if target.count("/") != 1:
            raise CliError(f"--ratio {target!r}: expected NUM/DEN, e.g. --ratio api.stu/enroll")
        target, denominator = (s.strip() for s in target.split("/"))
    if lonely_psu not in ("fail", "adjust", "remove"):
        raise CliError(f"--lonely-psu must be fail, adjust or remove, not {lonely_psu!r}")
    if (ttest is None) != (group is None):
        raise CliError("--ttest COL and --group COL go together")
    if contrast_of not in ("mean", "total"):
        raise CliError(f"--contrast-of must be mean or total, not {contrast_of!r}")
    if categorical and statistic != "total":
        raise CliError("--categorical applies to --total (the total of every category)")
    complete_cases, complete_cols = _na_columns(na)

    from phakhi.survey.contrasts import parse_contrast

    parsed = []
    if statistic == "contrast":
        try:
            parsed = [parse_contrast(c) for c in contrast]
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        items = list(dict.fromkeys(v for _, coefs in parsed for v in coefs))
        analysis = items
    elif statistic == "ttest":
        analysis = [target]
    else:
        analysis = [target] + ([denominator] if denominator else [])

    df = read_survey(Path(data), sheet)
    psu_cols, fpc_cols = _split(psu), _split(fpc)
    wanted = {"--weights": weights}
    wanted.update({f"--{statistic}" + (f"[{i + 1}]" if statistic == "contrast" else ""): c
                   for i, c in enumerate(analysis[:len(analysis) if statistic == "contrast" else 1])})
    if denominator:
        wanted["--ratio denominator"] = denominator
    wanted.update({"--group": group} if group else {})
    wanted.update({"--strata": strata} if strata else {})
    wanted.update({f"--psu[{i + 1}]": c for i, c in enumerate(psu_cols)})
    wanted.update({f"--fpc[{i + 1}]": c for i, c in enumerate(fpc_cols)})
    wanted.update({"--by": by} if by else {})
    wanted.update({f"--na complete[{i + 1}]": c for i, c in enumerate(complete_cols)})
    _check_columns(df, wanted, Path(data).name)

    from phakhi.survey import replicates as rep_mod
    from phakhi.survey.design import Design
    from phakhi.survey.raking import kish_effective_n, rake as rake_weights, weighting_deff

    df = df.copy()
    codes = [float(c) for c in _split(na_codes)]
    for col in analysis:
        if codes and df[col].dtype.kind in "iuf":
            df[col] = df[col].mask(df[col].isin(codes))
    categories = statistic == "proportion" or (statistic == "total" and (categorical or not _numeric(df[target])))
    if categories:
        df[target] = _category(df[target]).astype(object).where(df[target].notna(), None)
    for col in analysis:
        if categories:
            continue
        if not _numeric(df[col]):
            raise CliError(f"--{statistic} needs a numeric column; {col!r} holds text (e.g. "
                           f"{df[col].dropna().astype(str).head(3).tolist()}); use --proportion for categories")
        df[col] = df[col].astype("Float64").astype(float)
    for col in filter(None, (by, group)):
        df[col] = _category(df[col])
        if col == by and df[by].isna().any():
            raise CliError(f"--by column {by!r} has {int(df[by].isna().sum())} missing value(s); recode them first")
    complete = tuple(dict.fromkeys([*(analysis if complete_cases else []), *complete_cols]))

    notes, calibration = [], None
    w = df[weights]
    if not _numeric(w) or w.isna().any() or (w.astype(float) < 0).any():
        raise CliError(f"--weights column {weights!r} must be numeric, non-negative and complete")
    df[weights] = w.astype(float)
    if rake and calibrate:
        raise CliError("--rake and --calibrate both adjust the weights: use one (--calibrate with --calfun raking "
                       "rakes on a formula)")
    if rake and (replicates or repweights):
        raise CliError("replicate designs are calibrated with --calibrate (e.g. --calfun raking), not --rake")
    if repweights and (strata or psu_cols or fpc_cols or replicates):
        raise CliError("--repweights is a complete replicate design: leave out --strata/--psu/--fpc/--replicates")
    _go_with("--repweights", repweights, {"--rep-type": rep_type, "--rho": rho is not None,
                                           "--scale": scale is not None, "--rscales": rscales,
                                           "--rep-factors": rep_factors})
    _go_with("--replicates or --repweights", replicates or repweights, {"--mse": mse})
    _go_with("--calibrate", calibrate, {"--population": population, "--bounds": bounds,
                                        "--calfun": calfun != "linear", "--cal-variance": cal_variance})
    if rake:
        trim_bounds = _bounds(trim, "--trim", floor=0)
        margins = {}
        for spec in rake:
            column, targets = read_margin(spec, df)
            key = f"__rake__{column}"
            df[key] = _category(df[column]).fillna("<missing>")
            margins[key] = targets
        try:
            res = rake_weights(df, weights, margins, trim=trim_bounds)
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
        cal = None
        if calibrate:
            if not population:
                raise CliError("--calibrate needs --population (NAME=TOTAL,... or a file of totals)")
            from phakhi.survey.calibration import calibrate as calibrate_weights

            lam = _numbers(cal_variance, "--cal-variance", "1") if cal_variance else None
            cal = calibrate_weights(df, design, calibrate, read_population(population), calfun=calfun,
                                    bounds=_bounds(bounds, "--bounds"), variance=lam)
            df[cal.weights.name] = cal.weights
            notes.append(f"calibrated {weights} to {calibrate} ({calfun}{', bounds ' + bounds if bounds else ''}): "
                         f"{len(cal.names)} totals reproduced (largest gap {cal.max_abs_gap:.3g}) in "
                         f"{cal.iterations} iteration(s); g from {cal.g.min():.3f} to {cal.g.max():.3f}; Kish "
                         f"effective n {kish_effective_n(df[weights]):.1f} -> {kish_effective_n(cal.weights):.1f}")
            calibration = cal.residuals
            design = Design(cal.weights.name, strata=strata, psu=psu_cols, fpc=fpc_cols)
        if repweights:
            if not rep_type:
                raise CliError("--repweights needs --rep-type (JK1, JKn, BRR, Fay, bootstrap or other)")
            types = {t.lower(): t for t in rep_mod.TYPES}
            if rep_type.lower() not in types:
                raise CliError(f"--rep-type must be one of {', '.join(rep_mod.TYPES)}, not {rep_type!r}")
            design = rep_mod.from_columns(df, weights, _replicate_columns(df, repweights), types[rep_type.lower()],
                                          rho=rho, scale=scale, rscales=_rscales(rscales), mse=mse,
                                          combined=not rep_factors)
        elif replicates:
            kind = replicates.lower()
            base = Design(weights, strata=strata, psu=psu_cols, fpc=fpc_cols)
            if kind == "jk1":
                design = rep_mod.jk1(df, base, mse=mse)
            elif kind == "jkn":
                design = rep_mod.jkn(df, base, mse=mse)
            elif kind == "bootstrap":
                design = rep_mod.bootstrap(df, base, bootstrap_replicates, seed=seed, mse=mse)
                if fpc_cols:
                    notes.append("note: the bootstrap resamples PSUs with replacement and ignores --fpc "
                                 "(use --replicates jk1/jkn to keep the finite-population correction)")
            else:
                raise CliError(f"--replicates must be jk1, jkn or bootstrap, not {replicates!r}")
        if isinstance(design, rep_mod.ReplicateDesign):
            if cal is not None:
                design = rep_mod.calibrate_replicates(design, df, cal)
            notes.append(f"replicate design: {design.n_replicates} {design.type} replicates, scale {design.scale:.6g}, "
                         f"{'MSE' if design.mse else 'variance about the replicate mean'}; degrees of freedom "
                         f"{design.degf()}")
            calibration = None       # the replicates carry the calibration
        rows = _analyse(df, design, statistic, target, denominator, by, parsed, contrast_of, group, conf_level,
                        calibration, complete, categorical, lonely_psu)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if denominator:
        for r in rows:
            r["variable"] = f"{target}/{denominator}"
    if rows and "se" in rows[0] and not np.isfinite([r["se"] for r in rows if r["se"] is not None] or [0]).all():
        notes.append("note: some standard errors are not finite")
    return rows, notes


def _analyse(df, design, statistic, target, denominator, by, parsed, contrast_of, group, conf_level, calibration,
             complete, categorical, lonely_psu) -> list[dict]:
    from phakhi.survey import replicates as rep_mod
    from phakhi.survey.contrasts import CONTRAST_COLUMNS, contrast as one_contrast, joint, ttest as svyttest
    from phakhi.survey.design import estimate

    if statistic == "contrast":
        items = list(dict.fromkeys(v for _, coefs in parsed for v in coefs))
        rows = []
        for est in joint(df, design, contrast_of, items, by=by, calibration=calibration,
                         complete=[c for c in complete if c not in items], lonely_psu=lonely_psu):
            rows += [one_contrast(est, coefs, name, conf_level) for name, coefs in parsed]
        return [{k: _jsonable(r[k]) for k in CONTRAST_COLUMNS} for r in rows]
    if statistic == "ttest":
        res = svyttest(df, design, target, group, conf_level=conf_level, calibration=calibration,
                       lonely_psu=lonely_psu)
        return [{"variable": res.variable, "group": res.group, "levels": [str(v) for v in res.levels],
                 "means": list(res.means), "difference": res.difference, "se": res.se, "t": res.t, "df": res.df,
                 "p_value": res.p_value, "conf_level": res.conf_level, "ci_low": res.ci_low, "ci_high": res.ci_high,
                 "n": res.n, "text": res.text()}]
    kwargs = dict(denominator=denominator, by=by, conf_level=conf_level, complete=complete, categorical=categorical)
    if isinstance(design, rep_mod.ReplicateDesign):
        result = rep_mod.estimate(df, design, statistic, target, **kwargs)
    else:
        result = estimate(df, design, statistic, target, calibration=calibration, lonely_psu=lonely_psu, **kwargs)
    return [{k: _jsonable(r[k]) for k in OUTPUT_KEYS} for r in result.to_dict("records")]


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
    contrast: Optional[List[str]] = typer.Option(None, "--contrast", help="Contrast of item scores (0-100) answered by "
                                                 "the same respondents, in each wave, its change between the waves, "
                                                 "and on respondents present in both waves (panel); repeatable, e.g. "
                                                 "--contrast \"gap=k1-b1\" --contrast \"kc=0.5*k1+0.5*k2-0.5*c1-0.5*c2\"."),
    fmt: str = typer.Option("table", "--format", help="table | json | csv (what is printed)."),
    home: Optional[Path] = typer.Option(None, "--home", envvar="PHAKHI_HOME",
                                        help="Runtime directory holding the published warehouse. Default ./var"),
):
    """Compare a survey wave with the baseline: differences, SEs, 95% CIs, p-values (BH-adjusted) per measure and
    domain, refusing waves whose core questionnaire differs. Prints the table and writes a report folder."""
    try:
        code = run_compare_waves(baseline, wave, measure or [], domain or [], out, drift, fmt, home, contrast or [])
    except CliError as exc:
        _fail(str(exc))
    if code:
        raise typer.Exit(code)


def run_compare_waves(baseline, wave, measures, domains, out, drift, fmt, home, contrasts=()) -> int:
    from phakhi.settings import Paths
    from phakhi.survey.awareness import ADJUSTMENT_NAME, ADJUSTMENT, DOMAINS, MEASURES, change_table
    from phakhi.survey.comparability import check_waves
    from phakhi.survey.instrument import baseline_wave

    if fmt not in ("table", "json", "csv"):
        raise CliError(f"--format must be table, json or csv, not {fmt!r}")
    bad = [m for m in measures if m not in MEASURES] + [d for d in domains if d not in DOMAINS]
    if bad:
        raise CliError(f"unknown measure/domain {bad}; measures: {', '.join(MEASURES)}; domains: {', '.join(DOMAINS)}")
    if contrasts:
        from phakhi.ingest.contracts import load_instrument
        from phakhi.survey.item_contrasts import check_specs

        try:
            check_specs(list(contrasts), load_instrument())
        except ValueError as exc:
            raise CliError(str(exc)) from exc
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
    items_text = ""
    if contrasts:
        items = _item_contrasts(db, b, w, list(contrasts))
        items.to_csv(folder / "item_contrasts.csv", index=False, encoding="utf-8-sig")
        item_records = [{k: _jsonable(v) for k, v in r.items()} for r in items.to_dict("records")]
        (folder / "item_contrasts.json").write_text(json.dumps(item_records, ensure_ascii=False, indent=1),
                                                    encoding="utf-8")
        items_text = ("\nItem contrasts (scores 0-100; design-based SEs with the items' covariance; within a wave "
                      "complete cases over the contrast's items):\n" + _table(
                          item_records, ["kind", "wave", "contrast", "estimate", "se", "ci_low", "ci_high", "p_value",
                                         "n", "note"]))
        drift_note += ", item_contrasts.csv, item_contrasts.json"
        records = {"change": records, "item_contrasts": item_records}
    if fmt == "json":
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    elif fmt == "csv":
        typer.echo(table.to_csv(index=False), nl=False)
    else:
        typer.echo(header)
        typer.echo(comp.message())
        typer.echo(text)
        if items_text:
            typer.echo(items_text)
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


def _item_contrasts(db: Optional[Path], b: int, w: int, specs: list[str]):
    """Within-wave and panel item contrasts from the published warehouse's respondents (raked weights)."""
    import duckdb

    from phakhi.ingest.contracts import load_instrument
    from phakhi.survey.item_contrasts import item_contrast_table

    if db is None:
        raise CliError("--contrast needs the respondents of the published warehouse; only the latest publication's "
                       "estimates were found (run `phakhi refresh`)")
    instrument = load_instrument()
    items = [i["code"] for i in instrument["items"]]
    with duckdb.connect(str(db), read_only=True) as con:
        present = {c for (c,) in con.execute("select column_name from information_schema.columns where "
                                             "table_schema = 'raw' and table_name = 'survey_waves'").fetchall()}
        if not present:
            raise CliError(f"{db} holds no respondents (raw.survey_waves): --contrast cannot be computed")
        weights = con.execute("select column_name from information_schema.columns where table_schema = "
                              "'intermediate' and table_name = 'int_survey__respondent_weights'").fetchall()
        cal = [c for (c,) in weights if c.startswith("cal_")]
        join, weight = ("left join intermediate.int_survey__respondent_weights f using (wave, respondent_id)",
                        "coalesce(f.final_weight, r.weight)") if weights else ("", "r.weight")
        cols = ", ".join([f"r.{i}" for i in items if i in present] + [f"f.{c}" for c in cal])
        frames = {x: con.execute(f"select r.respondent_id, r.stratum, r.psu, {weight} as weight, {cols} "
                                 f"from raw.survey_waves r {join} where r.wave = ? order by r.respondent_id",
                                 [x]).df() for x in (b, w)}
    try:
        return item_contrast_table(frames, specs, instrument, b, w, min_n=30)   # nothing below n = 30 published
    except ValueError as exc:
        raise CliError(str(exc)) from exc


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
