"""The questionnaire definitions (sources/instrument/<name>.yml) and the register of which instrument each wave
fielded (sources/instrument/waves.yml).

The *core* of an instrument is what makes two waves comparable: the core items' codes, dimensions, reverse
coding and Thai (fielded) wording, the answer scale and its Thai labels, and the missing-value codes. Its
fingerprint (sha256 of a canonical JSON of the core) is recorded per wave in waves.yml, so an in-place edit
of a core item is detected later instead of silently making old and new waves look comparable.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from phakhi.settings import REPO_ROOT

INSTRUMENT_DIR = REPO_ROOT / "sources" / "instrument"
REGISTRY_FILE = "waves.yml"


def instrument_dir(folder: Path | None = None) -> Path:
    return Path(folder) if folder is not None else INSTRUMENT_DIR


def load_instrument(name: str = "ccai_core_v1", folder: Path | None = None) -> dict:
    """The questionnaire `name` (sources/instrument/<name>.yml): the one loader, for ingestion and analysis."""
    path = instrument_dir(folder) / f"{name}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in instrument_dir(folder).glob("*.yml") if p.name != REGISTRY_FILE)
        raise FileNotFoundError(f"instrument {name!r} not found in {instrument_dir(folder)}; known: {', '.join(known)}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def item_scale(inst: dict, item: dict) -> dict:
    """The scale an item is answered on: its own `scale` if it has one, else the instrument's."""
    return item.get("scale") or inst["scale"]


def core(inst: dict) -> dict:
    """The comparability-relevant part of an instrument, in a canonical form."""
    items = {}
    for item in inst["items"]:
        if not item.get("core"):
            continue
        scale = item_scale(inst, item)
        items[item["code"]] = {"dimension": item["dimension"], "reverse": bool(item.get("reverse")),
                               "th": str(item["th"]).strip(), "scale_min": int(scale["min"]),
                               "scale_max": int(scale["max"]),
                               "scale_labels_th": [str(x).strip() for x in scale.get("labels_th", [])]}
    return {"items": dict(sorted(items.items())),
            "missing_codes": sorted(int(c) for c in inst.get("missing_codes", {})),
            "min_answered_share": float(inst.get("min_answered_share", 0.5))}


def core_fingerprint(inst: dict) -> str:
    blob = json.dumps(core(inst), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_registry(folder: Path | None = None) -> dict:
    path = instrument_dir(folder) / REGISTRY_FILE
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass(frozen=True)
class WaveInstrument:
    wave: int
    instrument: str
    version: str
    fingerprint: str              # of the instrument file as it is now
    registered_fingerprint: str | None
    status: str                   # registered | assumed | core_changed_since_registration | unknown_instrument

    @property
    def usable(self) -> bool:
        return self.status in ("registered", "assumed")

    def describe(self) -> str:
        if self.status == "registered":
            return f"wave {self.wave}: {self.instrument} v{self.version} (registered)"
        if self.status == "assumed":
            return (f"wave {self.wave}: {self.instrument} v{self.version} (not in waves.yml: assumed from the default "
                    f"instrument)")
        if self.status == "unknown_instrument":
            return f"wave {self.wave}: instrument {self.instrument!r} has no definition file"
        return (f"wave {self.wave}: the core of {self.instrument} changed after the wave was registered "
                f"(registered fingerprint {str(self.registered_fingerprint)[:12]}, file now {self.fingerprint[:12]}); "
                f"a changed core must be a new instrument file, e.g. {_next_name(self.instrument)}.yml")


def _next_name(name: str) -> str:
    stem, _, v = name.rpartition("_v")
    return f"{stem}_v{int(v) + 1}" if stem and v.isdigit() else f"{name}_v2"


def wave_instrument(wave: int, folder: Path | None = None, registry: dict | None = None) -> WaveInstrument:
    """Which instrument a wave fielded, per waves.yml (or the registry's default for an unlisted wave)."""
    reg = load_registry(folder) if registry is None else registry
    entry = {int(k): v for k, v in (reg.get("waves") or {}).items()}.get(int(wave))
    name = (entry or {}).get("instrument") or reg.get("default_instrument") or "ccai_core_v1"
    try:
        inst = load_instrument(name, folder)
    except FileNotFoundError:
        return WaveInstrument(int(wave), name, "", "", (entry or {}).get("core_fingerprint"), "unknown_instrument")
    fp = core_fingerprint(inst)
    if entry is None:
        return WaveInstrument(int(wave), name, str(inst.get("version", "")), fp, None, "assumed")
    registered = entry.get("core_fingerprint")
    status = "registered" if registered in (None, fp) else "core_changed_since_registration"
    return WaveInstrument(int(wave), name, str(inst.get("version", "")), fp, registered, status)


def baseline_wave(waves: list[int], folder: Path | None = None, registry: dict | None = None) -> int:
    """The baseline wave: waves.yml's baseline_wave when it is among `waves`, else the earliest wave."""
    reg = load_registry(folder) if registry is None else registry
    waves = sorted(int(w) for w in waves)
    if not waves:
        raise ValueError("no survey wave to take as baseline")
    chosen = reg.get("baseline_wave")
    return int(chosen) if chosen is not None and int(chosen) in waves else waves[0]


def index_levels(inst: dict) -> list[tuple[str, float, float | None]]:
    """(level, from, below) of the awareness-index levels, lowest first."""
    levels = (inst.get("index") or {}).get("levels") or {}
    return sorted(((k, float(v["from"]), None if v.get("below") is None else float(v["below"]))
                   for k, v in levels.items()), key=lambda t: t[1])
