"""One dbt process per refresh (phakhi/dbt_worker.py, phakhi/transform.py): started early, it runs the build and
then the documentation page in the same process; its exit codes are the `dbt` executable's; the page it made is
the one publish copies (no second dbt process); a refresh that needs no dbt leaves no process behind."""
import json
import subprocess
import sys
from types import SimpleNamespace

import duckdb
import pytest


def test_exit_codes_are_the_dbt_executables():
    from phakhi.dbt_worker import exit_code

    assert exit_code(SimpleNamespace(success=True, exception=None)) == 0
    assert exit_code(SimpleNamespace(success=False, exception=None)) == 1       # failing nodes
    assert exit_code(SimpleNamespace(success=False, exception=RuntimeError("x"))) == 2


def test_the_docs_are_made_again_only_for_other_code_month_or_vars(home):
    from phakhi.transform import _docs_head, docs_needed

    docs = home.dbt_work / "docs-target"
    assert docs_needed(home, "2025-12")                                          # no page yet
    docs.mkdir(parents=True)
    (docs / "static_index.html").write_text("<html></html>")
    (docs / "phakhi_docs_key.txt").write_text(f"{_docs_head(home, '2025-12')}:catalog")
    assert not docs_needed(home, "2025-12")          # only the catalog can differ: publish's key check decides
    assert docs_needed(home, "2026-01")                                          # another month
    (docs / "static_index.html").unlink()
    assert docs_needed(home, "2025-12")                                          # the page is gone


def test_an_older_page_the_docs_step_did_not_replace_gets_no_key(home, monkeypatch):
    import os

    import phakhi.transform as transform

    docs, target = home.dbt_work / "docs-target", home.dbt_work / "target"
    docs.mkdir(parents=True)
    target.mkdir(parents=True)
    (docs / "static_index.html").write_text("<html>last month</html>")
    (target / "run_results.json").write_text("{}")
    os.utime(docs / "static_index.html", (1_000_000, 1_000_000))            # made before this build's results
    monkeypatch.setattr(transform, "docs_key", lambda paths, period, warehouse=None, code=None: "head:catalog")
    transform.record_docs_key(home, "2025-12")
    assert not (docs / "phakhi_docs_key.txt").exists()                     # publish generates the page again
    os.utime(docs / "static_index.html")                                   # made after the build: its key
    transform.record_docs_key(home, "2025-12")
    assert (docs / "phakhi_docs_key.txt").read_text() == "head:catalog"


def test_the_first_commands_output_and_code_are_the_outcome(home, monkeypatch):
    """run_steps reports the first command (the build): its exit code, run_results and output before the mark."""
    import phakhi.transform as transform

    step = transform.dbt_step(home, "2025-12", extra=["--select", "x"])
    target = home.dbt_work / "target"
    sent = {}

    class FakeProcess:
        returncode = 1

        def communicate(self, text):
            sent.update(json.loads(text))
            (target / "run_results.json").write_text(json.dumps({"elapsed_time": 1.5, "results": [
                {"unique_id": "model.phakhi.x", "status": "error", "message": "boom"}]}))
            return f"build says hello\n{transform.STEP_MARK} 1\ndocs output", ""

    monkeypatch.setattr(transform, "take_dbt_process", lambda: FakeProcess())
    out = transform.run_steps(home, [step, {"prepare": "phakhi.transform:docs_step", "kwargs": {}}])
    assert not out.success and out.failures[0]["node"] == "model.phakhi.x" and out.elapsed_s == 1.5
    assert out.log_tail == "build says hello"
    assert sent["mark"] == transform.STEP_MARK and sent["steps"][0]["args"][0] == "build"
    assert sent["steps"][0]["env"]["PHAKHI_PERIOD"] == "2025-12"
    assert not (target / transform.BUILT_CODE).exists()                          # a failed build: no record


def test_a_later_step_that_breaks_leaves_the_builds_outcome(monkeypatch, tmp_path, capsys):
    """The documentation after a build can fail (or fail to be made ready): the build's exit code stands."""
    import dbt.cli.main

    from phakhi import dbt_worker

    ran = []

    class FakeRunner:
        def invoke(self, args):
            ran.append(args[0])
            return SimpleNamespace(success=True, exception=None)

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", FakeRunner)
    monkeypatch.setattr("os.environ", dict(__import__("os").environ))     # run_job replaces it per step
    built = tmp_path / "built.txt"
    step = {"args": ["build"], "env": {"A": "1"}, "cwd": str(tmp_path),
            "built_code": {"path": str(built), "value": "abc"}}
    broken = {"prepare": "phakhi.transform:no_such_function", "kwargs": {}}
    monkeypatch.chdir(tmp_path)
    assert dbt_worker.run_job({"mark": "==>", "steps": [step, broken]}) == 0
    assert ran == ["build"] and built.read_text() == "abc"
    assert "no_such_function" in capsys.readouterr().err
    failing = {"args": ["build"], "env": {}, "cwd": str(tmp_path)}
    FakeRunner.invoke = lambda self, args: ran.append(args[0]) or SimpleNamespace(success=False, exception=None)
    assert dbt_worker.run_job({"mark": "==>", "steps": [failing, step]}) == 1      # failed nodes: stops there
    assert ran == ["build", "build"]


@pytest.mark.integration
def test_an_unused_dbt_process_exits_at_once():
    proc = subprocess.run([sys.executable, "-m", "phakhi.dbt_worker"], input="", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.integration
def test_the_build_and_its_documentation_in_one_early_process(copy_sample, tmp_path, monkeypatch):
    import phakhi.transform as transform
    from phakhi.selection import BuildPlan

    sample = copy_sample(tmp_path)
    paths = sample.paths
    period = (paths.dbt_work / "target" / "phakhi_period.txt").read_text().strip()
    docs = paths.dbt_work / "docs-target"
    (docs / "phakhi_docs_key.txt").unlink(missing_ok=True)          # as after a code change: the page is due
    transform.prestart_dbt()
    early = transform._EARLY["dbt"]
    outcome = transform.build_planned(paths, period, BuildPlan("incremental", ["publication_origin+"]))
    assert outcome.success, outcome.failures
    assert early.returncode == 0 and "dbt" not in transform._EARLY   # the early process ran it, and ended
    assert "model.phakhi.publication_origin" in outcome.nodes
    assert "Done." in outcome.log_tail and transform.STEP_MARK not in outcome.log_tail
    page = docs / "static_index.html"
    assert page.exists() and "publication_origin" in page.read_text(encoding="utf-8")
    assert (docs / "phakhi_docs_key.txt").read_text() == transform.docs_key(paths, period)

    def no_dbt(*args, **kwargs):
        raise AssertionError("publish ran dbt again for a page the build's process made")

    monkeypatch.setattr(transform, "run_dbt", no_dbt)
    copied = transform.build_dbt_docs(paths, tmp_path / "pub", period)
    assert copied.read_bytes() == page.read_bytes()


@pytest.mark.integration
def test_a_failed_build_makes_no_page_and_says_why(copy_sample, tmp_path):
    import phakhi.transform as transform
    from phakhi.selection import BuildPlan

    sample = copy_sample(tmp_path)
    paths = sample.paths
    period = (paths.dbt_work / "target" / "phakhi_period.txt").read_text().strip()
    docs = paths.dbt_work / "docs-target"
    (docs / "phakhi_docs_key.txt").unlink(missing_ok=True)
    (docs / "static_index.html").unlink(missing_ok=True)
    with duckdb.connect(str(paths.build_db)) as con:
        con.execute("update marts.dim_provinces set region = null where province_code = 'TH-10'")
    broken = transform.build_planned(paths, period, BuildPlan("incremental", ["columns_dim_provinces"]))
    assert not broken.success and broken.failures[0]["node"].startswith("test.phakhi.columns_dim_provinces")
    assert "not_null region" in broken.failures[0]["message"]
    assert not (paths.dbt_work / "target" / transform.BUILT_CODE).exists()
    assert not (docs / "static_index.html").exists()                 # the documentation did not follow


def test_dbt_log_file_is_info_unless_asked(monkeypatch, tmp_path):
    """dbt's debug log file (every query's SQL and connection event) was formatted and written for nobody:
    the refresh reads run_results.json. Info by default; DBT_LOG_LEVEL_FILE still chooses."""
    from phakhi.settings import Paths
    from phakhi.transform import dbt_env

    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    assert dbt_env(Paths(tmp_path))["DBT_LOG_LEVEL_FILE"] == "info"
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    assert dbt_env(Paths(tmp_path))["DBT_LOG_LEVEL_FILE"] == "debug"


def test_the_parse_ahead_is_for_the_builds_environment_and_vars_only(home):
    """One parse serves the build and the documentation (same environment, project, profile and vars, whatever
    the command, selection or target folder), of any month - the project reads the month only when compiling to
    run, so it can be parsed before the month is known; another warehouse or other vars: its own."""
    import phakhi.transform as transform

    ahead = transform.parse_step(home, "2025-12")
    build = transform.dbt_step(home, "2025-12", extra=["--select", "x+"])
    docs = transform.dbt_step(home, "2025-12", command="docs generate", extra=["--static", "--no-compile"],
                              target=home.dbt_work / "docs-target")
    assert ahead["parse_key"] == build["parse_key"] == docs["parse_key"]
    assert ahead["args"][:2] == ["--quiet", "parse"] and "--no-write-json" in ahead["args"]
    assert str(home.dbt_work / "target") not in ahead["args"]         # the last build's files stay as they are
    assert transform.dbt_step(home, "2026-01")["parse_key"] == ahead["parse_key"]
    scoped = transform.dbt_step(home, "2025-12", scope={"tests": {"fct_activities": ["2025-12"]}})   # read when run
    assert scoped["parse_key"] == ahead["parse_key"] and scoped["env"][transform.SCOPE_ENV] == \
        '{"tests": {"fct_activities": ["2025-12"]}}' and transform.SCOPE_ENV not in build["env"]
    unknown = transform.parse_step(home, None)                       # before ingest: the month is not known yet
    assert unknown["parse_key"] == ahead["parse_key"] and transform.PERIOD_ENV not in unknown["env"]
    assert transform.dbt_step(home, "2025-12", warehouse=home.home / "other.duckdb")["parse_key"] != ahead["parse_key"]


def test_which_steps_reuse_the_manifest_parsed_ahead():
    from phakhi.dbt_worker import reuses

    parsed = {"key": "k", "manifest": object()}
    assert reuses({"args": ["build", "--select", "x"], "parse_key": "k"}, parsed)
    assert reuses({"args": ["docs", "generate", "--static", "--no-compile"], "parse_key": "k"}, parsed)
    # a documentation step that compiles writes the manifest it holds: not the build's (it compiled tests too)
    assert not reuses({"args": ["docs", "generate", "--static"], "parse_key": "k"}, parsed)
    assert not reuses({"args": ["build"], "parse_key": "other"}, parsed)
    assert not reuses({"args": ["build"], "parse_key": "k"}, None)              # no parse, or it failed
    assert not reuses({"args": ["build"]}, parsed)
    # a parse that read the month while parsing (dbt's manifest.env_vars) serves only that month's steps
    read = {**parsed, "period_read": True, "period_env": "PHAKHI_PERIOD", "period": "2025-12"}
    assert reuses({"args": ["build"], "parse_key": "k", "env": {"PHAKHI_PERIOD": "2025-12"}}, read)
    assert not reuses({"args": ["build"], "parse_key": "k", "env": {"PHAKHI_PERIOD": "2026-01"}}, read)
    assert reuses({"args": ["build"], "parse_key": "k", "env": {"PHAKHI_PERIOD": "2026-01"}},
                  {**read, "period_read": False})


def test_the_parse_aheads_output_is_not_the_builds(home, monkeypatch):
    import phakhi.transform as transform

    step = transform.dbt_step(home, "2025-12")

    class FakeProcess:
        returncode = 0

        def communicate(self, text):
            return f"parse warning\n{transform.PARSE_MARK}\nbuild says hello\n{transform.STEP_MARK} 1\ndocs", ""

    monkeypatch.setattr(transform, "take_dbt_process", lambda: FakeProcess())
    assert transform.run_steps(home, [step]).log_tail == "build says hello"


def test_an_early_process_that_gets_no_job_is_ended(monkeypatch):
    import phakhi.transform as transform

    class Sleeper:
        def __init__(self):
            self.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE,
                                         text=True)

    proc = Sleeper().proc
    monkeypatch.setitem(transform._EARLY, "dbt", proc)
    transform.discard_dbt_process()
    assert proc.poll() is not None and "dbt" not in transform._EARLY


@pytest.mark.integration
def test_the_build_on_the_manifest_parsed_ahead(copy_sample, tmp_path, monkeypatch):
    """prestart_dbt with the month: the project is parsed before the job, and the build and its documentation
    run on that manifest (dbtRunner(manifest=...)), with the outcome and page a build parsing itself gives."""
    import phakhi.transform as transform
    from phakhi.selection import BuildPlan

    sample = copy_sample(tmp_path)
    paths = sample.paths
    period = (paths.dbt_work / "target" / "phakhi_period.txt").read_text().strip()
    docs = paths.dbt_work / "docs-target"
    (docs / "phakhi_docs_key.txt").unlink(missing_ok=True)          # the page is due
    trace = tmp_path / "timeline.jsonl"
    monkeypatch.setenv("PHAKHI_TIMELINE", str(trace))
    transform.prestart_dbt(paths, parse=True)                        # before ingest: the month is not known
    transform.prestart_dbt(paths, period)                            # asked again with the month: one parse
    outcome = transform.build_planned(paths, period, BuildPlan("incremental", ["publication_origin+"]))
    assert outcome.success, outcome.failures
    events = [json.loads(line)["event"] for line in trace.read_text().splitlines()]
    assert events.count("dbt process: parsed") == 1
    assert "dbt process: step 0 done (manifest reused; code 0)" in events
    assert "model.phakhi.publication_origin" in outcome.nodes
    assert "Done." in outcome.log_tail and transform.PARSE_MARK not in outcome.log_tail
    assert (paths.dbt_work / "parse-target" / "partial_parse.msgpack").exists()
    manifest = json.loads((paths.dbt_work / "target" / "manifest.json").read_text())
    assert period in manifest["nodes"]["model.phakhi.publication_origin"]["compiled_code"]   # the month, compiled
    page = docs / "static_index.html"
    assert page.exists() and "publication_origin" in page.read_text(encoding="utf-8")


def test_the_early_start_is_for_a_home_with_a_months_files_landed_since_publication(home, monkeypatch):
    import os

    import phakhi.transform as transform

    started = []
    monkeypatch.setattr(transform, "prestart_dbt", lambda paths=None, period=None, parse=False: started.append(period))
    monkeypatch.setattr(transform, "_LANDED", {})
    transform.prestart_dbt_early(home, "2025-12")
    assert started == []                                       # no publication yet: nothing to go by
    home.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home.published_db)) as con:
        con.execute("create schema raw; create table raw.t as select 1 as x")
    home.published_inputs.write_text("{}")
    (home.landing / "activity_reports").mkdir(parents=True, exist_ok=True)
    old = home.landing / "activity_reports" / "old.csv"
    old.write_text("a\n1\n")
    os.utime(old, (1_000_000, 1_000_000))                     # landed before the publication
    assert not transform.landed_since_publication(home)
    transform.prestart_dbt_early(home, "2025-12")
    assert started == []                                       # nothing new landed: most likely nothing to build
    for name in ("new.csv", "newer.csv"):
        (home.landing / "activity_reports" / name).write_text("a\n2\n")
    transform._LANDED.clear()                                  # (counted once per process)
    assert transform.landed_since_publication(home) == 1       # counted up to what is asked
    assert transform.landed_since_publication(home, 5) == 2
    transform.prestart_dbt_early(home, "2025-12")
    assert started == ["2025-12"]
    monkeypatch.setattr("phakhi.warm_imports.WARM_GX_DURING_DBT_BELOW_ROWS", 1)
    transform.prestart_dbt_early(home, "2026-01")
    assert started == ["2025-12", "2026-01"]                   # a large home with a month's files landed
    monkeypatch.setattr(transform, "EARLY_DBT_MAX_NEW_FILES", 1)
    transform.prestart_dbt_early(home, "2026-02")
    assert started == ["2025-12", "2026-01"]                   # more: ingest's memory peak comes first

def test_secrets_are_listed_once_per_command_and_still_scrubbed(monkeypatch):
    """dbt lists the DBT_ENV_SECRET_* values from the whole environment for every log line it formats; the
    worker lists them once per command (its environment is set then) and dbt still scrubs them."""
    import dbt_common.exceptions
    from dbt_common.events import functions

    from phakhi.dbt_worker import list_secrets_once

    monkeypatch.setattr(functions, "env_secrets", functions.env_secrets)         # put back after the test
    listed = []
    real = dbt_common.exceptions.env_secrets
    monkeypatch.setattr(dbt_common.exceptions, "env_secrets", lambda: listed.append(1) or real())
    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "s3cr3t")
    list_secrets_once()
    assert [functions.env_scrubber(f"line {i}: token s3cr3t") for i in range(3)] == \
        [f"line {i}: token *****" for i in range(3)]
    assert len(listed) == 1                                                       # once, not once per line
    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "other")                           # the next command's environment
    list_secrets_once()
    assert functions.env_scrubber("other s3cr3t") == "***** s3cr3t"
