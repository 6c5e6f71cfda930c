"""The whole monthly refresh on the SAMPLE data, checked against figures computed here independently
from the landing files (not from the warehouse), and the gate's promise: a failed audit publishes nothing."""
import csv
import hashlib
import os
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

THAI_ABBR = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
PREVIOUS_GRID_FACTOR = 0.4999   # kgCO2e/kWh, the factor in force during the sample year 2025


@pytest.fixture(scope="module")
def refreshed(copy_sample, tmp_path_factory):
    """A copy of the session's refreshed SAMPLE home (tests/conftest.py): the tests below refresh it again.
    Its P001 carries a spreadsheet-formula payload in its name, which must reach the open data as text."""
    paths, publication = copy_sample(tmp_path_factory.mktemp("refresh"))
    return paths, str(publication)


def _ghg_by_partner(landing):
    totals = {}
    for path in sorted((landing / "ghg_reductions").glob("*.csv")):
        with path.open(encoding="cp874") as fh:
            for row in csv.DictReader(fh):
                month, year = row["เดือน"].split()
                assert int(year) - 543 == 2025 and month in THAI_ABBR
                direct = row["ปริมาณก๊าซที่ลดได้ (tCO2e)"].replace(",", "")
                kwh = row["ข้อมูลกิจกรรม"].replace(",", "")
                t = float(direct) if direct else float(kwh) * PREVIOUS_GRID_FACTOR / 1000
                totals[row["รหัสภาคี"]] = totals.get(row["รหัสภาคี"], 0.0) + t
    return totals


def _required_path(reg_row, year=2025):
    base = int(reg_row["pledge_base_year"])
    base = base - 543 if base > 2400 else base
    share = min(max((year - base) / (int(reg_row["target_year"]) - base), 0), 1)
    return float(reg_row["baseline_tco2e"]) * float(reg_row["reduction_pct"]) / 100 * share


def _awareness(wave_csv):
    """Per-respondent index (instrument rules) and the design-based mean with its linearised SE, from scratch."""
    df = pd.read_csv(wave_csv)
    dims = {"k": ["k1", "k2", "k3", "k4"], "c": ["c1", "c2", "c3", "c4"], "b": ["b1", "b2", "b3", "b4"]}
    scores = []
    for items in dims.values():
        x = df[items].astype(float).where(df[items].isin([1, 2, 3, 4, 5]))
        for rev in {"k4", "c4"} & set(items):
            x[rev] = 6 - x[rev]
        s = ((x - 1) / 4 * 100).mean(axis=1)
        scores.append(s.where(x.notna().sum(axis=1) >= 2))
    y = (scores[0] + scores[1] + scores[2]) / 3
    ok = y.notna()
    w = df["weight"].where(ok, 0.0)
    mean = float((w * y.fillna(0)).sum() / w.sum())
    z = w * (y.fillna(0) - mean) / w.sum()
    psu_tot = z.groupby([df["stratum"], df["psu"]]).sum()
    var = 0.0
    for _, g in psu_tot.groupby(level=0):
        n = len(g)
        var += n / (n - 1) * ((g - g.mean()) ** 2).sum()
    return mean, float(np.sqrt(var)), int(ok.sum())


def test_partner_progress_matches_independent_computation(refreshed):
    paths, publication = refreshed
    expected = _ghg_by_partner(paths.landing)
    reg = pd.read_csv(paths.landing / "partner_registry" / "partner_registry.csv", encoding="utf-8-sig",
                      dtype=str).set_index("partner_id")
    mart = pd.read_csv(os.path.join(publication, "data", "partner_progress.csv"), encoding="utf-8-sig").set_index("partner_id")
    assert len(mart) == 60
    for pid, row in mart.iterrows():
        assert row["reductions_12m_tco2e"] == pytest.approx(expected.get(pid, 0.0), rel=1e-9, abs=1e-9), pid
        req = _required_path(reg.loc[pid])
        assert row["required_path_tco2e"] == pytest.approx(req, rel=1e-9), pid
        # status on COUNTED reductions: claimed = counted + excluded; without duplicates counted = claimed
        counted = row["counted_12m_tco2e"]
        assert row["reductions_12m_tco2e"] == pytest.approx(counted + row["duplicate_12m_tco2e"], abs=1e-6), pid
        if row["duplicate_12m_tco2e"] == 0:
            assert counted == pytest.approx(expected.get(pid, 0.0), rel=1e-9, abs=1e-9), pid
        status = "no_data" if counted == 0 else ("on_track" if counted >= req else "off_track")
        assert row["track_status"] == status, pid
        assert row["pct_of_required_path"] == pytest.approx(counted / req if req else float("nan"), rel=1e-9, nan_ok=True)
    assert set(mart["track_status"]) >= {"on_track", "off_track"}
    # P040 quotes another partner's T-VER credential in two claims: counted alone it is off track (issue 13)
    p040 = mart.loc["P040"]
    assert p040["duplicate_12m_tco2e"] > 0 and p040["claimed_pct_of_required_path"] >= 1.0
    assert p040["track_status"] == "off_track" and p040["pct_of_required_path"] < 1.0


def test_awareness_mart_matches_independent_index_and_published_weights(refreshed):
    """The index is scored here from the raw wave file (instrument rules, "don't know" as missing); with the raked
    weights the warehouse publishes, its weighted mean must equal the mart's national estimate."""
    paths, publication = refreshed
    raw = pd.read_csv(paths.landing / "survey_waves" / "wave_2023.csv")
    _, _, n = _awareness(paths.landing / "survey_waves" / "wave_2023.csv")
    with duckdb.connect(str(paths.published_db), read_only=True) as con:
        w = con.execute("select respondent_id, final_weight from intermediate.int_survey__respondent_weights "
                        "where wave = 2023").df().set_index("respondent_id")["final_weight"]
    raw["weight"] = raw["respondent_id"].map(w)
    assert raw["weight"].notna().all()
    tmp = paths.home / "wave_2023_raked.csv"
    raw.to_csv(tmp, index=False)
    mean, _, _ = _awareness(tmp)
    mart = pd.read_csv(os.path.join(publication, "data", "awareness_baseline.csv"), encoding="utf-8-sig")
    row = mart[(mart.wave == 2023) & (mart.measure == "awareness_index") & (mart.domain == "overall")].iloc[0]
    assert row["estimate"] == pytest.approx(mean, rel=1e-9)
    assert row["n"] == n
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["se"] > 0


def test_publication_shows_real_numbers_and_is_complete(refreshed):
    paths, publication = refreshed
    assert os.path.realpath(paths.latest) == os.path.realpath(publication)
    html = (paths.latest / "index.html").read_text(encoding="utf-8")
    mart = pd.read_csv(paths.latest / "data" / "partner_progress.csv", encoding="utf-8-sig").set_index("partner_id")
    assert f"{mart.loc['P001', 'reductions_12m_tco2e']:,.1f}" in html
    assert "SAMPLE" in html and 'lang="th"' in html
    for rel in ("drift/drift_report.html", "drift/drift_report.json", "manifest.json", "quality/gate.json",
                "data/awareness_baseline.parquet"):
        assert (paths.latest / rel).is_file(), rel


def test_sample_publication_validates_with_frictionless_and_every_relation_opens(refreshed):
    from pathlib import Path

    from frictionless import Package

    from phakhi.publish.warehouse import unopenable_relations

    paths, publication = refreshed
    report = Package(str(Path(publication) / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]
    assert unopenable_relations(paths.published_db) == []


def test_p040_page_shows_the_borrowed_credential_as_excluded(refreshed):
    """P040 quotes P036's T-VER credential: its page shows the id, excluded, counted for P036 (issue 13)."""
    paths, _ = refreshed
    html = (paths.latest / "partners" / "P040.html").read_text(encoding="utf-8")
    section = html[html.index('id="credentials"'):html.index('id="sources"')]
    assert 'data-credential="T-VER-P036-2567" data-status="excluded"' in section
    assert 'href="P036.html"' in section                          # the partner it is counted for
    rows = pd.read_csv(paths.latest / "data" / "partners" / "P040" / "credentials.csv", encoding="utf-8-sig")
    hit = rows.set_index("credential_id").loc["T-VER-P036-2567"]
    assert hit["counted_tco2e"] == 0 and hit["excluded_tco2e"] == hit["claimed_tco2e"] > 0
    assert hit["counted_for_partner_ids"] == "P036"


def _tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def test_no_page_of_the_publication_loads_anything_from_the_internet(refreshed):
    from phakhi.quality.data_docs import remote_loads

    paths, _ = refreshed
    pages = list(paths.latest.resolve().rglob("*.html"))
    assert len(pages) > 5    # dashboard, drift report, Data Docs pages
    for page in pages:
        assert remote_loads(page.read_text(encoding="utf-8")) == [], page
    assert (paths.latest / "quality" / "data_docs" / "static" / "vendor" / "bootstrap.min.css").is_file()


def test_manifest_hashes_match_the_inputs_and_datapackage_lists_the_open_data(refreshed):
    import json

    paths, _ = refreshed
    from phakhi.publish.build import read_inputs

    manifest = json.loads((paths.latest / "manifest.json").read_text(encoding="utf-8"))
    inputs = read_inputs(paths.latest)          # the lists manifest.json names, each checked by its SHA-256
    assert len(inputs) == manifest["inputs"]["files"] == sum(
        1 for f in ("partner_registry", "partner_inventories", "activity_reports", "ghg_reductions", "survey_waves")
        for p in (paths.landing / f).rglob("*") if p.is_file())
    for entry in inputs.to_dict("records")[::10]:
        assert hashlib.sha256((paths.landing / entry["file"]).read_bytes()).hexdigest() == entry["file_hash"], entry
    assert manifest["gate"]["passed"] and manifest["code_version"]
    package = json.loads((paths.latest / "datapackage.json").read_text(encoding="utf-8"))
    for res in package["resources"]:
        for part in res["path"] if isinstance(res["path"], list) else [res["path"]]:   # a list: one file a month
            assert (paths.latest / part).is_file()
            header = (paths.latest / part).read_text(encoding="utf-8-sig").splitlines()[0].split(",")
            assert header == [f["name"] for f in res["schema"]["fields"]]


def test_formula_payloads_are_neutralised_in_every_csv(refreshed):
    paths, _ = refreshed
    csvs = list(paths.latest.resolve().rglob("*.csv"))
    assert csvs
    planted = 0
    for path in csvs:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    planted += "HYPERLINK" in cell
                    if cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not _is_number(cell)):
                        raise AssertionError(f"{path.name}: formula-like cell {cell!r}")
    assert planted >= 1


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _normalised(folder, pub_id):
    """A publication's files with run metadata taken out: the manifest, GX's timestamped Data Docs, and the
    random widget ids evidently writes into its HTML."""
    import re

    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        # dbt docs carry dbt's generation time and invocation id (lineage itself is compared by the manifest)
        if not p.is_file() or rel == "manifest.json" or rel.startswith(("quality/data_docs", "docs/dbt")):
            continue
        data = p.read_bytes()
        if p.suffix in (".html", ".json"):
            text = data.decode("utf-8").replace(pub_id, "<pub>").replace(pub_id.lower(), "<pub>")
            text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}", "<id>", text)
            data = text.encode()
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def test_nothing_changed_stops_after_ingest_and_says_so(refreshed):
    """A second refresh on the same inputs, code and month: the live publication stays, nothing is built, and
    the attempt is recorded (issue 17, fixed cost)."""
    from flows.pipeline import monthly_refresh
    from phakhi.publish.pointers import last_attempt

    paths, first = refreshed
    build_before = paths.build_db.stat().st_mtime_ns
    again = monthly_refresh(home=str(paths.home))
    assert again == first and os.readlink(paths.latest) == os.path.basename(first)
    assert paths.build_db.stat().st_mtime_ns == build_before                   # no build, no dbt
    attempt = last_attempt(paths.publications)
    assert attempt["outcome"] == "unchanged" and attempt["publication_id"] == os.path.basename(first)
    assert 'data-outcome="unchanged"' in (paths.publications / "index.html").read_text(encoding="utf-8")


def test_two_refreshes_on_the_same_inputs_publish_the_same_thing(refreshed):
    """The forced second refresh builds from a copy of the published warehouse (incremental facts, seeds kept,
    unchanged gate suites reused); it must publish exactly what the first, from-scratch build published, and
    its warehouse must still open anywhere (make_portable)."""
    from flows.pipeline import monthly_refresh
    from phakhi.publish.warehouse import unopenable_relations

    paths, first = refreshed
    second = monthly_refresh(home=str(paths.home), force=True)
    assert second != first
    log = [json.loads(line) for line in (paths.runs / "stages.jsonl").read_text().splitlines()]
    assert [s["stage"] for s in log].count("start_build") >= 1
    assert unopenable_relations(paths.published_db) == []
    gate = json.loads((paths.runs / os.path.basename(second).split("-", 2)[2] / "gate.json").read_text())
    assert gate["passed"] and gate["reused_suites"]                            # unchanged suites not re-run
    a = _normalised(paths.publications / os.path.basename(first), os.path.basename(first))
    b = _normalised(paths.publications / os.path.basename(second), os.path.basename(second))
    assert a.keys() == b.keys()
    # the audit record says what this run did (suites reused, seeds not reloaded): the checks themselves match
    audit_record = {"quality/gate.json", "quality.html"}
    assert [k for k in a if a[k] != b[k] and k not in audit_record] == []
    checks = [json.loads((paths.publications / os.path.basename(p) / "quality" / "gate.json").read_text())["checks"]
              for p in (first, second)]
    assert checks[0] == checks[1]


def test_a_bad_value_in_a_presentation_mart_fails_the_gate_and_publishes_nothing(refreshed, monkeypatch):
    """dbt builds the presentation marts; a wrong light planted right after (an off-track partner painted
    green) is caught by the gate's dash_* suites and nothing is published."""
    import flows.pipeline as pipeline
    from prefect import task

    paths, _ = refreshed
    before_link = os.readlink(paths.latest)
    real = pipeline.build_warehouse

    @task(name="build_warehouse")
    def build_and_plant(paths, period, **kw):
        outcome = real.fn(paths, period, **kw)
        with duckdb.connect(str(paths.build_db)) as con:
            assert con.execute("select count(*) from marts.dash_partners where status = 'off_track'").fetchone()[0]
            con.execute("update marts.dash_partners set light = 'green' where status = 'off_track'")
        return outcome

    monkeypatch.setattr(pipeline, "build_warehouse", build_and_plant)
    with pytest.raises(pipeline.GateFailed) as err:
        pipeline.monthly_refresh(home=str(paths.home), force=True)
    assert "dash_partners" in str(err.value) and "nothing published" in str(err.value)
    assert os.readlink(paths.latest) == before_link


def test_broken_source_fails_the_gate_and_previous_publication_survives(refreshed):
    from flows.pipeline import GateFailed, monthly_refresh

    paths, publication = refreshed
    before_link, before_tree = os.readlink(paths.latest), _tree_digest(paths.latest.resolve())
    warehouse_before = hashlib.sha256(paths.published_db.read_bytes()).hexdigest()
    # A partner reports a month's reduction larger than its whole annual baseline. Typed as a tCO2e figure,
    # the contract sees it and quarantines the row at ingestion (issue 12: one row never blocks the nation);
    # given as activity data (200 GWh of grid electricity), only the converted figure shows it, and the gate's
    # distribution bound must stop the publication.
    with (paths.landing / "ghg_reductions" / "ghg_2025-12.csv").open("a", encoding="cp874", newline="") as fh:
        csv.writer(fh).writerow(["P002", "P002-G9", "ของเสีย", "ธ.ค. 2568", "99,999,999", "", "", "LESS", "LESS-P002-G9-2568", "ทวนสอบแล้ว"])
        csv.writer(fh).writerow(["P002", "P002-G8", "พลังงาน", "ธ.ค. 2568", "", "200,000,000", "kWh", "LESS", "LESS-P002-G8-2568", "ทวนสอบแล้ว"])
    with pytest.raises(GateFailed) as err:
        monthly_refresh(home=str(paths.home))
    assert "share_of_baseline" in str(err.value) and "nothing published" in str(err.value)
    quarantined = pd.read_csv(paths.quarantine / "ingest_quarantine.csv", encoding="utf-8-sig", dtype=str)
    assert "P002-G9" not in str(err.value)
    assert ((quarantined["file"] == "ghg_reductions/ghg_2025-12.csv") & (quarantined["column"] == "reduction_tco2e")
            & quarantined["rule"].isin(["range", "above_partner_baseline"])).any()
    assert os.readlink(paths.latest) == before_link
    assert _tree_digest(paths.latest.resolve()) == before_tree
    assert hashlib.sha256(paths.published_db.read_bytes()).hexdigest() == warehouse_before
    assert len([p for p in paths.publications.iterdir() if p.is_dir() and not p.is_symlink()
                and not p.name.startswith(".")]) == 2
    index = (paths.publications / "index.html").read_text(encoding="utf-8")     # the blocked attempt is visible
    assert 'data-outcome="blocked"' in index and "share_of_baseline" in index and before_link in index

