"""The national benchmark's generator at a tiny scale: SAMPLE-shaped files that ingest cleanly, and adding a
month leaves the earlier files' bytes untouched (what the incremental-month benchmark measures)."""
import hashlib
import importlib.util

from phakhi.ingest.landing import ingest_landing
from phakhi.settings import REPO_ROOT, Paths


def _national():
    spec = importlib.util.spec_from_file_location("national", REPO_ROOT / "benchmarks" / "national.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _digests(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_national_generator_small_scale_ingests_and_adds_a_month(tmp_path):
    nat = _national()
    landing = tmp_path / "landing"
    first = nat.generate(landing, scale=0.002, months=2, workers=1)
    assert first["partners"] >= 10 and first["survey_waves"] == 5
    assert first["activity_files"] > 0 and first["ghg_rows"] > 0 and first["inventory_files"] > 0
    before = _digests(landing)
    second = nat.generate(landing, scale=0.002, months=3, workers=1)
    after = _digests(landing)
    assert second["activity_files"] > first["activity_files"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {k for k in before if k.name == "SAMPLE_README.txt"}, changed
    new = set(after) - set(before)
    assert new and all("2025-03" in str(k) for k in new)

    results = ingest_landing(Paths.from_env(tmp_path).ensure(), record=False, workers=1)
    totals = {r.family: r.totals for r in results}
    assert totals["activity_reports"]["files"] == second["activity_files"]
    assert totals["ghg_reductions"]["rows_read"] == second["ghg_rows"]
    assert totals["survey_waves"]["rows_read"] == second["respondents"]
    for t in totals.values():           # every generated row is valid: loaded, none quarantined
        assert t["files_rejected"] == 0 and t["rows_quarantined"] == 0 and t["rows_loaded"] == t["rows_read"], t


def test_national_partners_cover_every_province():
    """8,000 partners in 11 provinces made every province's ACE intensity implausible (the stride shared a factor
    with the 77 provinces); partners are spread over all of them."""
    from phakhi.sample import provinces

    partners = _national().national_partners(400, seed=17)
    assert {p.province_code for p in partners} == set(provinces()["province_code"])


def test_resubmissions_supersede_the_month_before(tmp_path):
    """`resubmissions`: that many partners resend the month before the last, as `_v2` workbooks of the same
    partner-month, and nothing else changes; ingested, each supersedes its first workbook."""
    nat = _national()
    landing = tmp_path / "landing"
    nat.generate(landing, scale=0.002, months=2, workers=1)
    before = _digests(landing)
    counts = nat.generate(landing, scale=0.002, months=3, workers=1, resubmissions=2)
    after = _digests(landing)
    assert counts["resubmissions"] == 2
    assert {k for k in before if before[k] != after[k]} <= {k for k in before if k.name == "SAMPLE_README.txt"}
    resent = sorted(k for k in set(after) - set(before) if k.stem.endswith("_v2"))
    assert len(resent) == 2 and all(k.parent.name == "2025-02" for k in resent)
    for k in resent:                      # the same partner-month as a workbook already there
        assert landing / k.parent / f"{k.stem[:-3]}.xlsx" in {landing / p for p in before}

    results = ingest_landing(Paths.from_env(tmp_path).ensure(), record=False, workers=1)
    acts = next(r for r in results if r.family == "activity_reports")
    assert acts.totals["files"] == counts["activity_files"] and acts.totals["files_superseded"] == 2
    superseded = acts.file_report[acts.file_report["status"] == "superseded"]["file"].tolist()
    assert sorted(superseded) == sorted(str(k.with_name(f"{k.stem[:-3]}.xlsx")) for k in resent)
