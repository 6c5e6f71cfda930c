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
    if not force and not landing_is_empty(paths.landing):
        typer.echo(f"landing area {paths.landing} is not empty; use --force to add the sample anyway")
        raise typer.Exit(1)
    counts = write_sample(paths.landing)
    typer.echo(f"SAMPLE data written to {paths.landing}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@app.command()
def refresh(period: Optional[str] = typer.Option(None, help="Month to refresh, YYYY-MM (default: latest month in the data)."),
            home: Optional[Path] = HomeOpt):
    """Run the monthly refresh (ingest → dbt → quality gate → drift → publish). Generates SAMPLE data first
    when the landing area is empty."""
    from phakhi.settings import use_home
    from phakhi.sample import landing_is_empty, write_sample

    paths = use_home(home)
    if landing_is_empty(paths.landing):
        typer.echo(f"landing area is empty: writing SAMPLE data to {paths.landing}")
        write_sample(paths.landing)
    from flows.pipeline import GateFailed, TransformFailed, monthly_refresh

    started = time.perf_counter()
    try:
        publication = monthly_refresh(period=period, home=str(paths.home))
    except (GateFailed, TransformFailed) as exc:
        typer.secho(f"\nRefresh FAILED: {exc}", fg="red", err=True)
        raise typer.Exit(1)
    except Exception as exc:  # a crash still says what happened in one line before exiting non-zero
        typer.secho(f"\nRefresh FAILED ({type(exc).__name__}): {exc}", fg="red", err=True)
        raise typer.Exit(2)
    if Path(publication).parent == paths.candidate_dir:      # PHAKHI_REVIEW_DAYS > 0: the right of reply
        typer.echo(f"\nCandidate ready in {time.perf_counter() - started:.0f}s: {publication}\nPartners review it in "
                   "the portal; DCCE approves in the console (or `phakhi publish-candidate`).")
        return
    typer.echo(f"\nPublished in {time.perf_counter() - started:.0f}s: {publication}")
    typer.echo(f"Dashboard: {Path(paths.latest, 'index.html')}")


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
