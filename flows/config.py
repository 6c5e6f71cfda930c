"""Where Phakhi keeps things. All runtime state lives under one directory, PHAKHI_HOME (default ./var)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONTRACTS_DIR = REPO_ROOT / "sources" / "contracts"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

FAMILIES = ("partner_registry", "activity_reports", "ghg_reductions", "survey_waves")


@dataclass(frozen=True)
class Paths:
    home: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike | None = None) -> "Paths":
        root = Path(home or os.environ.get("PHAKHI_HOME") or Path.cwd() / "var")
        return cls(root.expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def landing_for(self, family: str) -> Path:
        return self.landing / family

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def staging_db(self) -> Path:
        """Write: each refresh builds here; nothing published reads it."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_db(self) -> Path:
        """The warehouse as of the last publication that passed the gate."""
        return self.warehouse_dir / "phakhi.duckdb"

    @property
    def publications(self) -> Path:
        return self.home / "publications"

    @property
    def latest(self) -> Path:
        return self.publications / "latest"

    @property
    def runs(self) -> Path:
        return self.home / "runs"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def dbt_work(self) -> Path:
        return self.home / "dbt"

    def ensure(self) -> "Paths":
        for p in (self.landing, self.quarantine, self.warehouse_dir, self.publications, self.runs,
                  self.prefect_home, self.dbt_work, *(self.landing_for(f) for f in FAMILIES)):
            p.mkdir(parents=True, exist_ok=True)
        return self


def use_home(home: str | os.PathLike | None = None) -> Paths:
    """Resolve PHAKHI_HOME, create its folders and point Prefect's own state inside it.

    Must run before Prefect is imported: Prefect reads PREFECT_HOME once at import.
    """
    paths = Paths.from_env(home).ensure()
    os.environ["PHAKHI_HOME"] = str(paths.home)
    os.environ.setdefault("PREFECT_HOME", str(paths.prefect_home))
    return paths
