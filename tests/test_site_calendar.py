"""One calendar per language on the site: B.E. in Thai, C.E. in English, in text, dates and chart hovers; and the
header says which months the publication covers and which received months are held."""
import pandas as pd


def test_year_hover_is_buddhist_era_in_thai_and_common_era_in_english():
    from phakhi.publish.pages import year_hover, year_ticks

    hover = year_hover([2025, 2030], "tCO2e")
    assert hover["customdata"] == [{"th": "พ.ศ. 2568", "en": "2025"}, {"th": "พ.ศ. 2573", "en": "2030"}]
    assert "%{x}" not in hover["hovertemplate"] and "%{customdata}" in hover["hovertemplate"]
    assert year_ticks(2025, 2026)["ticktext"] == [{"th": "2568", "en": "2025"}, {"th": "2569", "en": "2026"}]


def test_chart_hovers_never_show_the_raw_year():
    from pathlib import Path

    import phakhi.publish.pages as pages

    assert "%{x}: %{y" not in Path(pages.__file__).read_text(encoding="utf-8")


def test_dates_are_labelled_in_each_language():
    from phakhi.publish.site import date_label

    assert date_label("2025-03-01") == ("1 มี.ค. 2568", "1 Mar 2025")
    assert date_label(None) == ("–", "–")


def test_month_status_names_the_held_months():
    from phakhi.publish.pages import Codebook, Warehouse, month_status

    ms = pd.DataFrame({"period": ["2025-06", "2025-05", "2025-08"], "status": ["published", "published", "held"],
                       "partners_reporting": [4, 3, 1], "partners_registered": [4, 4, 4]})
    labels = pd.DataFrame({"kind": ["month_status"] * 2, "code": ["published", "held"],
                           "label_th": ["เผยแพร่แล้ว", "รอเผยแพร่"], "label_en": ["Published", "Held"]})
    wh = Warehouse({"dash_month_status": ms, "dash_labels": labels}, {})
    out = month_status(wh, Codebook(wh))
    assert out["first"] == ("พ.ค. 2568", "May 2025")
    assert [r["period"] for r in out["held"]] == ["2025-08"] and out["held"][0]["status_label"] == ("รอเผยแพร่", "Held")
    assert month_status(Warehouse({}, {}), Codebook(Warehouse({}, {}))) is None
