"""Every dbt model reads the refreshed month through the phakhi_period() macro (env PHAKHI_PERIOD, which
phakhi/transform.py sets). A model reading var('period') directly was built for the project's default month
(2025-12) whatever month was refreshed: the linking marts did, until this test."""
import re
from pathlib import Path

DBT = Path(__file__).resolve().parents[1] / "dbt_project"
DIRECT = re.compile(r"""var\(\s*['"]period['"]""")


def test_no_model_or_test_reads_the_period_var_directly():
    offenders = [str(p.relative_to(DBT)) for folder in ("models", "tests", "snapshots")
                 for p in (DBT / folder).rglob("*") if p.suffix in (".sql", ".py") and DIRECT.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_macro_prefers_the_environment_over_the_var():
    macro = (DBT / "macros" / "phakhi_period.sql").read_text(encoding="utf-8")
    assert "env_var('PHAKHI_PERIOD', var('period')" in macro
    # read when compiling to run, not while parsing (a new month would re-parse every file calling the macro)
    assert "if execute else var('period')" in macro
