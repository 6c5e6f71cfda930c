"""Phakhi's settings and the one map of its home folder.

`Settings` (pydantic-settings) reads every `PHAKHI_*` environment variable, and only this module reads them.
`Paths` owns every location under PHAKHI_HOME (default ./var); no other module joins a file name onto the home.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONTRACTS_DIR = REPO_ROOT / "sources" / "contracts"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

FAMILIES = ("partner_registry", "activity_reports", "ghg_reductions", "survey_waves")


class Settings(BaseSettings):
    """Every PHAKHI_* variable, typed. Read afresh by `settings()` so a changed environment takes effect."""
    model_config = SettingsConfigDict(env_prefix="PHAKHI_", extra="ignore")

    home: Path | None = None                   # PHAKHI_HOME: all runtime state (default ./var)
    progress: bool = True                      # PHAKHI_PROGRESS=0: no progress bar on a terminal
    ingest_workers: int | None = None          # PHAKHI_INGEST_WORKERS: ingest processes (default: one per core)
    publish_workers: int | None = None         # PHAKHI_PUBLISH_WORKERS: processes rendering partner pages (default: one per core; 1 = in the flow process)
    ingest_start_method: str | None = None     # PHAKHI_INGEST_START_METHOD: forkserver (Linux) | spawn
    task_runner: str = ""                      # PHAKHI_TASK_RUNNER: threads[:N] | dask[:N] | dask:tcp://host:port
    refresh_timeout_seconds: str = ""          # PHAKHI_REFRESH_TIMEOUT_SECONDS: default 2 h, 0 = none
    notify_webhook: str = ""                   # PHAKHI_NOTIFY_WEBHOOK: POST a summary of a failed refresh
    notify_secret: str = ""                    # PHAKHI_NOTIFY_SECRET: HMAC-SHA256 signature of that POST
    # partner portal (portal/) and the partners' right of reply
    review_days: float = 0                     # PHAKHI_REVIEW_DAYS: review window before publishing (0 = none)
    portal_secret_key: str = ""                # PHAKHI_PORTAL_SECRET_KEY: default a generated key in portal_dir
    portal_database_url: str = ""              # PHAKHI_PORTAL_DATABASE_URL: postgres://...; default SQLite
    portal_allowed_hosts: str = "127.0.0.1,localhost"   # PHAKHI_PORTAL_ALLOWED_HOSTS (comma-separated)
    portal_csrf_origins: str = ""              # PHAKHI_PORTAL_CSRF_ORIGINS: https://portal.example (behind nginx)
    portal_secure: bool = False                # PHAKHI_PORTAL_SECURE: secure cookies + HSTS (behind TLS)
    portal_max_upload_mb: float = 10           # PHAKHI_PORTAL_MAX_UPLOAD_MB: largest file a partner may upload


def settings() -> Settings:
    return Settings()


@dataclass(frozen=True)
class Paths:
    home: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike | None = None) -> "Paths":
        root = Path(home or settings().home or Path.cwd() / "var")
        return cls(root.expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def landing_for(self, family: str) -> Path:
        return self.landing / family

    @property
    def home_marker(self) -> Path:
        """What kind of data the home holds ('real' after `phakhi init`; phakhi/home.py)."""
        return self.home / "phakhi_home.json"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def build_db(self) -> Path:
        """Write: each refresh builds here; nothing published reads it."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_db(self) -> Path:
        """The warehouse as of the last publication that passed the gate."""
        return self.warehouse_dir / "phakhi.duckdb"

    @property
    def build_inputs(self) -> Path:
        """What the build warehouse was built from (phakhi/refresh_inputs.py), written after a good dbt build."""
        return self.warehouse_dir / "build.inputs.json"

    @property
    def published_inputs(self) -> Path:
        """What the published warehouse was built from, and the publication it belongs to."""
        return self.warehouse_dir / "phakhi.inputs.json"

    @property
    def history_db(self) -> Path:
        """Persistent history across refreshes (the dim_partners snapshot)."""
        return self.warehouse_dir / "history.duckdb"

    @property
    def landing_ledger(self) -> Path:
        """The landing ledger: every file ever landed, its hash, status and supersede history."""
        # the file keeps its first name so existing homes keep their history
        return self.home / "landing_manifest.duckdb"

    @property
    def landing_archive(self) -> Path:
        return self.home / "landing_archive"

    @property
    def ingest_cache(self) -> Path:
        """Per-file ingest outcomes keyed by content hash + code/contract fingerprint (safe to delete)."""
        return self.home / "cache" / "ingest"

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

    @property
    def portal_dir(self) -> Path:
        """The partner portal's own state: its SQLite database, generated secret, upload scratch space."""
        return self.home / "portal"

    @property
    def candidate_dir(self) -> Path:
        """A refresh that passed the gate, waiting for the partners' review and DCCE's approval."""
        return self.home / "candidate"

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
