"""Two waves are compared only when their core items and scales match; otherwise the refusal names the differences."""
import copy

import pytest
import yaml

from phakhi.survey.awareness import change_table
from phakhi.survey.comparability import NotComparable, check_waves, compare_instruments
from phakhi.survey.instrument import INSTRUMENT_DIR, core_fingerprint, load_instrument, load_registry, wave_instrument


@pytest.fixture
def v1():
    return load_instrument("ccai_core_v1")


def edited(inst, code, **changes):
    out = copy.deepcopy(inst)
    for item in out["items"]:
        if item["code"] == code:
            item.update(changes)
    return out


def test_same_instrument_is_comparable(v1):
    result = compare_instruments(v1, copy.deepcopy(v1))
    assert result.comparable and result.differences == []
    assert result.raise_if_not_comparable() is result


@pytest.mark.parametrize("change, expected", [
    ({"th": "ฉันรู้ว่าประเทศไทยมีเป้าหมายความเป็นกลางทางคาร์บอน"}, "k3: Thai wording changed"),
    ({"reverse": True}, "k3: reverse coding False -> True"),
    ({"dimension": "concern"}, "k3: dimension knowledge -> concern"),
    ({"core": False}, "core item k3 is in baseline but not a core item of wave"),
    ({"scale": {"min": 1, "max": 7, "labels_th": list("abcdefg")}}, "k3: scale 1-5 -> 1-7"),
])
def test_a_changed_core_item_is_refused_and_named(v1, change, expected):
    result = compare_instruments(v1, edited(v1, "k3", **change))
    assert not result.comparable
    assert any(expected in d for d in result.differences), result.differences
    with pytest.raises(NotComparable) as err:
        result.raise_if_not_comparable()
    assert "refused" in str(err.value) and "k3" in str(err.value)


def test_scale_missing_codes_and_new_core_items_are_refused(v1):
    other = copy.deepcopy(v1)
    other["scale"]["labels_th"][2] = "ไม่แน่ใจ"
    other["missing_codes"] = {8: {"en": "don't know"}, 9: {"en": "refused"}, 7: {"en": "not applicable"}}
    other["items"].append({"code": "k5", "dimension": "knowledge", "core": True, "reverse": False, "en": "x", "th": "x"})
    diffs = " | ".join(compare_instruments(v1, other).differences)
    assert "Thai scale labels changed" in diffs and "missing codes [8, 9] -> [7, 8, 9]" in diffs
    assert "core item k5 is in wave but not a core item of baseline" in diffs


def test_english_wording_and_optional_items_do_not_block(v1):
    other = edited(v1, "k1", en="Burning coal, oil and gas is the main cause of climate change.")
    other["items"] = [i for i in other["items"] if i["code"] != "o2"]
    result = compare_instruments(v1, other)
    assert result.comparable
    assert any("English translation" in n for n in result.notes) and any("optional" in n for n in result.notes)


def test_registered_waves_match_their_instrument_files():
    # Editing a core item of ccai_core_v1.yml in place breaks this test: make ccai_core_v2.yml instead.
    registry = load_registry()
    assert registry["waves"], "sources/instrument/waves.yml registers no wave"
    for wave, entry in registry["waves"].items():
        info = wave_instrument(int(wave))
        assert info.status == "registered", info.describe()
        assert entry["core_fingerprint"] == core_fingerprint(load_instrument(entry["instrument"]))
    assert check_waves(2023, 2025).comparable


def test_an_instrument_edited_in_place_after_registration_is_refused(tmp_path, v1):
    (tmp_path / "ccai_core_v1.yml").write_text(yaml.safe_dump(edited(v1, "c2", reverse=True), allow_unicode=True),
                                              encoding="utf-8")
    registry = {"baseline_wave": 2023, "waves": {2023: {"instrument": "ccai_core_v1",
                                                        "core_fingerprint": core_fingerprint(v1)}}}
    (tmp_path / "waves.yml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    assert wave_instrument(2023, tmp_path).status == "core_changed_since_registration"
    result = check_waves(2023, 2027, tmp_path)
    assert not result.comparable
    assert "changed after the wave was registered" in result.message() and "ccai_core_v2" in result.message()


def test_a_wave_fielding_a_new_instrument_version_is_refused(tmp_path, v1):
    (tmp_path / "ccai_core_v1.yml").write_text(yaml.safe_dump(v1, allow_unicode=True), encoding="utf-8")
    v2 = edited(v1, "b3", th="ฉันใช้รถยนต์ไฟฟ้า", en="I drive an electric car.")
    v2["instrument"] = "ccai_core_v2"
    (tmp_path / "ccai_core_v2.yml").write_text(yaml.safe_dump(v2, allow_unicode=True), encoding="utf-8")
    registry = {"baseline_wave": 2023, "default_instrument": "ccai_core_v1",
                "waves": {2023: {"instrument": "ccai_core_v1"}, 2027: {"instrument": "ccai_core_v2"}}}
    (tmp_path / "waves.yml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    result = check_waves(2023, 2027, tmp_path)
    assert not result.comparable
    assert result.differences == [f"core item b3: Thai wording changed ({v1['items'][10]['th']!r} -> 'ฉันใช้รถยนต์ไฟฟ้า')"]
    # The change table refuses too: every number withheld, the reason on every row.
    import pandas as pd

    base = pd.DataFrame([{"wave": w, "measure": "awareness_index", "statistic": "mean", "unit": "score 0-100",
                          "domain": "overall", "domain_value": "all", "estimate": e, "se": 1.0, "n": 500,
                          "suppressed": False, "unstable_se": False, **{c: "x" for c in (
                              "measure_th", "measure_en", "domain_th", "domain_en", "domain_value_th",
                              "domain_value_en")}} for w, e in ((2023, 50.0), (2027, 60.0))])
    change = change_table(base, 2023, comparability={2027: result})
    assert not change["comparable"].any() and change["difference"].isna().all() and change["p_value"].isna().all()
    assert "b3" in change["comparability_note"].iloc[0]


def test_unknown_wave_is_assumed_to_use_the_default_instrument():
    info = wave_instrument(2031)
    assert info.status == "assumed" and info.instrument == "ccai_core_v1" and info.usable
    assert (INSTRUMENT_DIR / "waves.yml").is_file()
