"""The first day with real data, end to end: a home made by `phakhi init`, the registry through `phakhi partners`,
real-shaped monthly files (no SAMPLE) with petrol and waste activity data and a later month's file. The month
publishes without the SAMPLE banner; petrol and waste are converted with the sourced factors; a row with no
factor for its month is quarantined with a reason; the later file does not move the dashboard; every relation
of the published warehouse opens; the data package validates; the publication browses from a static server
with symlinks disabled and links back to the publications index; partner pages show their credential ids. The
same first day with no survey wave yet publishes too, and the awareness pages say no wave has been loaded."""
import json
import re
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import real_files as rf  # noqa: E402
from test_publication_pointers import get, static_server  # noqa: E402,F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_home(tmp_path_factory):
    from flows.pipeline import monthly_refresh
    from phakhi.home import init_home
    from phakhi.partners import import_file
    from phakhi.settings import Paths, use_home

    root = tmp_path_factory.mktemp("real")
    paths = Paths(root / "home")
    init_home(paths)
    change = import_file(paths, rf.registry_upload(root / "inbox"))
    assert change.ok, change.problems
    rf.monthly_files(paths.landing)
    rf.survey_waves(paths.landing)
    rf.later_month_file(paths.landing)
    paths = use_home(paths.home)
    publication = monthly_refresh(period="2025-06", home=str(paths.home))
    return paths, Path(publication)


def test_month_publishes_without_the_sample_banner(real_home):
    paths, pub = real_home
    manifest = json.loads((pub / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2025-06"                       # the later month's file moved nothing
    html = (pub / "index.html").read_text(encoding="utf-8")
    assert "SAMPLE" not in html and "ข้อมูลตัวอย่าง" not in html
    assert 'data-held="2025-08"' in html                         # the site says the later month is held
    quality = (pub / "quality.html").read_text(encoding="utf-8")
    assert 'data-period="2025-08" data-status="held"' in quality
    assert 'data-period="2025-06" data-status="published"' in quality
    package = json.loads((pub / "datapackage.json").read_text(encoding="utf-8"))
    assert "SAMPLE" not in package["title"]
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        assert con.execute("select data_kind, is_sample from marts.publication_origin").fetchall() == [("real", False)]


def test_petrol_and_waste_are_converted_and_a_row_without_factor_is_quarantined(real_home):
    paths, pub = real_home
    ledger = pd.concat([pd.read_csv(f, encoding="utf-8-sig") for f in sorted((pub / "data" / "ghg_ledger").glob("*.csv"))]
                       ).set_index("project_id")                     # one file per month
    petrol, waste = ledger.loc["P201-EV"], ledger.loc["P203-BANK"]
    assert petrol["factor_id"] == "tgo_cfo_2022_gasoline_mobile"
    assert petrol["claimed_tco2e"] == pytest.approx(rf.PETROL[0] * rf.PETROL[1] / 1000)
    assert waste["factor_id"] == "ipcc2006_waste_landfill_avoided"
    assert waste["claimed_tco2e"] == pytest.approx(rf.WASTE[0] * rf.WASTE[1] / 1000)
    assert ledger.loc["P202-LABEL", "programme_code"] == "cfr"
    assert "P202-WHR" in ledger.index and (ledger["period"] <= "2025-06").all()
    quarantine = pd.read_csv(pub / "quality" / "quarantine.csv", encoding="utf-8-sig")
    row = quarantine[quarantine["rule"] == "emission_factor_in_force"]
    assert len(row) == 1 and "litre_gasoline" in row.iloc[0]["value"] and "2022-01" in row.iloc[0]["value"]
    creds = pd.read_csv(pub / "data" / "credentials.csv", encoding="utf-8-sig").set_index("credential_key")
    assert {"TVER-2565-0117", "LESS-6801-0042", "CFR-6702-15"} <= set(creds.index)


def test_every_relation_of_the_published_warehouse_opens(real_home):
    from phakhi.publish.warehouse import unopenable_relations

    paths, _ = real_home
    assert unopenable_relations(paths.published_db) == []


def test_data_package_validates_with_frictionless(real_home):
    from frictionless import Package

    _, pub = real_home
    report = Package(str(pub / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]


def test_publications_index_and_pointers_browse_without_symlinks(real_home, static_server):  # noqa: F811
    paths, pub = real_home
    base = static_server(paths.publications)
    status, index = get(base)
    assert status == 200 and 'data-outcome="published"' in index and f"{pub.name}/index.html" in index
    target = re.search(r'url=([^"]+)"', get(base + "latest.html")[1]).group(1)
    status, page = get(base + target)
    assert status == 200
    links = set(re.findall(r'(?:href|src)="([^"#?:]+)"', page))
    assert links
    for link in sorted(links):                                   # every local page and asset opens
        assert get(base + f"{pub.name}/" + link)[0] == 200, link
    assert "../index.html" in links                              # the live dashboard links to the index
    status, back = get(base + f"{pub.name}/../index.html")
    assert status == 200 and 'data-outcome="published"' in back
    status, partner = get(base + f"{pub.name}/partners/P202.html")   # and so does every partner page
    assert status == 200 and 'href="../../index.html"' in partner


def test_partner_page_shows_its_credential_ids_and_what_counts(real_home):
    _, pub = real_home
    html = (pub / "partners" / "P202.html").read_text(encoding="utf-8")
    section = html[html.index('id="credentials"'):html.index('id="sources"')]
    for key in ("TVER-2565-0117", "CFR-6702-15"):
        assert f'data-credential="{key}" data-status="counted"' in section
    assert "LESS-6801-0042" not in section                       # P201's credential is on P201's page
    assert "นับรวมทั้งหมด" in section and "Counted" in section
    rows = pd.read_csv(pub / "data" / "partners" / "P202" / "credentials.csv", encoding="utf-8-sig")
    assert set(rows["credential_id"]) == {"TVER-2565-0117", "CFR-6702-15"}
    assert (rows["claimed_tco2e"] == rows["counted_tco2e"] + rows["excluded_tco2e"]).all()


# ------------------------------------------------------------------ the same first day, with no survey wave yet
@pytest.fixture(scope="module")
def home_without_survey(tmp_path_factory):
    from flows.pipeline import monthly_refresh
    from phakhi.home import init_home
    from phakhi.partners import import_file
    from phakhi.settings import Paths, use_home

    root = tmp_path_factory.mktemp("nosurvey")
    paths = Paths(root / "home")
    init_home(paths)
    assert import_file(paths, rf.registry_upload(root / "inbox")).ok
    rf.monthly_files(paths.landing)                              # partner files only: no survey wave yet
    paths = use_home(paths.home)
    publication = monthly_refresh(period="2025-06", home=str(paths.home))
    return paths, Path(publication)


def test_a_month_without_any_survey_wave_publishes_and_says_so(home_without_survey):
    paths, pub = home_without_survey
    assert json.loads((pub / "manifest.json").read_text(encoding="utf-8"))["period"] == "2025-06"
    index = (pub / "index.html").read_text(encoding="utf-8")
    assert "SAMPLE" not in index and 'data-kind="no_survey_wave"' in index
    for page in ("awareness.html", "awareness-ace.html"):
        html = (pub / page).read_text(encoding="utf-8")
        assert 'data-kind="no_survey_wave"' in html, page
        assert "ยังไม่มีการนำเข้าข้อมูลการสำรวจความตระหนักรู้" in html and "No survey wave has been loaded yet" in html
        assert "95% CI" not in html, page                        # no awareness figure invented
    assert not (pub / "drift").exists()                          # nothing to compare: no drift report
    for name in ("awareness_baseline", "awareness_change", "awareness_waves", "awareness_reliability"):
        assert pd.read_csv(pub / "data" / f"{name}.csv", encoding="utf-8-sig").empty, name
    gate = json.loads((pub / "quality" / "gate.json").read_text(encoding="utf-8"))
    floors = [c for c in gate["checks"] if c["suite"].startswith("mart_awareness")
              and c["expectation"] == "expect_table_row_count_to_be_between"]
    assert floors and all(c["success"] and c["kwargs"]["min_value"] == 0 for c in floors)
    from frictionless import Package

    assert Package(str(pub / "datapackage.json")).validate().valid
