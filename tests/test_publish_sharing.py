"""Unchanged files are shared between publications by hard links; each publication stays complete."""
import os

from phakhi.publish.files import disk_usage, prune_store, share_unchanged_files


def _pub(root, name, files):
    folder = root / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def test_unchanged_files_are_hard_links_and_publications_stay_complete(tmp_path):
    pubs = tmp_path / "publications"
    a = _pub(pubs, "2025-11-r1", {"index.html": "หน้าแรก v1", "data/x.csv": "a,b\n1,2\n", "p/P001.html": "same"})
    first = share_unchanged_files(pubs, a)
    assert first == {"files": 3, "shared": 0, "stored": 3, "bytes_shared": 0}
    b = _pub(pubs, "2025-12-r2", {"index.html": "หน้าแรก v2", "data/x.csv": "a,b\n1,2\n", "p/P001.html": "same"})
    second = share_unchanged_files(pubs, b)
    assert second["shared"] == 2 and second["stored"] == 1
    assert os.path.samefile(a / "data/x.csv", b / "data/x.csv")
    assert not os.path.samefile(a / "index.html", b / "index.html")
    assert (b / "index.html").read_text(encoding="utf-8") == "หน้าแรก v2"
    assert share_unchanged_files(pubs, b)["shared"] == 0          # idempotent
    # the second publication costs only its changed file on disk
    before = disk_usage(pubs)
    c = _pub(pubs, "2026-01-r3", {"index.html": "หน้าแรก v2", "data/x.csv": "a,b\n1,2\n", "p/P001.html": "same"})
    share_unchanged_files(pubs, c)
    assert disk_usage(pubs) == before
    # removing a publication leaves the others whole; the store keeps what is still used
    for p in sorted(a.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    a.rmdir()
    assert (b / "data/x.csv").read_text() == "a,b\n1,2\n" and (c / "p/P001.html").read_text() == "same"
    assert prune_store(pubs) == 1                                  # "หน้าแรก v1" only
    assert {p.name for p in pubs.iterdir()} == {".objects", "2025-12-r2", "2026-01-r3"}
