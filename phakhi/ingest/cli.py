"""`phakhi ingest` and `phakhi template`: the ingestion commands (registered in phakhi/cli.py by `register`).

    phakhi ingest FILE_OR_FOLDER...   read + check the given files against their contract, print the report
                                      (and write it as HTML/CSV); --land copies them into the landing area so
                                      the next refresh loads them, and records them in the landing ledger
    phakhi ingest --landing           the same for everything in the landing area (what a refresh ingests)
    phakhi template activity --lang th   the Excel template partners fill in
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

import typer

HomeOpt = typer.Option(None, "--home", envvar="PHAKHI_HOME",
                       help="Runtime directory (warehouse, landing, quarantine, publications). Default ./var")


def ingest(files: Optional[List[Path]] = typer.Argument(None, help="Files or folders to ingest."),
           family: Optional[str] = typer.Option(None, "--family", "-f",
                                                help="Source family (default: from the folder name or the headers)."),
           land: bool = typer.Option(False, "--land", help="Copy the files into the landing area and record them."),
           whole_landing: bool = typer.Option(False, "--landing", help="Ingest everything in the landing area."),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the HTML/CSV report."),
           workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: CPU count)."),
           home: Optional[Path] = HomeOpt):
    """Ingest files without a full refresh: read, check against the contract, quarantine, report.

    Exit code 0: every row loaded; 1: some rows quarantined or a file rejected; 2: nothing to do."""
    from rich.console import Console

    from phakhi.settings import use_home
    from phakhi.ingest import landing
    from phakhi.ingest.report import print_report, write_ingest_report

    paths = use_home(home)
    console = Console() if sys.stdout.isatty() else Console(width=160)   # piped / CI: wide enough for the table
    if family:
        from phakhi.ingest.template import FAMILY_ALIASES

        family = FAMILY_ALIASES.get(family, family)
        if family not in landing.families():
            typer.secho(f"unknown family {family!r}; one of: {', '.join(landing.families())}", fg="red", err=True)
            raise typer.Exit(2)
    if whole_landing:
        plan = landing.plan_landing(paths)
        with landing.progress_bar(plan, enabled=None) as plan:
            results = list(landing.ingest_landing_settled(paths, workers=workers, progress=landing.progress_hook(),
                                                          plan=plan))
        focus = None
    else:
        targets = _expand(files or [])
        if not targets:
            typer.secho("give files or folders to ingest, or --landing", fg="red", err=True)
            raise typer.Exit(2)
        results, focus = _ingest_files(paths, targets, family, land, workers, console)
    print_report(_only(results, focus), console)
    out = out or paths.home / "reports" / datetime.now(timezone.utc).strftime("ingest-%Y%m%dT%H%M%SZ")
    written = write_ingest_report(_only(results, focus), out)
    console.print(f"report: {written['ingest_report.html']}")
    shown = _only(results, focus)
    bad = any(len(r.quarantine) for r in shown) or any((r.file_report["status"] == "rejected").any() for r in shown
                                                         if len(r.file_report))
    raise typer.Exit(1 if bad else 0)


def _expand(items: list[Path]) -> list[Path]:
    from phakhi.ingest.files import list_files

    out = []
    for p in items:
        p = Path(p)
        if p.is_dir():
            out.extend(list_files(p))
        elif p.exists():
            out.append(p)
        else:
            typer.secho(f"not found: {p}", fg="red", err=True)
    return out


def _family_from_path(p: Path, families: list[str]) -> str | None:
    for part in reversed(p.resolve().parts[:-1]):
        if part in families:
            return part
    return None


def _ingest_files(paths, targets: list[Path], family: str | None, land: bool, workers, console):
    """Ingest the given files (checked against the registry in the landing area); with `land`, copy the
    readable ones into the landing area and ingest the whole landing area so supersession and the ledger
    are settled against everything already received."""
    from phakhi.ingest import landing
    from phakhi.ingest.files import assemble_family

    fams = landing.families()
    groups: dict[str | None, list[Path]] = {}
    for p in targets:
        groups.setdefault(family or _family_from_path(p, fams), []).append(p)

    # the partner ids rows must refer to: the landing area's registry plus any registry file given here
    registry_files = landing.plan_landing(paths).files.get(landing.REGISTRY, []) + groups.get(landing.REGISTRY, [])
    registry = None
    if registry_files:
        registry = assemble_family(landing.REGISTRY, landing.ingest_family_cached(paths, landing.REGISTRY,
                                                                                  registry_files, workers=1))
    else:
        console.print("[yellow]no partner registry in the landing area: partner ids are not checked[/]")

    plan = landing.LandingPlan(paths, {f: v for f, v in groups.items()}, {}, landing.ledger.utcnow())
    with landing.progress_bar(plan) as _:
        hook = landing.progress_hook()
        outcomes = []
        for fam, fs in groups.items():
            known = landing.known_ids(fam, registry) if fam else \
                {"partner_id": set(registry.loaded["partner_id"].dropna())} if registry is not None else None
            # the refresh's path: the per-file cache (a file already checked with this code is not read again)
            outcomes += landing.ingest_family_cached(paths, fam, fs, known, workers, hook)

    if land:
        landed = _land(paths, outcomes, console)
        results = landing.ingest_landing(paths, workers=workers)
        refused = [o for o in outcomes if o.status == "rejected" or o.family is None]
        return results + ([_rejected_only(refused)] if refused else []), landed | {o.file for o in refused}
    history = landing.ledger.read_history(paths.home)
    by_family: dict[str | None, list] = {}
    for o in outcomes:
        by_family.setdefault(o.family, []).append(o)
    results = []
    for fam, outs in by_family.items():
        if fam is None:
            results.append(_rejected_only(outs))
        else:
            results.append(assemble_family(fam, outs, history.get(fam)))
    return results, None


def _land(paths, outcomes, console) -> set[str]:
    """Copy readable files into landing/<family>/ (never overwriting a different file: a name clash gets the
    content's short hash). Returns the landing-relative paths of what was landed."""
    landed = set()
    for o in outcomes:
        if o.status == "rejected" or o.family is None:
            console.print(f"[red]not landed[/] {o.path}: {o.reason_en}")
            continue
        src = Path(o.path)
        folder = paths.landing_for(o.family)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / src.name
            if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() != o.file_hash:
                dest = folder / f"{src.stem}.{o.file_hash[:8]}{src.suffix}"
            if src.resolve() != dest.resolve() and not dest.exists():
                shutil.copy2(src, dest)
        except OSError as exc:      # a read-only or full landing area: say where and why, no traceback
            typer.secho(f"cannot land {src.name} into {folder}: {exc.strerror or exc}; check that the landing "
                        f"area is writable (nothing was landed from here on) / นำไฟล์เข้าพื้นที่รับไฟล์ไม่ได้",
                        fg="red", err=True)
            raise typer.Exit(2)
        landed.add(dest.relative_to(paths.landing).as_posix())
    return landed


def _rejected_only(outcomes):
    """Files no contract recognised: a pseudo-family holding only their file-report rows."""
    import pandas as pd

    from phakhi.ingest.files import FILE_REPORT_COLUMNS, QUARANTINE_COLUMNS, FamilyResult

    for o in outcomes:
        o.family = o.family or "(unrecognised)"
    return FamilyResult("(unrecognised)", pd.DataFrame(), pd.DataFrame(columns=QUARANTINE_COLUMNS),
                        pd.DataFrame([o.file_report_row() for o in outcomes], columns=FILE_REPORT_COLUMNS), outcomes)


def _only(results, focus: set[str] | None):
    """Results restricted to the files of interest (those just landed), or all of them."""
    if focus is None:
        return results
    from phakhi.ingest.files import FamilyResult

    out = []
    for r in results:
        m = r.file_report[r.file_report["file"].isin(focus)]
        if len(m):
            q = r.quarantine[r.quarantine["file"].isin(focus)]
            out.append(FamilyResult(r.family, r.loaded[r.loaded["_file"].isin(focus)], q, m,
                                    [f for f in r.files if f.file in focus]))
    return out


def template(family: str = typer.Argument("activity", help="activity | ghg | inventory | registry"),
             lang: str = typer.Option("th", "--lang", help="th (Thai headers) or en"),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write (default: ./phakhi_<family>_template_<lang>.xlsx)")):
    """Write the Excel template partners fill in: headers, drop-down lists, an instructions sheet."""
    from phakhi.ingest.template import default_name, write_template

    if lang not in ("th", "en"):
        typer.secho("--lang must be th or en", fg="red", err=True)
        raise typer.Exit(2)
    try:
        path = write_template(family, lang, out or Path(default_name(family, lang)))
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2)
    typer.echo(f"template written: {path}")


def register(app: typer.Typer) -> None:
    """Add the ingestion commands to the `phakhi` app."""
    app.command("ingest")(ingest)
    app.command("template")(template)
