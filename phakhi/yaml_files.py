"""The YAML files Phakhi reads on every run (contracts, dbt's YAML, the Thai data dictionary): parsed with libyaml's
safe loader when PyYAML was built with it - the same documents, 5-8x faster (each process loads every contract;
the build plan scans every dbt YAML file on every refresh)."""
from __future__ import annotations

from pathlib import Path

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path | str):
    """The document of one UTF-8 YAML file (None when it is empty)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER)
