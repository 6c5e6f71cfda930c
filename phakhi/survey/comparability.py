"""May two survey waves be compared? Only when their core items and scales match.

`compare_instruments(a, b)` lists every difference between two questionnaire definitions. Differences in the
core (a core item added, dropped, moved to another dimension, reverse coding changed, its Thai wording
changed; the scale's range or Thai labels changed; the missing codes changed) make the waves NOT comparable.
Differences that do not change what respondents answered (English translation, optional items) are
reported as notes only. `check_waves(baseline, wave)` applies this to the instruments registered for two
waves and also refuses a wave whose instrument file was edited in place after the wave was registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .instrument import core, item_scale, load_instrument, wave_instrument


class NotComparable(ValueError):
    """Two waves cannot be compared; the message names every difference."""

    def __init__(self, result: "Comparability"):
        self.result = result
        super().__init__(result.message())


@dataclass
class Comparability:
    baseline: str                 # label, e.g. "wave 2023 (ccai_core_v1)"
    other: str
    differences: list[str] = field(default_factory=list)   # blocking
    notes: list[str] = field(default_factory=list)         # not blocking

    @property
    def comparable(self) -> bool:
        return not self.differences

    def message(self) -> str:
        if self.comparable:
            head = f"{self.other} is comparable with {self.baseline}: core items and scales match"
            return head + ("" if not self.notes else " (notes: " + "; ".join(self.notes) + ")")
        return (f"refused: {self.other} is not comparable with {self.baseline}; its core differs: "
                + "; ".join(self.differences))

    def raise_if_not_comparable(self) -> "Comparability":
        if not self.comparable:
            raise NotComparable(self)
        return self


def compare_instruments(a: dict, b: dict, label_a: str = "baseline", label_b: str = "wave") -> Comparability:
    """Every difference between instrument definitions `a` (baseline) and `b`."""
    out = Comparability(label_a, label_b)
    ca, cb = core(a), core(b)
    ia, ib = ca["items"], cb["items"]
    for code in sorted(set(ia) - set(ib)):
        out.differences.append(f"core item {code} is in {label_a} but not a core item of {label_b}")
    for code in sorted(set(ib) - set(ia)):
        out.differences.append(f"core item {code} is in {label_b} but not a core item of {label_a}")
    for code in sorted(set(ia) & set(ib)):
        x, y = ia[code], ib[code]
        if x["dimension"] != y["dimension"]:
            out.differences.append(f"core item {code}: dimension {x['dimension']} -> {y['dimension']}")
        if x["reverse"] != y["reverse"]:
            out.differences.append(f"core item {code}: reverse coding {x['reverse']} -> {y['reverse']}")
        if x["th"] != y["th"]:
            out.differences.append(f"core item {code}: Thai wording changed ({x['th']!r} -> {y['th']!r})")
        if (x["scale_min"], x["scale_max"]) != (y["scale_min"], y["scale_max"]):
            out.differences.append(f"core item {code}: scale {x['scale_min']}-{x['scale_max']} -> "
                                   f"{y['scale_min']}-{y['scale_max']}")
        elif x["scale_labels_th"] != y["scale_labels_th"]:
            out.differences.append(f"core item {code}: Thai scale labels changed ({x['scale_labels_th']} -> "
                                   f"{y['scale_labels_th']})")
    if ca["missing_codes"] != cb["missing_codes"]:
        out.differences.append(f"missing codes {ca['missing_codes']} -> {cb['missing_codes']}")
    if ca["min_answered_share"] != cb["min_answered_share"]:
        out.differences.append(f"min_answered_share {ca['min_answered_share']} -> {cb['min_answered_share']}")

    # Not blocking: English translation and optional items.
    en_a = {i["code"]: str(i.get("en", "")).strip() for i in a["items"] if i.get("core")}
    en_b = {i["code"]: str(i.get("en", "")).strip() for i in b["items"] if i.get("core")}
    for code in sorted(set(en_a) & set(en_b)):
        if en_a[code] != en_b[code]:
            out.notes.append(f"core item {code}: English translation edited (Thai wording unchanged)")
    opt_a = {i["code"] for i in a["items"] if not i.get("core")}
    opt_b = {i["code"] for i in b["items"] if not i.get("core")}
    if opt_a != opt_b:
        out.notes.append(f"optional items differ ({sorted(opt_a)} vs {sorted(opt_b)}); they are not part of the index")
    scale_en_a = [item_scale(a, i).get("labels_en") for i in a["items"] if i.get("core")]
    scale_en_b = [item_scale(b, i).get("labels_en") for i in b["items"] if i.get("core")]
    if scale_en_a != scale_en_b and not out.differences:
        out.notes.append("English scale labels edited (Thai labels unchanged)")
    return out


def check_waves(baseline: int, wave: int, folder: Path | None = None, registry: dict | None = None,
                instruments: dict[int, str] | None = None) -> Comparability:
    """Compare the instruments two waves fielded (per sources/instrument/waves.yml, or `instruments`
    {wave: instrument name} as recorded in the warehouse). Never raises: read `.comparable`."""
    info = {w: wave_instrument(w, folder, registry) for w in (baseline, wave)}
    if instruments:
        # The warehouse recorded which instrument each wave used at refresh time; prefer that record.
        for w in (baseline, wave):
            if w in instruments and instruments[w] and instruments[w] != info[w].instrument:
                reg = dict(registry or {})
                reg["waves"] = {w: {"instrument": instruments[w]}}
                reg.setdefault("default_instrument", instruments[w])
                info[w] = wave_instrument(w, folder, reg)
    label = {w: f"wave {w} ({info[w].instrument})" for w in info}
    problems = [info[w].describe() for w in (baseline, wave) if not info[w].usable]
    if problems:
        return Comparability(label[baseline], label[wave], differences=problems)
    result = compare_instruments(load_instrument(info[baseline].instrument, folder),
                                 load_instrument(info[wave].instrument, folder), label[baseline], label[wave])
    for w in (baseline, wave):
        if info[w].status == "assumed":
            result.notes.append(info[w].describe())
    return result
