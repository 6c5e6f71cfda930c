"""dbt's exact_sum / exact_avg macros (dbt_project/macros/exact_sum.sql): a sum of doubles that does not depend on
the order of the rows, so a full and an incremental build of the same rows publish the same bytes."""
import random
import re
from pathlib import Path

import duckdb
import jinja2
import pytest

DBT = Path(__file__).resolve().parents[1] / "dbt_project"


def sql_of(call: str) -> str:
    """A macro call rendered with the macro file's own Jinja (the macros use nothing of dbt's context)."""
    source = (DBT / "macros" / "exact_sum.sql").read_text(encoding="utf-8")
    return jinja2.Environment().from_string(source + "{{ " + call + " }}").render().strip()


@pytest.fixture(scope="module")
def orders():
    """The same 300,000 tCO2e-like doubles in three row orders, several threads (DuckDB sums in parallel)."""
    rng = random.Random(17)
    values = [round(rng.uniform(0, 500), rng.choice([1, 2, 3, 7])) for _ in range(300_000)]
    con = duckdb.connect(config={"threads": 4})
    for name, ordered in (("up", sorted(values)), ("down", sorted(values, reverse=True)), ("as_is", values)):
        con.execute(f"create table {name} (x double)")
        con.execute(f"insert into {name} select unnest($1::double[])", [ordered])
    return con


def test_exact_sum_is_the_same_in_every_row_order(orders):
    exact_x = sql_of('exact_sum("x")')
    plain = {t: orders.execute(f"select sum(x) from {t}").fetchone()[0] for t in ("up", "down", "as_is")}
    exact = {t: orders.execute(f"select {exact_x} from {t}").fetchone()[0]
             for t in ("up", "down", "as_is")}
    assert len(set(plain.values())) > 1          # what the macro is for: a plain sum of doubles depends on the order
    assert len(set(exact.values())) == 1
    assert exact["up"] == pytest.approx(plain["up"], rel=1e-12)
    assert orders.execute(f"select typeof({exact_x}) from up").fetchone()[0] == "DOUBLE"


def test_exact_sum_rounds_away_representation_noise():
    exact_x = sql_of('exact_sum("x")')
    con = duckdb.connect()
    got = con.execute(f"select {exact_x} from (values (0.1), (0.2), (181.49)) t(x)").fetchone()[0]
    assert got == 181.79                          # a plain double sum gives 181.79000000000002
    assert con.execute(f"select {exact_x} from (select 1.5::double as x where false)").fetchone()[0] is None


def test_exact_avg_of_shares_in_every_row_order(orders):
    avg_x = sql_of('exact_avg("x / 500")')
    got = {orders.execute(f"select {avg_x} from {t}").fetchone()[0]
           for t in ("up", "down", "as_is")}
    assert len(got) == 1
    mean = orders.execute("select avg(x / 500) from up").fetchone()[0]
    assert got.pop() == pytest.approx(mean, rel=1e-15)


def test_models_sum_quantities_through_the_macro():
    """A tCO2e or THB quantity is never summed or averaged bare in a model (a window sum spells the cast itself)."""
    bare = re.compile(r"\b(?:sum|avg)\((?:(?!\bover\b)[^;])*?(?:_tco2e|_thb|completeness)\b[^)]*\)(?!\s*over)",
                      re.IGNORECASE)
    found = []
    for path in sorted((DBT / "models").rglob("*.sql")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if bare.search(line) and "decimal(38, 9)" not in line:
                found.append(f"{path.relative_to(DBT)}:{n}: {line.strip()}")
    assert not found, "sum a double quantity with {{ exact_sum(...) }}:\n" + "\n".join(found)
