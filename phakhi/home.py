"""What a PHAKHI_HOME holds - SAMPLE or real data - and the rule that the two never mix.

`phakhi init` makes an empty home for real data and marks it (Paths.home_marker, kind "real"). A home without
the mark that has SAMPLE data (landing/SAMPLE_README.txt, written by `phakhi sample`) is a SAMPLE home. The
refresh refuses, with a message a person can act on, when
  - a home for real data holds SAMPLE data, or
  - a SAMPLE home holds files the SAMPLE generator did not write (real files added to it). Files the partner
    portal landed in a SAMPLE home (a practice portal: its partners are the SAMPLE's fictional ones) are noted
    by the portal itself (`note_portal_file`) and count as part of the SAMPLE home; what it publishes stays
    labelled SAMPLE.
The kind reaches the presentation layer through dbt (var `data_kind` -> model `publication_origin`), so the
SAMPLE banner appears only on SAMPLE data.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from phakhi.settings import FAMILIES, Paths
from phakhi.sample import SAMPLE_FILES

SAMPLE_README = "SAMPLE_README.txt"
PORTAL_FILES = ".portal_files"     # hidden (the refresh skips it): files the portal landed in a SAMPLE home
REAL, SAMPLE = "real", "sample"


class HomeMixed(ValueError):
    """SAMPLE and real data in one home: the refresh refuses."""


def marker(paths: Paths) -> dict:
    try:
        return json.loads(paths.home_marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def has_sample(paths: Paths) -> bool:
    return (paths.landing / SAMPLE_README).exists()


def data_kind(paths: Paths) -> str:
    """'real' for a home made by `phakhi init` (or one holding only non-SAMPLE files), else 'sample'."""
    if marker(paths).get("kind") == REAL:
        return REAL
    return SAMPLE if has_sample(paths) else REAL


def is_real_home(paths: Paths) -> bool:
    return marker(paths).get("kind") == REAL


def init_home(paths: Paths) -> list[str]:
    """Make an empty home for real data. Refuses (HomeMixed) a home that already holds SAMPLE data or
    landed files of another kind. Returns what was done, one line each."""
    if has_sample(paths):
        raise HomeMixed(f"{paths.home} already holds SAMPLE data ({paths.landing / SAMPLE_README}); "
                        f"make the home for real data elsewhere: phakhi init --home /path/to/new/home")
    paths.ensure()
    done = []
    if not is_real_home(paths):
        paths.home_marker.write_text(json.dumps({
            "kind": REAL, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "created_by": "phakhi init"}, indent=1), encoding="utf-8")
        done.append(f"marked {paths.home} as a home for REAL data ({paths.home_marker.name})")
    else:
        done.append(f"{paths.home} is already a home for REAL data")
    for family in (*FAMILIES, "partner_inventories"):
        paths.landing_for(family).mkdir(parents=True, exist_ok=True)
    done.append(f"landing folders ready under {paths.landing}: " +
                ", ".join(f"{f}/" for f in (*FAMILIES, "partner_inventories")))
    return done


def _landed_files(paths: Paths) -> list[str]:
    if not paths.landing.exists():
        return []
    return sorted(p.relative_to(paths.landing).as_posix() for p in paths.landing.rglob("*")
                  if p.is_file() and p.parent != paths.landing and not p.name.startswith((".", "~$")))


def note_portal_file(paths: Paths, path) -> None:
    """The partner portal landed `path`: in a SAMPLE home, note it as part of that home (see above). In a home
    for real data there is nothing to note: the portal's files are real."""
    if is_real_home(paths) or not has_sample(paths):
        return
    rel = Path(path).resolve().relative_to(paths.landing.resolve()).as_posix()
    noted = paths.landing / PORTAL_FILES
    if rel not in (noted.read_text(encoding="utf-8").split("\n") if noted.exists() else []):
        with open(noted, "a", encoding="utf-8") as f:
            f.write(rel + "\n")


def mixing_problems(paths: Paths) -> list[str]:
    """Why this home's landing area mixes SAMPLE and real data (empty list: it does not)."""
    if is_real_home(paths):
        if has_sample(paths):
            return [f"this home ({paths.home}) is for REAL data but its landing area holds SAMPLE data "
                    f"({paths.landing / SAMPLE_README}). Remove the SAMPLE files (and {SAMPLE_README}, "
                    f"{SAMPLE_FILES}) from {paths.landing}, or run SAMPLE refreshes in another home."]
        return []
    listed = paths.landing / SAMPLE_FILES
    if not has_sample(paths) or not listed.exists():
        return []
    sample_files = set(listed.read_text(encoding="utf-8").split())
    portal = paths.landing / PORTAL_FILES
    if portal.exists():
        sample_files |= set(portal.read_text(encoding="utf-8").split("\n")) - {""}
    extra = [f for f in _landed_files(paths) if f not in sample_files]
    if not extra:
        return []
    shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return [f"this home ({paths.home}) holds SAMPLE data, and {len(extra)} file(s) the SAMPLE generator did not "
            f"write: {shown}. SAMPLE and real files never mix: make a home for real data with "
            f"`phakhi init --home /path/to/real/home`, put the real files in its landing folders, and remove "
            f"them from {paths.landing}."]


def check_home(paths: Paths) -> None:
    """Raise HomeMixed when SAMPLE and real data are mixed in the home (the refresh calls this first)."""
    problems = mixing_problems(paths)
    if problems:
        raise HomeMixed("refresh refused: " + " ".join(problems))
