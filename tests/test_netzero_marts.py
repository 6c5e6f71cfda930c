"""The Net Zero marts after a real monthly refresh of the SAMPLE data, checked against figures recomputed here
by hand - GHG claims read straight from the landing CSVs, the registry and activities from the raw tables as
ingested, targets from the seed CSVs - never from the dbt models being tested:

- one partner's progress by hand (pledge, path, 12-month claims, duplicates, completeness, status, percentile)
- each target's trajectory equals its formula
- the national roll-up equals the sum of partners minus the flagged duplicates (dedup rules re-implemented)
- province / sector / ACE roll-ups add up to the claims and activities
- incremental facts == full refresh (late, corrected and withdrawn reports, a revised emission factor)
- a registry change across two refreshes gives two versions in the persistent snapshot (runs last)
"""
import csv
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

PERIOD = "2025-12"
THAI_ABBR = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
GRID_FACTOR_2025 = 0.4999            # kgCO2e/kWh, TGO's previous factor, in force through 31 Dec 2025
METHODS = {"T-VER": "t_ver", "LESS": "less", "CFO": "cfo", "ประเมินเอง": "self_estimate", "Premium T-VER": "premium_t_ver"}
PRIORITY = {"premium_t_ver": 1, "t_ver": 2, "less": 3, "cfr": 4, "cfo": 5, "cfp": 6, "self_estimate": 9}
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


# ------------------------------------------------------------------ the refresh and the landing files
@pytest.fixture(scope="module")
def refreshed(copy_sample, tmp_path_factory):
    """A copy of the session's refreshed SAMPLE home (tests/conftest.py), whose month is PERIOD; the last test
    refreshes it again."""
    paths, publication = copy_sample(tmp_path_factory.mktemp("netzero"))
    assert publication.name.startswith(f"{PERIOD}-")
    return paths, publication


def sql(paths, query: str) -> pd.DataFrame:
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        return con.execute(query).df()


THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def number(text: str) -> float | None:
    """A number as partners write it: Thai digits, thousands separators, a unit after it."""
    text = text.translate(THAI_DIGITS).replace(",", "").strip()
    return float(text.split()[0]) if text else None


def be_year(text: str) -> int:
    y = int(text.translate(THAI_DIGITS))
    return y - 543 if y > 2400 else y


def registry(paths) -> dict[str, dict]:
    """The registry as ingested (raw.partner_registry: typed, provinces normalised to ISO codes)."""
    df = sql(paths, "select * from raw.partner_registry")
    rows = {}
    for r in df.to_dict("records"):
        r["parent_partner_id"] = r["parent_partner_id"] if isinstance(r["parent_partner_id"], str) else ""
        r["join"], r["base"] = r["join_date"], int(r["pledge_base_year"])
        rows[r["partner_id"]] = r
    return rows


def claims(landing: Path) -> list[dict]:
    """Every GHG claim read straight from the landing CSVs (cp874, Thai headers, B.E. months)."""
    out = []
    for path in sorted((landing / "ghg_reductions").glob("*.csv")):
        with path.open(encoding="cp874", newline="") as fh:
            for row in csv.DictReader(fh):
                month, year = row["เดือน"].split()
                period = f"{be_year(year)}-{THAI_ABBR.index(month) + 1:02d}"
                direct = number(row["ปริมาณก๊าซที่ลดได้ (tCO2e)"])
                kwh = number(row["ข้อมูลกิจกรรม"])
                out.append({"partner": row["รหัสภาคี"], "project": row["รหัสโครงการ"], "period": period,
                            "tco2e": direct if direct is not None else kwh * GRID_FACTOR_2025 / 1000,
                            "method": METHODS[row["มาตรฐาน"].strip()], "credential": row["เลขที่การรับรอง"].strip(),
                            "id": f"{row['รหัสภาคี']}|{row['รหัสโครงการ']}|{period}"})
    return out


def activities(paths) -> pd.DataFrame:
    """Every activity as ingested (raw.activity_reports), before any dbt model."""
    return sql(paths, "select partner_id as partner, period, participants_total as participants, "
                      "participants_female as female, participants_youth as youth, coalesce(budget_thb, 0) as budget "
                      "from raw.activity_reports")


def duplicates_by_hand(cls: list[dict], reg: dict[str, dict]) -> dict[str, str]:
    """The monitor's rule, re-implemented: claims of one month sharing a credential, or naming the same project
    within one partner family, are one reduction; the claim under the preferred programme, then the deepest
    family member, then the lowest id is counted. Returns duplicate id -> counted id."""
    def family(pid):
        depth = 0
        while reg[pid]["parent_partner_id"]:
            pid, depth = reg[pid]["parent_partner_id"], depth + 1
        return pid, depth

    parent = {c["id"]: c["id"] for c in cls}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    seen = {}
    for c in cls:
        keys = [("project", c["period"], family(c["partner"])[0], c["project"])]
        if c["credential"]:
            keys.append(("credential", c["period"], c["credential"].upper().replace(" ", "")))
        for k in keys:
            if k in seen:
                parent[find(c["id"])] = find(seen[k])
            else:
                seen[k] = c["id"]
    groups = {}
    for c in cls:
        groups.setdefault(find(c["id"]), []).append(c)
    out = {}
    for members in groups.values():
        keep = min(members, key=lambda c: (PRIORITY[c["method"]], -family(c["partner"])[1], c["id"]))
        out.update({c["id"]: keep["id"] for c in members if c is not keep})
    return out


# ------------------------------------------------------------------ partner progress by hand
@pytest.mark.parametrize("pid", ["P001", "P022", "P031", "P040"])
def test_one_partners_progress_recomputed_by_hand(refreshed, pid):
    paths, publication = refreshed
    reg, cls = registry(paths), claims(paths.landing)
    dups = duplicates_by_hand(cls, reg)
    mart = pd.read_csv(publication / "data" / "partner_progress.csv", encoding="utf-8-sig").set_index("partner_id")
    row = mart.loc[pid]
    p = reg[pid]

    mine = [c for c in cls if c["partner"] == pid and "2025-01" <= c["period"] <= PERIOD]
    claimed = sum(c["tco2e"] for c in mine)
    duplicate = sum(c["tco2e"] for c in mine if c["id"] in dups)
    pledge = float(p["baseline_tco2e"]) * float(p["reduction_pct"]) / 100
    required = pledge * min(max((2025 - p["base"]) / (int(p["target_year"]) - p["base"]), 0), 1)
    months = sorted({f.parent.name for f in (paths.landing / "activity_reports").rglob(f"{pid}_*.xlsx")})
    join_month = date(p["join"].year, p["join"].month, 1)
    expected_months = min(12, max(1, 12 - max(0, (join_month.year - 2025) * 12 + join_month.month - 1)))

    assert row["reductions_12m_tco2e"] == pytest.approx(claimed, rel=1e-9)
    assert row["duplicate_12m_tco2e"] == pytest.approx(duplicate, rel=1e-9, abs=1e-9)
    assert row["counted_12m_tco2e"] == pytest.approx(claimed - duplicate, rel=1e-9)
    assert row["pledged_reduction_tco2e"] == pytest.approx(pledge, rel=1e-12)
    assert row["required_path_tco2e"] == pytest.approx(required, rel=1e-12)
    counted = claimed - duplicate        # status, shares and peer rank rest on counted reductions (issue 13)
    assert row["pct_of_pledge"] == pytest.approx(counted / pledge, rel=1e-9)
    assert row["claimed_pct_of_required_path"] == pytest.approx(claimed / required, rel=1e-9)
    assert row["track_status"] == ("no_data" if counted == 0 else "on_track" if counted >= required else "off_track")
    assert row["months_reported"] == len(months) and row["months_expected"] == expected_months
    assert row["reporting_completeness"] == pytest.approx(min(1, len(months) / expected_months))
    assert row["last_report_period"] == max(months + [c["period"] for c in mine])
    assert bool(row["has_duplicate_claims"]) == (duplicate > 0)

    # percentile within the peer group (same partner type): percent_rank of counted claims / required path
    ratio = {}
    for q, r in reg.items():
        if r["partner_type"] == p["partner_type"]:
            pl = float(r["baseline_tco2e"]) * float(r["reduction_pct"]) / 100
            req = pl * min(max((2025 - r["base"]) / (int(r["target_year"]) - r["base"]), 0), 1)
            ratio[q] = sum(c["tco2e"] for c in cls if c["partner"] == q and c["id"] not in dups) / req
    below = sum(v < ratio[pid] for v in ratio.values())
    assert row["peer_percentile"] == pytest.approx(below / (len(ratio) - 1))


def test_the_sample_double_claims_are_flagged_and_counted_once(refreshed):
    paths, _ = refreshed
    reg, cls = registry(paths), claims(paths.landing)
    dups = duplicates_by_hand(cls, reg)
    fct = sql(paths, "select reduction_id, is_duplicate, duplicate_of, duplicate_reasons from marts.fct_ghg_reductions")
    flagged = fct[fct.is_duplicate].set_index("reduction_id")
    assert dict(flagged["duplicate_of"]) == dups
    assert len(dups) == 8               # 4 parent re-claims + 2 T-VER/LESS + 2 quoted credentials
    reasons = dict(flagged["duplicate_reasons"])
    assert reasons["P001|P019-G1|2025-03"] == "same_credential+parent_and_child"
    assert reasons["P022|P022-G1|2025-08"] == "tver_and_less+parent_and_child"      # kept: the parent's T-VER claim
    assert reasons["P040|P040-G2|2025-09"] == "same_credential"
    assert len(fct) == len(cls)


# ------------------------------------------------------------------ targets and the nation
def test_each_target_trajectory_equals_its_formula(refreshed):
    _, publication = refreshed
    nat = pd.read_csv(publication / "data" / "national_progress.csv", encoding="utf-8-sig")
    with open(SEEDS / "targets.csv", encoding="utf-8", newline="") as fh:
        targets = list(csv.DictReader(fh))
    drawn = 0
    for t in targets:
        rows = nat[nat.series_id == f"target_path__{t['target_id']}"].set_index("year")
        if not t["path_start_year"]:
            assert rows.empty, t["target_id"]
            continue
        y0, v0, y1, v1 = (int(t["path_start_year"]), float(t["path_start_value_mtco2e"]), int(t["target_year"]),
                          float(t["target_value_mtco2e"]))
        assert sorted(rows.index) == list(range(y0, y1 + 1)), t["target_id"]
        for y, r in rows.iterrows():
            assert r["value"] == pytest.approx(v0 + (v1 - v0) * (y - y0) / (y1 - y0), rel=1e-12), (t["target_id"], y)
        assert set(rows["series_kind"]) == {"target"} and set(rows["unit"]) == {"MtCO2e"}
        in_force = t["valid_from"] <= "2025-12-31" and (not t["valid_to"] or "2025-12-31" <= t["valid_to"])
        assert set(rows["target_status"]) == {"in_force" if in_force else "superseded"}, t["target_id"]
        drawn += 1
    assert drawn == 7
    assert nat.groupby("series_id")["series_kind"].nunique().max() == 1      # never mixed within a series


def test_national_rollup_equals_partners_minus_flagged_duplicates(refreshed):
    paths, publication = refreshed
    reg, cls = registry(paths), claims(paths.landing)
    dups = duplicates_by_hand(cls, reg)
    nat = pd.read_csv(publication / "data" / "national_progress.csv", encoding="utf-8-sig")
    prog = pd.read_csv(publication / "data" / "partner_progress.csv", encoding="utf-8-sig")
    v = nat[nat.year == 2025].set_index("series_id")["value"]

    landing_total = sum(c["tco2e"] for c in cls)
    landing_dups = sum(c["tco2e"] for c in cls if c["id"] in dups)
    assert landing_dups > 0
    assert v["partner_reductions_claimed"] == pytest.approx(landing_total, rel=1e-9)
    assert v["partner_reductions_duplicate"] == pytest.approx(landing_dups, rel=1e-9)
    assert v["partner_reductions_counted"] == pytest.approx(landing_total - landing_dups, rel=1e-9)
    assert v["partner_reductions_counted"] == pytest.approx(
        prog["reductions_12m_tco2e"].sum() - prog["duplicate_12m_tco2e"].sum(), rel=1e-9)
    # the gap NDC 3.0 leaves: latest BTR1 net (2022: 278.03973 Mt) - 152 Mt; partners close this share of it
    assert v["partner_share_of_gap__ndc3"] == pytest.approx((landing_total - landing_dups) / 1e6 / (278.03973 - 152))
    assert "partner_share_of_gap__ndc2_unconditional" not in v            # superseded on 4 Nov 2025
    assert "partner_reductions_counted_annualised" not in v               # December: the year is complete
    observed = nat[nat.series_kind == "observed"].set_index(["series_id", "year"])["value"]
    assert observed[("btr1_net_incl_lulucf", 2019)] == 287.2 and observed[("btr1_reductions_vs_bau", 2022)] == 65.23


def test_province_sector_and_ace_rollups_add_up_to_the_landing_files(refreshed):
    paths, publication = refreshed
    reg, cls = registry(paths), claims(paths.landing)
    dups = duplicates_by_hand(cls, reg)
    counted = sum(c["tco2e"] for c in cls if c["id"] not in dups)
    data = publication / "data"
    prov = pd.read_csv(data / "province_summary.csv", encoding="utf-8-sig")
    sector = pd.read_csv(data / "sector_progress.csv", encoding="utf-8-sig")
    ace = pd.read_csv(data / "ace_indicators.csv", encoding="utf-8-sig")
    acts = activities(paths)

    assert len(prov) == 77 and prov["partners"].sum() == len(reg)
    assert prov["reductions_12m_counted_tco2e"].sum() == pytest.approx(counted, rel=1e-9)
    by_province = {}
    for c in cls:
        if c["id"] not in dups:                          # a reduction belongs to the counted claimant's province
            code = reg[c["partner"]]["province_code"]
            by_province[code] = by_province.get(code, 0) + c["tco2e"]
    mart_by_province = prov.set_index("province_code")["reductions_12m_counted_tco2e"]
    for code, total in by_province.items():
        assert mart_by_province[code] == pytest.approx(total, rel=1e-9), code
    assert mart_by_province.drop(list(by_province)).eq(0).all()
    assert len(sector) == 5 and sector["reductions_12m_counted_tco2e"].sum() == pytest.approx(counted, rel=1e-9)
    assert len(ace) == 6 * 77 * 12
    assert ace["activities"].sum() == len(acts) == prov["activities_12m"].sum()
    assert ace["participants_total"].sum() == acts["participants"].sum() == prov["participants_12m"].sum()
    assert ace["participants_female"].sum() == acts["female"].sum()
    assert ace["participants_youth"].sum() == acts["youth"].sum()
    assert ace["budget_thb"].sum() == pytest.approx(acts["budget"].sum())
    seed = pd.read_csv(SEEDS / "ace_elements.csv")
    assert set(ace["element_code"]) == set(seed["element_code"])


def test_best_practice_catalogue_ranks_within_peer_groups(refreshed):
    _, publication = refreshed
    bp = pd.read_csv(publication / "data" / "best_practices.csv", encoding="utf-8-sig")
    prog = pd.read_csv(publication / "data" / "partner_progress.csv", encoding="utf-8-sig").set_index("partner_id")
    assert bp["case_id"].is_unique and len(bp) > 0
    for ptype, g in bp.groupby("partner_type"):
        assert sorted(g["rank_in_peer_group"]) == list(range(1, len(g) + 1)), ptype
        assert g["is_featured"].sum() == 1
        best = g.sort_values("rank_in_peer_group").iloc[0]
        assert best["tco2e_per_thb"] == g["tco2e_per_thb"].max()
    for r in bp.itertuples():
        assert r.tco2e_per_thb == pytest.approx(prog.loc[r.partner_id, "counted_12m_tco2e"] / r.budget_12m_thb)
    assert bp["lessons_learned"].notna().mean() > 0.9 and bp["sector_tags"].notna().any()


def test_new_marts_are_published_and_documented(refreshed):
    _, publication = refreshed
    package = json.loads((publication / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    for name in ("national_progress", "province_summary", "sector_progress", "ace_indicators", "best_practices",
                 "partner_progress"):
        assert (publication / "data" / f"{name}.csv").is_file(), name
        res = resources[name.replace("_", "-")]
        assert res["description"] and res["description_th"], name
        undocumented = [f["name"] for f in res["schema"]["fields"] if not f["description"]]
        assert undocumented == [], name                   # the open-data dictionary covers every column


def test_dbt_docs_build_into_one_offline_page(refreshed, tmp_path):
    from phakhi.transform import build_dbt_docs

    paths, _ = refreshed
    page = build_dbt_docs(paths, tmp_path / "dbt-docs")
    html = page.read_text(encoding="utf-8")
    assert page.name == "index.html" and len(html) > 100_000
    for name in ("mart_national_progress", "fct_ghg_reductions", "dim_partners", "assert_rollups_reconcile_with_facts"):
        assert name in html, name
    assert '<script src="http' not in html and '<link rel="stylesheet" href="http' not in html


# ------------------------------------------------------------------ incremental == full refresh
def test_incremental_facts_equal_a_full_refresh(refreshed, tmp_path):
    from phakhi.settings import Paths
    from phakhi.transform import run_dbt

    paths, _ = refreshed
    work = Paths(tmp_path / "home").ensure()
    shutil.copyfile(paths.build_db, work.build_db)
    shutil.copyfile(paths.history_db, work.history_db)
    # the facts, and the claims' verdicts fct_ghg_reductions reads (a table: rebuilt when the raw claims change)
    facts = ["--select", "int_ghg__claims_deduplicated", "fct_ghg_reductions", "fct_activities"]

    def run(*extra):
        outcome = run_dbt(work, PERIOD, "run", extra=[*facts, *extra])
        assert outcome.success, outcome.failures
        results = json.loads((work.dbt_work / "target" / "run_results.json").read_text())["results"]
        return {r["unique_id"].split(".")[-1]: r.get("compiled_code") or "" for r in results}

    def table(name, key):
        with duckdb.connect(str(work.build_db), read_only=True) as con:
            return con.execute(f"select * from marts.{name} order by {key}").df()

    before = table("fct_ghg_reductions", "reduction_id")
    compiled = run()                                         # incremental, nothing changed
    assert all("incremental run" in compiled[name] for name in ("fct_ghg_reductions", "fct_activities"))
    pd.testing.assert_frame_equal(table("fct_ghg_reductions", "reduction_id"), before)

    with duckdb.connect(str(work.build_db)) as con:
        # a corrected report, a withdrawn one, a late one; TGO revises the grid factor (a new seed version)
        con.execute("update raw.ghg_reductions set activity_amount = activity_amount * 1.1 "
                    "where partner_id = 'P031' and period = '2025-05'")
        con.execute("delete from raw.ghg_reductions where partner_id = 'P002' and period = '2025-07'")
        con.execute("insert into raw.ghg_reductions select * replace ('2025-12' as period) from raw.ghg_reductions "
                    "where partner_id = 'P036' and period = '2025-10'")
        con.execute("update reference.emission_factors set kgco2e_per_unit = 0.4821, version = 'revised in test' "
                    "where factor_id = 'tgo_grid_prev_scope2'")
        con.execute("delete from raw.activity_reports where partner_id = 'P001' and period = '2025-01' and activity_no = 1")
        con.execute("update raw.activity_reports set participants_total = participants_total + 7 "
                    "where partner_id = 'P002' and period = '2025-02'")
    run()                                                    # incremental with changes
    incremental = {n: table(n, k) for n, k in (("fct_ghg_reductions", "reduction_id"), ("fct_activities", "activity_id"))}
    run("--full-refresh")
    full = {n: table(n, k) for n, k in (("fct_ghg_reductions", "reduction_id"), ("fct_activities", "activity_id"))}
    for name in full:
        pd.testing.assert_frame_equal(incremental[name], full[name], check_exact=False, rtol=1e-12)

    ghg = incremental["fct_ghg_reductions"].set_index("reduction_id")
    assert "P002|P002-G1|2025-07" not in ghg.index and "P036|P036-G1|2025-12" in ghg.index
    converted = ghg[ghg.figure_kind == "converted"]
    assert len(converted) > 0 and set(converted["factor_version"]) == {"revised in test"}
    assert (converted["reduction_tco2e"] - converted["activity_amount"] * 0.4821 / 1000).abs().max() < 1e-9
    assert "P001|2025-01|1" not in set(incremental["fct_activities"]["activity_id"])


def test_facts_scoped_to_the_changed_months_equal_a_full_refresh(refreshed, tmp_path):
    """A build the plan scoped (phakhi/selection.py:scoped_nodes: only some months' raw rows changed) recomputes
    the claims' verdicts and both facts for those months only - and gives the full refresh's tables; a scope
    missing a changed month would not (the scope is really applied)."""
    from phakhi.settings import Paths
    from phakhi.transform import run_dbt

    paths, _ = refreshed
    work = Paths(tmp_path / "home").ensure()
    shutil.copyfile(paths.build_db, work.build_db)
    shutil.copyfile(paths.history_db, work.history_db)
    facts = ["--select", "int_ghg__claims_deduplicated", "fct_ghg_reductions", "fct_activities"]
    keys = (("int_ghg__claims_deduplicated", "reduction_id"), ("fct_ghg_reductions", "reduction_id"),
            ("fct_activities", "activity_id"))

    def tables():
        with duckdb.connect(str(work.build_db), read_only=True) as con:
            return {n: con.execute(f"select * from {'intermediate' if n.startswith('int_') else 'marts'}.{n} "
                                   f"order by {k}").df() for n, k in keys}

    with duckdb.connect(str(work.build_db)) as con:
        # a corrected claim (its group may change), a withdrawn one, a late one; activities corrected and withdrawn
        con.execute("update raw.ghg_reductions set activity_amount = activity_amount * 1.1, credential_id = "
                    "(select min(credential_id) from raw.ghg_reductions where period = '2025-05') "
                    "where partner_id = 'P031' and period = '2025-05'")
        con.execute("delete from raw.ghg_reductions where partner_id = 'P002' and period = '2025-07'")
        con.execute("insert into raw.ghg_reductions select * replace ('2025-12' as period) from raw.ghg_reductions "
                    "where partner_id = 'P036' and period = '2025-10'")
        con.execute("delete from raw.activity_reports where partner_id = 'P001' and period = '2025-01' and activity_no = 1")
        con.execute("update raw.activity_reports set participants_total = participants_total + 7 "
                    "where partner_id = 'P002' and period = '2025-02'")
    ghg, acts = ["2025-05", "2025-07", "2025-12"], ["2025-01", "2025-02"]
    scope = {"models": {"int_ghg__claims_deduplicated": ghg, "fct_ghg_reductions": ghg, "fct_activities": acts}}
    shutil.copyfile(work.build_db, tmp_path / "changed.duckdb")
    outcome = run_dbt(work, PERIOD, "run", extra=facts, scope=scope)
    assert outcome.success, outcome.failures
    results = json.loads((work.dbt_work / "target" / "run_results.json").read_text())["results"]
    assert all("'2025-07'" in r["compiled_code"] for r in results if "ghg" in r["unique_id"])
    scoped = tables()
    assert run_dbt(work, PERIOD, "run", extra=[*facts, "--full-refresh"]).success
    full = tables()
    for name in full:
        pd.testing.assert_frame_equal(scoped[name], full[name], check_exact=False, rtol=1e-12)
    assert "P002|P002-G1|2025-07" not in set(scoped["fct_ghg_reductions"]["reduction_id"])
    shutil.copyfile(tmp_path / "changed.duckdb", work.build_db)          # the same changes, a month left out
    short = {"models": {**scope["models"], "fct_activities": ["2025-02"]}}
    assert run_dbt(work, PERIOD, "run", extra=facts, scope=short).success
    assert "P001|2025-01|1" in set(tables()["fct_activities"]["activity_id"])


def test_a_mid_year_refresh_judges_against_the_target_then_in_force(refreshed, tmp_path):
    """As of June 2025 NDC 2.0 was in force (NDC 3.0 came on 4 Nov 2025); the year is half over."""
    from phakhi.settings import Paths
    from phakhi.transform import run_dbt

    paths, _ = refreshed
    work = Paths(tmp_path / "home").ensure()
    shutil.copyfile(paths.build_db, work.build_db)
    shutil.copyfile(paths.history_db, work.history_db)
    outcome = run_dbt(work, "2025-06", "build", extra=["--select", "dim_targets+", "--exclude", "fct_*"])
    assert outcome.success, outcome.failures
    with duckdb.connect(str(work.build_db), read_only=True) as con:
        status = dict(con.execute("select target_id, status_at_period from marts.dim_targets").fetchall())
        nat = con.execute("select * from marts.mart_national_progress where year = 2025").df().set_index("series_id")
    assert status["ndc2_unconditional"] == status["ndc2_conditional"] == "in_force"
    assert status["ndc3"] == "not_yet_in_force" and status["updated_ndc_2020_unconditional"] == "superseded"
    reg, cls = registry(paths), claims(paths.landing)
    dups = duplicates_by_hand(cls, reg)
    half = sum(c["tco2e"] for c in cls if c["period"] <= "2025-06" and c["id"] not in dups)
    assert nat.loc["partner_reductions_counted", "value"] == pytest.approx(half, rel=1e-9)
    assert nat.loc["partner_reductions_counted_annualised", "series_kind"] == "projected"
    assert nat.loc["partner_reductions_counted_annualised", "value"] == pytest.approx(half * 12 / 6, rel=1e-9)
    # NDC 2.0 conditional (333 Mt gross): gap to BTR1 2022 gross 385.94114; the unconditional level (388.5) is
    # already above that inventory, so no share is shown for it
    assert nat.loc["partner_share_of_gap__ndc2_conditional", "value"] == pytest.approx(half / 1e6 / (385.94114 - 333))
    assert "partner_share_of_gap__ndc2_unconditional" not in nat.index
    assert "partner_share_of_gap__ndc3" not in nat.index


# ------------------------------------------------------------------ snapshot history (runs last: refreshes again)
def test_a_registry_change_across_two_refreshes_makes_two_versions(refreshed):
    from flows.pipeline import monthly_refresh

    paths, _ = refreshed
    reg_file = paths.landing / "partner_registry" / "partner_registry.csv"
    with reg_file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("baseline_tco2e")
    target = next(r for r in rows if r[0] == "P005")
    old_baseline, target[col] = target[col], "6100.0"
    with reg_file.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)

    publication = Path(monthly_refresh(period=PERIOD, home=str(paths.home)))

    with duckdb.connect(str(paths.history_db), read_only=True) as con:
        versions = con.execute("select partner_id, baseline_tco2e, dbt_valid_from, dbt_valid_to "
                               "from snapshots.dim_partners order by partner_id, dbt_valid_from").df()
    p005 = versions[versions.partner_id == "P005"]
    assert len(p005) == 2
    assert list(p005["baseline_tco2e"]) == [float(old_baseline), 6100.0]
    assert p005["dbt_valid_to"].iloc[0] == p005["dbt_valid_from"].iloc[1] and pd.isna(p005["dbt_valid_to"].iloc[1])
    assert versions.groupby("partner_id").size().drop("P005").eq(1).all()     # nothing else changed

    published = sql(paths, "select partner_id, version_no, is_current, baseline_tco2e from marts.dim_partner_versions "
                           "where partner_id = 'P005' order by version_no")
    assert list(published["version_no"]) == [1, 2] and list(published["is_current"]) == [False, True]
    prog = pd.read_csv(publication / "data" / "partner_progress.csv", encoding="utf-8-sig").set_index("partner_id")
    assert prog.loc["P005", "baseline_tco2e"] == 6100.0
    assert prog.loc["P005", "pledged_reduction_tco2e"] == pytest.approx(6100.0 * prog.loc["P005", "reduction_pct"] / 100)
