"""The per-file cache's key follows the code that reads and judges a file, wherever it lives, and only that
code: a change to reporting, settling or the ledger keeps every cached outcome; a change to thai.py's parsers
does not."""
from pathlib import Path

from phakhi.ingest import cache
from phakhi.settings import REPO_ROOT


def _names(paths):
    return {str(Path(p).relative_to(REPO_ROOT)) for p in paths}


def test_outcome_code_is_what_judges_a_file_and_no_more():
    names = _names(cache.outcome_code_files())
    assert {"phakhi/ingest/files.py", "phakhi/ingest/contracts.py", "phakhi/ingest/readers.py",
            "phakhi/ingest/file_cache.py", "phakhi/thai.py"} <= names        # thai.py: outside ingest, imported
    assert not names & {"phakhi/ingest/report.py", "phakhi/ingest/settled.py", "phakhi/ingest/ledger.py",
                        "phakhi/ingest/landing.py", "phakhi/ingest/landed.py"}


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_imports_are_followed_inside_functions_and_through_from_imports(tmp_path):
    _tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/ingest/__init__.py": "",
        "pkg/ingest/files.py": "import os\nfrom pkg.ingest import contracts\n",
        "pkg/ingest/contracts.py": "def parse(v):\n    from pkg import thai\n    return thai.parse(v)\n",
        "pkg/thai.py": "import pkg.units as u\n",
        "pkg/units.py": "",
        "pkg/ingest/report.py": "from pkg.ingest import files\n",       # imports files; files does not import it
    })
    got = cache.imported_files([tmp_path / "pkg/ingest/files.py"], root=tmp_path, package="pkg")
    assert {str(p.relative_to(tmp_path)) for p in got} == {
        "pkg/__init__.py", "pkg/ingest/__init__.py", "pkg/ingest/files.py", "pkg/ingest/contracts.py",
        "pkg/thai.py", "pkg/units.py"}


def test_a_parser_change_outside_ingest_changes_the_key_and_a_report_change_does_not(tmp_path):
    _tree(tmp_path, {
        "pkg/__init__.py": "", "pkg/ingest/__init__.py": "",
        "pkg/ingest/files.py": "def f():\n    from pkg import thai\n",
        "pkg/thai.py": "DIGITS = '๐๑๒'\n",
        "pkg/ingest/report.py": "TITLE = 'a'\n",
    })

    def key():
        files = cache.imported_files([tmp_path / "pkg/ingest/files.py"], root=tmp_path, package="pkg")
        return cache.fingerprint([], files, root=tmp_path)

    before = key()
    (tmp_path / "pkg/ingest/report.py").write_text("TITLE = 'b'\n")
    assert key() == before
    (tmp_path / "pkg/thai.py").write_text("DIGITS = '๐๑๒๓'\n")
    assert key() != before


def test_a_settled_state_is_keyed_by_the_code_that_settles_and_not_by_the_report():
    state = _names(cache.imported_files(cache.STATE_ENTRIES))
    assert {"phakhi/ingest/settled.py", "phakhi/ingest/files.py", "phakhi/ingest/landed.py",
            "phakhi/ingest/ledger.py", "phakhi/thai.py"} <= state
    assert not state & {"phakhi/ingest/report.py", "phakhi/ingest/landing.py", "phakhi/ingest/cli.py"}


def test_a_settled_state_and_an_outcome_are_kept_under_their_own_code(tmp_path):
    from phakhi.ingest.file_cache import FileOutcomeCache

    c = FileOutcomeCache(tmp_path / "c")
    assert c.code == cache.outcome_code_fingerprint() and c.state_code == cache.ingest_code_fingerprint()
    assert c.code != c.state_code
    given = FileOutcomeCache(tmp_path / "d", code_fingerprint="v1")
    assert given.code == given.state_code == "v1"
