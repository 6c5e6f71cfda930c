"""Shared test set-up: every test session gets its own Prefect home and PHAKHI_HOME, never ~/.prefect or ./var."""
import os
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="phakhi-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_DIR / "prefect"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PHAKHI_HOME"] = str(_SESSION_DIR / "home")

import phakhi  # noqa: E402,F401  (sets telemetry opt-outs before Prefect/dbt/GX/evidently are imported)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def home(tmp_path):
    from phakhi.settings import use_home

    return use_home(tmp_path / "home")


@pytest.fixture(scope="session")
def session_dir():
    return _SESSION_DIR
