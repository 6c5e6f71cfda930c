"""The linking marts' rules on hand-made partners, links and areas, checked against hand-computed values.

SQL models (dbt_project/models/marts/linking/*.sql) run as written on a tiny in-memory DuckDB: `ref()` and
`var()` are replaced by table names and values - the same SQL dbt runs. Python models' functions
(phakhi/linking) are called directly.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
from phakhi.linking.network import network_metrics
from phakhi.linking.overlay import correlations, fisher_ci
from phakhi.linking.peers import match_peers

MODELS = REPO / "dbt_project" / "models" / "marts" / "linking"
VARS = {"period": "2025-12", "min_cell_n": "30", "practice_min_participants": "100", "practice_min_completeness": "0.75"}

# dbt_project/macros/phakhi_period.sql, rendered for VARS["period"]
PERIOD_SQL = ("select cast('{p}-01' as date) as period_start, last_day(cast('{p}-01' as date)) as period_end, "
              "cast(cast('{p}-01' as date) - interval 11 month as date) as window_start, "
              "year(cast('{p}-01' as date)) as period_year, month(cast('{p}-01' as date)) as period_month, "
              "'{p}' as period")


def render(model: str) -> str:
    sql = (MODELS / f"{model}.sql").read_text(encoding="utf-8")
    sql = re.sub(r"\{\{\s*ref\('(\w+)'\)\s*\}\}", r"\1", sql)
    sql = re.sub(r"\{\{\s*phakhi_period\(\)\s*\}\}", PERIOD_SQL.format(p=VARS["period"]), sql)
    sql = re.sub(r"\{\{\s*var\(['\"](\w+)['\"](?:,[^)]*)?\)\s*\}\}", lambda m: VARS[m.group(1)], sql)
    assert "{{" not in sql and "{%" not in sql, "a model the test cannot render"
    return sql


def run(con, model: str) -> pd.DataFrame:
    con.execute(f"create or replace table {model} as {render(model)}")
    return con.execute(f"select * from {model}").df()


# ------------------------------------------------------------------ peer matches
def partner(pid, ptype, status, baseline, region, province, elements="", methods="", has_case=True):
    return {"partner_id": pid, "name_th": f"ภาคี {pid}", "name_en": f"Partner {pid}", "partner_type": ptype,
            "track_status": status, "baseline_tco2e": baseline, "region": region, "province_code": province,
            "ace_elements": elements, "methods": methods, "has_case": has_case, "province_en": province,
            "province_th": province, "region_en": region, "region_th": region}


def test_peer_matches_follow_the_rule():
    hand = pd.DataFrame([
        partner("P1", "municipality", "off_track", 10_000, "north", "TH-50", "training, education", "LESS, waste"),
        partner("P2", "municipality", "on_track", 12_000, "north", "TH-50", "training", "LESS"),       # 5 points
        partner("P3", "municipality", "on_track", 50_000, "south", "TH-90", "education", ""),          # shared element only
        partner("P4", "municipality", "on_track", 9_000, "south", "TH-90", "", ""),                    # similar size only
        partner("P5", "business", "on_track", 10_000, "north", "TH-50", "training", "LESS"),           # other type
        partner("P6", "municipality", "off_track", 10_000, "north", "TH-50", "training", "LESS"),      # not on track
        partner("P7", "municipality", "on_track", 100, "east", "TH-20", "", ""),                       # no point
    ])
    m = match_peers(hand)
    p1 = m[m["partner_id"] == "P1"].sort_values("match_rank")
    # P2 scores 5; P3 and P4 score 1 each, P4 first because its size is closer (ratio 1.11 vs 5)
    assert p1["peer_partner_id"].tolist() == ["P2", "P4", "P3"]
    assert p1["score"].tolist() == [5, 1, 1]
    top = p1.iloc[0]
    assert top["same_province"] and top["same_region"] and top["similar_size"]
    assert top["size_ratio"] == pytest.approx(1.2)
    assert top["shared_ace_elements"] == "training" and top["shared_methods"] == "LESS"
    assert "same province (TH-50)" in top["reason_en"] and "shared ACE elements: training" in top["reason_en"]
    assert "จังหวัดเดียวกัน" in top["reason_th"]
    # an on-track partner gets matches too, never itself, never another type, never an off-track partner
    assert m[m["partner_id"] == "P2"]["peer_partner_id"].tolist() == ["P4"]
    assert not (m["partner_id"] == m["peer_partner_id"]).any()
    assert not m["peer_partner_id"].isin(["P1", "P5", "P6", "P7"]).any()
    assert m[m["partner_id"] == "P5"].empty          # no other business is on track


def test_peer_matches_keep_at_most_five():
    rows = [partner("P0", "sao", "off_track", 1_000, "north", "TH-50")]
    rows += [partner(f"P{i}", "sao", "on_track", 1_000 + 100 * i, "north", "TH-57") for i in range(1, 8)]
    m = match_peers(pd.DataFrame(rows))
    p0 = m[m["partner_id"] == "P0"]
    assert p0["match_rank"].tolist() == [1, 2, 3, 4, 5]
    # all score 2 (similar size + same region): the closest five in size
    assert p0["peer_partner_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]


# ------------------------------------------------------------------ co-organisers and links (SQL)
@pytest.fixture
def link_db():
    con = duckdb.connect()
    con.execute("""create table dim_partner_versions as select * from (values
        ('P001', 'เทศบาลตัวอย่าง 1', 'Sample Town 1', null, true),
        ('P002', 'เทศบาลตัวอย่าง 2', 'Sample Town 2', null, true),
        ('P003', 'ชื่อซ้ำ', 'Sample Co., Ltd. 3', 'P001', true),
        ('P004', 'ชื่อซ้ำ', 'Other 4', null, true),
        ('P005', 'อบต. ตัวอย่าง 5', 'Sample SAO 5', null, true),
        ('P005', 'อบต. เดิม 5', 'Old SAO 5', null, false)
        ) t(partner_id, name_th, name_en, parent_partner_id, is_current)""")
    con.execute("""create table stg_partner_reports__activities as select *, cast(period || '-01' as date) as period_start
        from (values
        ('P001|2025-02|1', 'P001', '2025-02', 'a', 'p002; เทศบาลตัวอย่าง  2'),     -- the same partner twice: id and name
        ('P001|2025-05|1', 'P001', '2025-05', 'b', 'Sample Co., Ltd. 3'),          -- English name with a comma
        ('P002|2025-05|1', 'P002', '2025-05', 'c', 'P001;ชื่อซ้ำ;ชมรมที่ไม่มีในทะเบียน;P002'),
        ('P004|2025-06|1', 'P004', '2025-06', 'd', '   '),
        ('P001|2026-01|1', 'P001', '2026-01', 'e', 'P005')                          -- after the refreshed month
        ) t(activity_id, partner_id, period, title, co_organisers)""")
    con.execute("""create table fct_ghg_reductions as select *, cast(period || '-01' as date) as period_start from (values
        ('T-VER-1', 'P002', '2025-03'), ('T-VER-1', 'P005', '2025-04'), ('T-VER-1', 'P005', '2025-05'),
        ('LESS-9', 'P001', '2025-03'), (null, 'P004', '2025-03'), ('LESS-9', 'P001', '2025-04')
        ) t(credential_id, partner_id, period)""")
    return con


def test_co_organiser_mentions_are_matched_against_the_registry(link_db):
    m = run(link_db, "mart_co_organiser_mentions").sort_values("mention_id")
    got = {(r.activity_id, r.mention): (r.co_partner_id, r.match_status) for r in m.itertuples()}
    assert got == {
        ("P001|2025-02|1", "p002"): ("P002", "id"),
        ("P001|2025-02|1", "เทศบาลตัวอย่าง  2"): ("P002", "name"),
        ("P001|2025-05|1", "Sample Co., Ltd. 3"): ("P003", "name"),
        ("P002|2025-05|1", "P001"): ("P001", "id"),
        ("P002|2025-05|1", "ชื่อซ้ำ"): (None, "ambiguous_name"),
        ("P002|2025-05|1", "ชมรมที่ไม่มีในทะเบียน"): (None, "not_in_registry"),
        ("P002|2025-05|1", "P002"): (None, "self"),
    }


def test_partner_links_by_hand(link_db):
    run(link_db, "mart_co_organiser_mentions")
    links = run(link_db, "mart_partner_links")
    got = {(r.partner_a, r.partner_b, r.link_type): (r.weight, r.first_period, r.last_period) for r in links.itertuples()}
    assert got == {
        # P001-P002: activity a (named twice, counted once) and activity c
        ("P001", "P002", "joint_activity"): (2, "2025-02", "2025-05"),
        ("P001", "P003", "joint_activity"): (1, "2025-05", "2025-05"),
        ("P002", "P005", "shared_credential"): (1, "2025-03", "2025-05"),
        ("P001", "P003", "parent_child"): (1, None, None),
    }
    assert (links["partner_a"] < links["partner_b"]).all()
    assert links.set_index("link_id").loc["P002|P005|shared_credential", "evidence"] == "T-VER-1"


# ------------------------------------------------------------------ network metrics (networkx)
def test_network_metrics_by_hand():
    links = pd.DataFrame([("A", "B", "joint_activity", 2), ("A", "B", "shared_credential", 1),
                          ("B", "C", "joint_activity", 1), ("A", "C", "shared_credential", 1),
                          ("C", "D", "parent_child", 1)], columns=["partner_a", "partner_b", "link_type", "weight"])
    m = network_metrics(["A", "B", "C", "D", "E"], links).set_index("partner_id")
    assert m["degree"].to_dict() == {"A": 2, "B": 2, "C": 3, "D": 1, "E": 0}
    assert m["weighted_degree"].to_dict() == {"A": 4.0, "B": 4.0, "C": 3.0, "D": 1.0, "E": 0.0}
    # degree / (5 - 1)
    assert m["degree_centrality"].to_dict() == pytest.approx({"A": .5, "B": .5, "C": .75, "D": .25, "E": 0})
    # only C lies between others (A-D and B-D) of the 6 pairs not involving it
    assert m["betweenness"].to_dict() == pytest.approx({"A": 0, "B": 0, "C": 2 / 6, "D": 0, "E": 0})
    # C's neighbours A, B, D: 1 of their 3 pairs linked
    assert m["clustering"].to_dict() == pytest.approx({"A": 1, "B": 1, "C": 1 / 3, "D": 0, "E": 0})
    assert m["component_size"].to_dict() == {"A": 4, "B": 4, "C": 4, "D": 4, "E": 1}
    assert m.loc["A", "component_id"] == 1 and m.loc["E", "component_id"] == 2
    assert m["is_isolated"].to_dict() == {"A": False, "B": False, "C": False, "D": False, "E": True}
    assert m.loc["E", "community_size"] == 1 and m.loc["A", "community_id"] == m.loc["B", "community_id"]
    assert m["joint_activity_links"].to_dict() == {"A": 1, "B": 2, "C": 1, "D": 0, "E": 0}
    assert m["shared_credential_links"].to_dict() == {"A": 2, "B": 1, "C": 1, "D": 0, "E": 0}
    assert m["parent_child_links"].to_dict() == {"A": 0, "B": 0, "C": 1, "D": 1, "E": 0}


def test_network_of_partners_without_links():
    m = network_metrics(["P2", "P1"], pd.DataFrame(columns=["partner_a", "partner_b", "link_type", "weight"]))
    assert m["partner_id"].tolist() == ["P1", "P2"] and m["is_isolated"].all() and (m["degree"] == 0).all()


# ------------------------------------------------------------------ awareness change beside ACE (SQL + correlation)
@pytest.fixture
def overlay_db():
    con = duckdb.connect()
    con.execute("""create table provinces as select * from (values
        ('TH-50', 'เชียงใหม่', 'Chiang Mai', 'north', 'ภาคเหนือ', 'North'),
        ('TH-57', 'เชียงราย', 'Chiang Rai', 'north', 'ภาคเหนือ', 'North'),
        ('TH-90', 'สงขลา', 'Songkhla', 'south', 'ภาคใต้', 'South'),
        ('TH-83', 'ภูเก็ต', 'Phuket', 'south', 'ภาคใต้', 'South')
        ) t(province_code, name_th, name_en, region, region_th, region_en)""")
    con.execute("""create table province_population as select province_code, population, date '2023-12-31' as reference_date
        from (values ('TH-50', 1000000), ('TH-57', 500000), ('TH-90', 2000000)) t(province_code, population)""")
    con.execute("""create table fct_activities as select province_code, cast(d as date) as period_start, participants_total
        from (values ('TH-50', '2024-03-01', 100), ('TH-50', '2024-03-01', 120), ('TH-50', '2025-11-01', 80),
                     ('TH-57', '2025-06-01', 150),
                     ('TH-50', '2026-01-01', 999),   -- after the refreshed month
                     ('TH-57', '2022-12-01', 999),   -- before the baseline wave's year
                     ('TH-90', '2025-01-01', 60), ('TH-90', '2025-02-01', 40)
        ) t(province_code, d, participants_total)""")
    rows = [  # domain, value, difference, ci_low, ci_high, n_baseline, n_wave, unstable, suppressed
        ("region", "north", 4.0, 1.0, 7.0, 300, 310, False, False),
        ("region", "south", 2.0, -1.0, 5.0, 280, 290, False, False),
        ("province", "TH-50", 6.0, 0.5, 11.5, 40, 45, True, False),
        ("province", "TH-57", None, None, None, 20, 35, False, True),     # too few respondents: not listed
        ("province", "TH-90", 1.0, -4.0, 6.0, 60, 70, False, False),
        ("province", "TH-83", 3.0, -3.0, 9.0, 50, 50, False, False),     # stable but no population figure
    ]
    frame = pd.DataFrame(rows, columns=["domain", "domain_value", "difference", "ci_low", "ci_high", "n_baseline",
                                        "n_wave", "unstable_se", "suppressed"])
    frame = frame.assign(baseline_wave=2023, wave=2025, measure="awareness_index", comparable=True,
                         baseline_estimate=50.0, wave_estimate=50.0 + frame["difference"].fillna(0),
                         se_difference=(frame["ci_high"] - frame["difference"]) / 1.96)
    other = frame.assign(measure="knowledge", difference=99.0)      # another measure: ignored
    con.register("change_frame", pd.concat([frame, other]))
    con.execute("create table mart_awareness_change as select * from change_frame")
    return con


def test_overlay_by_hand(overlay_db):
    ov = run(overlay_db, "mart_awareness_ace_overlay").set_index("area_id")
    assert sorted(ov.index) == ["province|TH-50", "province|TH-83", "province|TH-90", "region|north", "region|south"]
    north = ov.loc["region|north"]
    # 2024-03 x2, 2025-11 (TH-50) and 2025-06 (TH-57); 2026-01 and 2022-12 fall outside 2023-01-01 .. 2025-12-31
    assert (north["activities"], north["participants"], north["population"]) == (4, 450, 1_500_000)
    assert north["participants_per_1000"] == pytest.approx(450 * 1000 / 1_500_000)
    assert north["activities_per_100k"] == pytest.approx(4 * 100_000 / 1_500_000)
    assert north["change"] == 4.0 and north["change_ci_low"] == 1.0 and north["change_ci_high"] == 7.0
    assert north["included_in_correlation"]
    south = ov.loc["region|south"]
    assert pd.isna(south["population"]) and pd.isna(south["participants_per_1000"]) and not south["included_in_correlation"]
    assert south["exclusion_reason"] == "population missing for 1 of 2 provinces"
    assert south["exclusion_reason_th"] == "ไม่มีจำนวนประชากรทางการของ 1 จาก 2 จังหวัดในภาค"
    assert (south["activities"], south["participants"]) == (2, 100)
    cm = ov.loc["province|TH-50"]
    assert cm["participants_per_1000"] == pytest.approx(300 * 1000 / 1_000_000) and cm["included_in_correlation"]
    assert cm["unstable_se"]                                  # carried as a caution flag
    assert ov.loc["province|TH-90", "activities_per_100k"] == pytest.approx(2 * 100_000 / 2_000_000)
    assert not ov.loc["province|TH-83", "included_in_correlation"]
    assert ov.loc["province|TH-83", "exclusion_reason"] == "population figure missing"
    assert str(ov.loc["region|north", "ace_from"])[:10] == "2023-01-01" and str(ov.loc["region|north", "ace_to"])[:10] == "2025-12-31"


def test_correlation_and_fisher_ci_by_hand():
    # x = 1..5, y = 2, 4, 5, 4, 5: Sxy = 6, Sxx = 10, Syy = 6 -> r = 6 / sqrt(60)
    r = 6 / math.sqrt(60)
    z, se = 0.5 * math.log((1 + r) / (1 - r)), 1 / math.sqrt(5 - 3)
    lo, hi = math.tanh(z - 1.959963984540054 * se), math.tanh(z + 1.959963984540054 * se)
    overlay = pd.DataFrame({"level": "province", "included_in_correlation": True, "change": [2, 4, 5, 4, 5],
                            "participants_per_1000": [1, 2, 3, 4, 5], "activities_per_100k": [5, 4, 3, 2, 1]})
    overlay = pd.concat([overlay, pd.DataFrame({"level": ["province"], "included_in_correlation": [False], "change": [90],
                                                "participants_per_1000": [100], "activities_per_100k": [0]})])
    c = correlations(overlay).set_index(["level", "intensity_measure"])
    row = c.loc[("province", "participants_per_1000")]
    assert row["n_areas"] == 5
    assert row["pearson_r"] == pytest.approx(r) and row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)
    assert (round(lo, 3), round(hi, 3)) == (-0.340, 0.984)
    # Spearman on ranks: y ranks 1, 2.5, 4.5, 2.5, 4.5
    assert row["spearman_rho"] == pytest.approx(7 / math.sqrt(90))     # Sxy = 7, Sxx = 10, Syy = 9 on ranks
    assert c.loc[("province", "activities_per_100k"), "pearson_r"] == pytest.approx(-r)
    # regions: none included -> no number, a note
    reg = c.loc[("region", "participants_per_1000")]
    assert reg["n_areas"] == 0 and pd.isna(reg["pearson_r"]) and "fewer than 4" in reg["note"]
    assert fisher_ci(0.5, 3) == (None, None)


# ------------------------------------------------------------------ curated practices (SQL)
@pytest.fixture
def practice_db():
    con = duckdb.connect()
    con.execute("""create table mart_best_practices as select *, partner_id || '|2025-12' as case_id, 'x' as name_th,
            'x' as name_en, 'g' as peer_group, 'TH-50' as province_code, 'north' as region, '2025-12' as period,
            1.0 as pct_of_required_path, 10 as activities_12m, 0 as youth_reached, 0.5 as female_share,
            1000.0 as budget_12m_thb, 0.1 as tco2e_per_thb, 1 as ghg_projects, null as sector_tags, null as programme_tags,
            null as ace_element_tags, null as practice_tags, null as climate_tags, null as featured_activity_id,
            null as featured_activity_title, 1 as peer_group_cases, rank_in_peer_group = 1 as is_featured
        from (values
            ('P1', 'sao', 'on_track', 50.0, 0, false, 2),     -- meets every criterion; featured 2nd
            ('P2', 'sao', 'on_track', 0.0, 150, false, 1),    -- result by people reached; no lesson in the window
            ('P3', 'sao', 'off_track', 10.0, 500, false, 3),  -- off track; featured 1st all the same (warned by a test)
            ('P4', 'sao', 'on_track', 5.0, 20, true, 4),      -- double counted
            ('P5', 'sao', 'on_track', 0.0, 99, false, 5)      -- 99 people, nothing reduced: no measured result
        ) t(partner_id, partner_type, track_status, counted_12m_tco2e, participants_reached, has_duplicate_claims,
            rank_in_peer_group)""")
    con.execute("""create table mart_partner_progress as select * from (values
        ('P1', 10.0, 1.0, 12, 12), ('P2', 0.0, 0.75, 9, 12), ('P3', 0.0, 1.0, 12, 12), ('P4', 0.0, 1.0, 12, 12),
        ('P5', 0.0, 0.5, 6, 12)) t(partner_id, verified_12m_tco2e, reporting_completeness, months_reported, months_expected)""")
    con.execute("""create table stg_partner_reports__activities as select *, cast(period || '-01' as date) as period_start
        from (values
        ('P1', '2025-03', 'ชุมชนร่วมมือ', 'Communities cooperate'),
        ('P1', '2025-04', 'ชุมชนร่วมมือ', 'Communities cooperate'),
        ('P1', '2025-05', 'ชุมชนร่วมมือ', 'Communities work together'),
        ('P1', '2025-06', 'ชุมชนร่วมมือ', null),
        ('P1', '2025-07', 'ต้องมีผู้รับผิดชอบข้อมูล', null),
        ('P1', '2024-11', 'บทเรียนเก่า', 'An old lesson'),        -- before the 12-month window
        ('P2', '2025-08', '   ', null),
        ('P3', '2025-08', 'Measure before and after', null),       -- written in English only
        ('P4', '2025-08', 'แยกขยะ', 'Separate waste'),
        ('P5', '2025-08', 'แยกขยะ', null)
        ) t(partner_id, period, lessons_learned, lessons_learned_en)""")
    con.execute("""create table featured_practices as select partner_id, feature_order, cast(f as date) as featured_from,
            cast(u as date) as featured_until, 'เหตุผล' as reason_th, 'reason' as reason_en, 'DCCE' as decided_by, 'seed' as source
        from (values ('P3', 1, '2025-01-01', null), ('P1', 2, '2025-06-01', null),
                     ('P4', 3, '2024-01-01', '2025-06-30')            -- no longer featured in December 2025
        ) t(partner_id, feature_order, f, u)""")
    return con


def test_practice_lessons_by_hand(practice_db):
    les = run(practice_db, "mart_practice_lessons")
    p1 = les[les["partner_id"] == "P1"].sort_values("lesson_no")
    # the lesson reported 4 times in the window first, with the English text given most often
    assert p1["lesson_th"].tolist() == ["ชุมชนร่วมมือ", "ต้องมีผู้รับผิดชอบข้อมูล"]
    assert p1["times_reported"].tolist() == [4, 1]
    assert p1["lesson_en"].iloc[0] == "Communities cooperate" and pd.isna(p1["lesson_en"].iloc[1])
    assert p1["has_english"].tolist() == [True, False] and p1["text_is_thai"].all()
    p3 = les[les["partner_id"] == "P3"].iloc[0]
    assert not p3["text_is_thai"] and not p3["has_english"]
    assert "P2" not in set(les["partner_id"])                   # blank lessons are no lessons
    assert "บทเรียนเก่า" not in set(les["lesson_th"])


def test_practice_cases_criteria_and_featured_order_by_hand(practice_db):
    run(practice_db, "mart_practice_lessons")
    cases = run(practice_db, "mart_practice_cases").set_index("partner_id")
    crit = ["criterion_on_track", "criterion_measured_result", "criterion_has_lessons", "criterion_counted_once",
            "criterion_reports_regularly"]
    assert cases.loc["P1", crit].tolist() == [True, True, True, True, True] and cases.loc["P1", "meets_criteria"]
    assert cases.loc["P2", crit].tolist() == [True, True, False, True, True]
    assert cases.loc["P3", crit].tolist() == [False, True, True, True, True]
    assert cases.loc["P4", crit].tolist() == [True, True, True, False, True]
    assert cases.loc["P5", crit].tolist() == [True, False, True, True, False]
    assert cases["is_featured_by_dcce"].to_dict() == {"P1": True, "P2": False, "P3": True, "P4": False, "P5": False}
    assert cases.loc["P1", "verified_12m_tco2e"] == 10.0 and cases.loc["P1", "lessons_with_english"] == 1
    # featured by feature_order, then cases meeting every criterion, then the rest by peer-group rank
    assert cases.sort_values("display_order").index.tolist() == ["P3", "P1", "P2", "P4", "P5"]
