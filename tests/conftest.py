"""Shared test set-up: every test session gets its own Prefect home and PHAKHI_HOME, never ~/.prefect or ./var.

One refreshed SAMPLE home per session (integration tests)
---------------------------------------------------------
A full monthly refresh costs 1.5-2 CPU minutes, so the integration modules that only need "a SAMPLE month
published by the real flow" share one, made the first time a test asks for it:

- `refreshed_sample` (session): a `Refreshed(paths, publication)` for modules that only READ it (publication files,
  the published warehouse, landing files). Never write into it: every other module sees the same folder.
- `copy_sample(dest)` (session fixture returning a function): a private copy under dest (about 130 MB, a second or
  two) for modules that write into the home: another refresh, a changed landing file, reports under the home.
- `partner_text` (session): the planted hostile strings below, by name.

The SAMPLE landing of that home carries hostile partner-supplied text (`plant_partner_text`): a spreadsheet formula
in P001's name, script in P005's English name, quotes in P006's Thai name, script in a title of P007's December
report. The figures are those of the plain SAMPLE (names and titles never enter a sum), so modules that check
numbers and modules that check that the text is shown as text, never run, use the same month.

Modules that need their own month (hostile files planted before ingestion, a home made by `phakhi init`, the
production path on a Prefect server, the portal's journey) still run their own refresh.
"""
import csv
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

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


# ------------------------------------------------------------------ one refreshed SAMPLE home per session
FORMULA_NAME_PREFIX = '=HYPERLINK("http://evil.example","x")'     # P001's Thai name starts with it
XSS_NAME = "<script>alert(1)</script>"                              # P005's English name
QUOTED_NAME = 'ภาคี "ทดสอบ" O\'Brien & ลูก'                          # P006's Thai name
XSS_TITLE = "</script><script>alert('title')</script><img src=x onerror=alert(3)>"
XSS_TITLE_PARTNER = "P007"                                          # title (and lesson) of its last report's 1st row


class Refreshed(NamedTuple):
    paths: "object"          # phakhi.settings.Paths of the home
    publication: Path        # the folder the refresh published


def plant_partner_text(landing: Path) -> None:
    """Hostile partner-supplied text in the SAMPLE landing (see the module docstring); numbers unchanged."""
    import openpyxl

    reg = landing / "partner_registry" / "partner_registry.csv"
    with reg.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    by_id = {r[0]: r for r in rows[1:]}
    by_id["P001"][header.index("name_th")] = FORMULA_NAME_PREFIX + by_id["P001"][header.index("name_th")]
    by_id["P005"][header.index("name_en")] = XSS_NAME
    by_id["P006"][header.index("name_th")] = QUOTED_NAME
    with reg.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)

    path = sorted((landing / "activity_reports").rglob(f"{XSS_TITLE_PARTNER}_*.xlsx"))[-1]
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    for row in ws.iter_rows():
        values = [c.value for c in row]
        if "ชื่อกิจกรรม" in values:
            title_col = values.index("ชื่อกิจกรรม")
            lesson_col = values.index("บทเรียนที่ได้รับ") if "บทเรียนที่ได้รับ" in values else None
            header_row = row[0].row
            break
    else:  # pragma: no cover - the sample's layout changed
        raise AssertionError(f"no title column in {path}")
    ws.cell(row=header_row + 1, column=title_col + 1, value=XSS_TITLE)
    if lesson_col is not None:
        ws.cell(row=header_row + 1, column=lesson_col + 1, value=XSS_TITLE)
    wb.save(path)


@pytest.fixture(scope="session")
def refreshed_sample(tmp_path_factory) -> Refreshed:
    """The SAMPLE month (with hostile partner text) published by the real monthly flow, once per session.
    Read only: use `copy_sample` to write.

    Under pytest-xdist the workers share one: the first to ask refreshes it in the run's common temporary
    folder, under a file lock, and the others wait for it and use it."""
    from filelock import FileLock

    from phakhi.settings import use_home

    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "refreshed-sample"      # pytest-N/, common to the workers
    else:
        root = tmp_path_factory.mktemp("refreshed-sample")
    root.mkdir(parents=True, exist_ok=True)
    done = root / "publication.txt"
    with FileLock(str(root / ".lock")):
        if not done.is_file():
            from flows.pipeline import monthly_refresh
            from phakhi.sample import write_sample

            paths = use_home(root / "home")
            write_sample(paths.landing)
            plant_partner_text(paths.landing)
            done.write_text(monthly_refresh(home=str(paths.home)), encoding="utf-8")
    return Refreshed(use_home(root / "home"), Path(done.read_text(encoding="utf-8")))


def copy_of_refreshed_sample(refreshed: Refreshed, dest: Path) -> Refreshed:
    """A private copy of a refreshed home at dest/home (symlinks such as publications/latest kept as links), made
    the current PHAKHI_HOME."""
    from phakhi.settings import use_home

    home = Path(dest) / "home"
    shutil.copytree(refreshed.paths.home, home, symlinks=True)
    paths = use_home(home)
    return Refreshed(paths, paths.publications / refreshed.publication.name)


@pytest.fixture(scope="session")
def copy_sample(refreshed_sample):
    """copy_sample(dest) -> Refreshed: a private copy of the session's refreshed SAMPLE home under dest, for a
    module (module-scoped fixture, tmp_path_factory.mktemp) or a test (tmp_path) that writes into it."""
    return lambda dest: copy_of_refreshed_sample(refreshed_sample, dest)


# Browser tests: Debian's Chromium driven by Playwright (never `playwright install`)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (skipped where Debian's chromium is missing; scripts/dev test installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (scripts/dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh Chromium page whose console errors, script errors and failed requests collect in `page.errors`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # a request the test's own next navigation cancels (net::ERR_ABORTED) is not the site's failure
    pg.on("requestfailed", lambda r: None if (r.failure or "").startswith("net::ERR_ABORTED")
          else pg.errors.append(f"failed {r.url} ({r.failure})"))
    yield pg
    context.close()


@pytest.fixture(scope="session")
def partner_text() -> dict:
    """The hostile partner-supplied text planted in the session's SAMPLE home, by what it is."""
    return {"formula_name_prefix": FORMULA_NAME_PREFIX, "xss_name": XSS_NAME, "quoted_name": QUOTED_NAME,
            "xss_title": XSS_TITLE, "xss_title_partner": XSS_TITLE_PARTNER}


# ------------------------------------------------------------------ running on several workers (pytest-xdist)
@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """On pytest-xdist workers (scripts/dev test: `-n 2 --dist loadfile --no-loadscope-reorder`, each module whole
    on one worker, in this order): the slowest work goes out first. One module using the shared refreshed SAMPLE
    home first (its worker makes the home), then the integration modules with a month of their own (the other
    worker starts on them meanwhile), then the other modules using the shared home, then the unit tests. Without
    xdist nothing changes. A wrapper, so the order is set after pytest-django's own ordering."""
    result = yield
    if not hasattr(config, "workerinput"):
        return result

    def kind(item) -> int:
        if {"refreshed_sample", "copy_sample"} & set(getattr(item, "fixturenames", ())):
            return 0
        return 1 if item.get_closest_marker("integration") else 3

    module = lambda item: item.nodeid.split("::")[0]  # noqa: E731
    rank: dict[str, int] = {}
    for item in items:
        rank[module(item)] = min(rank.get(module(item), 9), kind(item))
    first_shared = next((m for m in rank if rank[m] == 0), None)
    for m in rank:
        if rank[m] == 0 and m != first_shared:
            rank[m] = 2
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank[module(item)], order[id(item)]))
    return result
