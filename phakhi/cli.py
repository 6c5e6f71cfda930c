"""`phakhi` — the command line for DCCE's climate-partner data platform."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Phakhi (ภาคี): monthly refresh of DCCE's climate-partner reports, GHG reductions and "
                       "awareness surveys, gated by data-quality checks, published as a bilingual dashboard.",
                  no_args_is_help=True, add_completion=False)
pubs_app = typer.Typer(help="List published snapshots or roll `latest` back to an earlier one.", no_args_is_help=True)
app.add_typer(pubs_app, name="publications")

HomeOpt = typer.Option(None, "--home", envvar="PHAKHI_HOME",
                       help="Runtime directory (warehouse, landing, quarantine, publications). Default ./var")


@app.command()
def sample(home: Optional[Path] = HomeOpt, force: bool = typer.Option(False, help="Write even if landing is not empty.")):
    """Write the deterministic SAMPLE data set into the landing area."""
    from phakhi.settings import use_home
    from phakhi.sample import landing_is_empty, write_sample

    paths = use_home(home)
    from phakhi.home import is_real_home

    if is_real_home(paths):
        typer.secho(f"{paths.home} is a home for REAL data (phakhi init): SAMPLE data is never written into it; "
                    f"use another --home for SAMPLE data", fg="red", err=True)
        raise typer.Exit(1)
    if not force and not landing_is_empty(paths.landing):
        typer.echo(f"landing area {paths.landing} is not empty; use --force to add the sample anyway")
        raise typer.Exit(1)
    counts = write_sample(paths.landing)
    typer.echo(f"SAMPLE data written to {paths.landing}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@app.command()
def refresh(period: Optional[str] = typer.Option(None, help="Month to refresh, YYYY-MM (default: latest month in the data)."),
            home: Optional[Path] = HomeOpt,
            force: bool = typer.Option(False, "--force", help="Refresh even when nothing changed since the live publication."),
            full: bool = typer.Option(False, "--full", help="Build the warehouse from scratch and run the whole gate."),
            full_gate: bool = typer.Option(False, "--full-gate", help="Run every gate suite on every row.")):
    """Run the monthly refresh (ingest → dbt → quality gate → drift → publish). Generates SAMPLE data first
    when the landing area is empty."""
    from phakhi.timing import milestone
    from phakhi.supervise import supervised

    milestone(f"refresh command ({'child' if supervised() else 'supervisor'})")
    from phakhi.settings import use_home

    paths = use_home(home)
    early = None
    if not supervised():          # Prefect's temporary server first: its start-up is the refresh's critical
        from phakhi.supervise import start_server_early       # path; a refusal below stops it at exit

        early = start_server_early()
    from phakhi.sample import landing_is_empty, write_sample

    from phakhi.lock import RefreshLocked, holder, is_locked
    from phakhi.supervise import run_supervised

    from phakhi.home import is_real_home, mixing_problems

    if landing_is_empty(paths.landing) and is_real_home(paths):
        typer.secho(f"nothing to refresh: the landing area {paths.landing} is empty. Put partner files in its "
                    f"folders (partner_registry/, activity_reports/, ghg_reductions/, survey_waves/) or add "
                    f"partners with `phakhi partners add|import`.", fg="red", err=True)
        raise typer.Exit(1)
    for problem in ([] if landing_is_empty(paths.landing) else mixing_problems(paths)):
        typer.secho(f"Refresh refused: {problem}", fg="red", err=True)
        raise typer.Exit(1)
    if is_locked(paths.home):                       # say so before starting anything (issue 12)
        typer.secho(str(RefreshLocked(paths.home, holder(paths.home))), fg="red", err=True)
        raise typer.Exit(1)
    if not supervised():          # a native crash must not orphan Prefect's temporary server: run in a group
        flags = [f for f, on in (("--force", force), ("--full", full), ("--full-gate", full_gate)) if on]
        raise typer.Exit(run_supervised(["refresh", "--home", str(paths.home)] + (["--period", period] if period else [])
                                        + flags, prefect_server=True, early=early))
    from phakhi.prefect_api import adopt_early_server, start_early_server
    from phakhi.supervise import freeze_heap, paused_gc

    freeze_heap(at_exit=True)     # first exit handler registered: the last to run
    # Prefect's temporary API boots (~4-5 s, its own process) while this process imports the stack; stopped
    # at exit whatever happens (and, after a crash, by the supervisor with the whole process group)
    early = start_early_server()
    with paused_gc():             # the stack's imports: long-lived objects only, frozen once imported
        # dbt's process imports dbt (~2.5 s CPU) beside the server's start and the stack's imports: started
        # after them, it was still importing when the flow asked it to parse (its parse then ended ~1 s after the
        # build was asked for, on a near-empty home). The flow asks for the month's parse once Prefect's settings
        # are final (the parse is keyed by the environment dbt will see).
        if early is not None:
            from phakhi.transform import prestart_dbt_early

            prestart_dbt_early(paths)
        from flows.pipeline import GateFailed, PublishFailed, TransformFailed, monthly_refresh
        from phakhi.lock import refresh_lock

        milestone("stack imported")
        if early is not None:     # what the flow imports on its way, while the server still starts
            from phakhi.warm_imports import warm_flow_imports

            warm_flow_imports()
        adopt_early_server(early)
        freeze_heap()             # the stack is imported: later collections need not walk it

    started = time.perf_counter()
    try:
        # the lock is taken here, before Prefect starts (the flow re-enters it): a second refresh is refused
        # in one line, and two runs never write the SAMPLE data at once
        with refresh_lock(paths.home, f"phakhi refresh{' --period ' + period if period else ''}"):
            if landing_is_empty(paths.landing):
                typer.echo(f"landing area is empty: writing SAMPLE data to {paths.landing}")
                write_sample(paths.landing)
            from phakhi.prefect_api import temporary_run_settings

            with temporary_run_settings():
                milestone("flow called")
                publication = monthly_refresh(period=period, home=str(paths.home), force=force, full=full,
                                              full_gate=full_gate)
            milestone("flow returned")
            import atexit

            atexit.register(milestone, "exit handlers start")   # the last registered: the first to run
    except RefreshLocked as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    except (GateFailed, TransformFailed, PublishFailed) as exc:
        typer.secho(f"\nRefresh FAILED: {exc}", fg="red", err=True)
        raise typer.Exit(1)
    except Exception as exc:  # a crash still says what happened in one line before exiting non-zero
        typer.secho(f"\nRefresh FAILED ({type(exc).__name__}): {exc}", fg="red", err=True)
        raise typer.Exit(2)
    from phakhi.publish.pointers import last_attempt

    attempt = last_attempt(paths.publications) or {}
    if attempt.get("outcome") == "unchanged" and attempt.get("publication_id") == Path(publication).name:
        from phakhi.refresh_inputs import unchanged_message

        typer.echo(f"\n{unchanged_message(attempt.get('period'), attempt['publication_id'])}")
        typer.echo(f"Dashboard: {Path(paths.latest, 'index.html')}")
        return
    if Path(publication).parent == paths.candidate_dir:      # PHAKHI_REVIEW_DAYS > 0: the right of reply
        typer.echo(f"\nCandidate ready in {time.perf_counter() - started:.0f}s: {publication}\nPartners review it in "
                   "the portal; DCCE approves in the console (or `phakhi publish-candidate`).")
        return
    typer.echo(f"\nPublished in {time.perf_counter() - started:.0f}s: {publication}")
    typer.echo(f"Dashboard: {Path(paths.latest, 'index.html')}")
    typer.echo(f"Publications index (works without symlinks): {paths.publications / 'index.html'}")


@app.command()
def init(home: Optional[Path] = HomeOpt):
    """Make an empty home for REAL data: no SAMPLE data is ever written into it, and the dashboard shows no
    SAMPLE banner. Then add partners (`phakhi partners add|import`) and drop files in the landing folders."""
    from phakhi.home import HomeMixed, init_home
    from phakhi.settings import Paths

    try:
        for line in init_home(Paths.from_env(home)):
            typer.echo(line)
    except HomeMixed as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("next: phakhi partners import FILE (or add), then put monthly files in landing/<family>/ and run "
               "phakhi refresh --period YYYY-MM")


partners_app = typer.Typer(help="Keep the partner registry (through the landing area: contract checks and "
                                "history apply).", no_args_is_help=True)
app.add_typer(partners_app, name="partners")


def _report_change(change) -> None:
    from phakhi.partners import describe

    if not change.ok:
        for p in change.problems:
            typer.secho(describe(p), fg="red", err=True)
        typer.secho("registry NOT changed", fg="red", err=True)
        raise typer.Exit(1)
    if change.added:
        typer.echo(f"added: {', '.join(change.added)}")
    if change.updated:
        typer.echo(f"updated: {', '.join(change.updated)}")
    typer.echo(f"registry file written: {change.written} (used from the next refresh)")


@partners_app.command("add")
def partners_add(partner_id: str = typer.Option(..., "--id", help="DCCE partner id, e.g. P001."),
                 name_th: str = typer.Option(..., "--name-th"), name_en: Optional[str] = typer.Option(None, "--name-en"),
                 partner_type: str = typer.Option(..., "--type", help="pao, municipality, sao, special_lg, business, "
                                                  "tourism, agriculture, education, civil_society, government_agency (or Thai)."),
                 province: str = typer.Option(..., help="Province name (Thai or English) or ISO code."),
                 join_date: str = typer.Option(..., "--join-date", help="Date joined (2025-01-15 or 15/01/2568)."),
                 base_year: str = typer.Option(..., "--base-year", help="Pledge base year (CE or B.E.)."),
                 baseline: float = typer.Option(..., "--baseline", help="Base-year emissions, tCO2e/year."),
                 target_year: str = typer.Option(..., "--target-year"),
                 reduction_pct: float = typer.Option(..., "--reduction-pct"),
                 net_zero_year: Optional[str] = typer.Option(None, "--net-zero-year"),
                 parent: Optional[str] = typer.Option(None, "--parent", help="Parent partner id, if any."),
                 email: Optional[str] = typer.Option(None, "--email"),
                 update: bool = typer.Option(False, "--update", help="Replace an existing partner's row."),
                 home: Optional[Path] = HomeOpt):
    """Add (or --update) one partner."""
    from phakhi.partners import add
    from phakhi.settings import use_home

    row = {"partner_id": partner_id, "name_th": name_th, "name_en": name_en, "partner_type": partner_type,
           "province_code": province, "parent_partner_id": parent, "join_date": join_date,
           "pledge_base_year": base_year, "baseline_tco2e": baseline, "target_year": target_year,
           "reduction_pct": reduction_pct, "net_zero_year": net_zero_year, "contact_email": email}
    _report_change(add(use_home(home), row, allow_update=update))


@partners_app.command("import")
def partners_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV/Excel/SPSS file of partners."),
                    update: bool = typer.Option(False, "--update", help="Replace rows of partners already registered."),
                    home: Optional[Path] = HomeOpt):
    """Add every partner of a file (registry columns, Thai or English headers); nothing is written if a row
    fails the partner_registry contract."""
    from phakhi.partners import import_file
    from phakhi.settings import use_home

    _report_change(import_file(use_home(home), file, allow_update=update))


@partners_app.command("list")
def partners_list(home: Optional[Path] = HomeOpt):
    """The registry as the next refresh will load it."""
    from phakhi.partners import current
    from phakhi.settings import use_home

    rows = current(use_home(home))
    if not rows:
        typer.echo("the registry is empty; add partners with `phakhi partners add` or `phakhi partners import FILE`")
        return
    for r in rows:
        typer.echo(f"{r['partner_id']}  {r['partner_type']:<17} {r['province_code']:<6} {r['name_th']}"
                   + (f" / {r['name_en']}" if r.get("name_en") else ""))
    typer.echo(f"{len(rows)} partner(s)")


@app.command()
def backfill(start: str = typer.Argument(..., help="First month, YYYY-MM."),
             end: str = typer.Argument(..., help="Last month, YYYY-MM (included)."),
             force: bool = typer.Option(False, "--force", help="Refresh months that already have a publication."),
             keep_going: bool = typer.Option(False, "--keep-going", help="Go on after a month fails."),
             deployment: Optional[str] = typer.Option(None, help="Run each month on the Prefect server as a run of "
                                                      "this deployment (e.g. monthly-refresh/monthly), not here."),
             home: Optional[Path] = HomeOpt):
    """Refresh every month from START to END in order, skipping months already published unless --force."""
    from flows.backfill import backfill as run_backfill, run_through_deployment

    try:
        done = run_backfill(start, end, force=force, home=home, keep_going=keep_going,
                            run=run_through_deployment(deployment) if deployment else None,
                            on_month=lambda o: typer.echo(f"{o.period}  {o.status:<9}  {o.detail}"))
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2)
    raise typer.Exit(1 if any(o.status == "failed" for o in done) else 0)


@pubs_app.command("list")
def publications_list(home: Optional[Path] = HomeOpt):
    """List publications (newest last); * marks the one `latest` points to."""
    from phakhi.settings import use_home
    from phakhi.publish.files import list_publications

    paths = use_home(home)
    rows = list_publications(paths.publications)
    if not rows:
        typer.echo("no publications yet; run `phakhi refresh`")
    for r in rows:
        typer.echo(f"{'*' if r['latest'] else ' '} {r['id']}  period={r['period']}  created={r['created_at']}")


@pubs_app.command("rollback")
def publications_rollback(publication_id: str, home: Optional[Path] = HomeOpt):
    """Point `latest` at an earlier publication (atomic switch; nothing is deleted)."""
    from phakhi.settings import use_home
    from phakhi.publish.files import switch_latest

    paths = use_home(home)
    try:
        switch_latest(paths.publications, publication_id)
    except FileNotFoundError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"latest -> {publication_id}")


@app.command()
def doctor(verbose: bool = typer.Option(False, "--verbose", "-v", help="One line per case.")):
    """Try the platform against a corpus of malformed and hostile inputs and print what held (cases tried,
    clear errors, tracebacks, rows lost, publications damaged). Exit 1 when a case fails."""
    from phakhi.doctor import run_doctor

    report = run_doctor()
    for r in report.results:
        if verbose or not r.ok:
            mark = "ok  " if r.ok else "FAIL"
            typer.echo(f"{mark} {r.klass:<18} {r.name:<40} {r.detail[:110]}")
            if r.traceback:
                typer.echo(r.traceback)
    typer.echo("classes: " + ", ".join(f"{k}={v}" for k, v in sorted(report.classes().items())))
    for k, v in report.figures().items():
        typer.echo(f"{k:<25}{v}")
    raise typer.Exit(1 if report.failed or report.tracebacks or report.rows_lost or report.publications_damaged else 0)


from phakhi.survey.cli import compare_waves, survey_app  # noqa: E402  (the evaluator's commands)
app.add_typer(survey_app, name="survey")
app.command("compare-waves")(compare_waves)


from phakhi.ingest.cli import register as _register_ingest  # noqa: E402  (ingest, template)
_register_ingest(app)


from phakhi.publish.serve import serve  # noqa: E402  (dashboard preview on 127.0.0.1)
app.command()(serve)


from portal.cli import portal_app  # noqa: E402  (the partner portal: serve, invite)
app.add_typer(portal_app, name="portal")


@app.command("publish-candidate")
def publish_candidate_cmd(run_id: Optional[str] = typer.Argument(None, help="Candidate run id (default: the open one)."),
                          home: Optional[Path] = HomeOpt):
    """Publish a refresh held for the partners' review (PHAKHI_REVIEW_DAYS > 0), as DCCE's console does."""
    from phakhi.review import open_candidate, publish_candidate
    from phakhi.settings import use_home

    paths = use_home(home)
    cand = open_candidate(paths)
    run_id = run_id or (cand or {}).get("run_id")
    if not run_id:
        typer.secho("no candidate publication is waiting", fg="red", err=True)
        raise typer.Exit(1)
    try:
        pub = publish_candidate(paths, run_id, decided_by="cli")
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        typer.secho(f"not published: {exc}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Published: {pub}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
