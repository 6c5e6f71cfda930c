"""Unchanged files are shared between publications by hard links; each publication stays complete."""
import os

import time

from phakhi.publish.files import disk_usage, prune_store, share_unchanged_files, write_text


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
    assert first == {"files": 3, "shared": 0, "stored": 3, "bytes_shared": 0, "hashed": 3}
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


def test_files_written_by_the_publish_code_are_not_read_back_to_be_shared(tmp_path):
    pubs = tmp_path / "publications"
    a, b = pubs / "2025-11-r1", pubs / "2025-12-r2"
    for folder in (a, b):
        write_text(folder / "partners" / "P001.html", "หน้าภาคี ไม่เปลี่ยน")
        write_text(folder / "index.html", f"หน้าแรก {folder.name}")
    assert share_unchanged_files(pubs, a)["hashed"] == 0          # digests taken while writing
    os.rename(b, pubs / "moved")                                   # the building folder's rename keeps inodes
    b = pubs / "moved"
    stats = share_unchanged_files(pubs, b)
    assert stats["hashed"] == 0 and stats["shared"] == 1
    assert os.path.samefile(a / "partners" / "P001.html", b / "partners" / "P001.html")
    # a file changed after it was written is hashed again, never trusted from the old digest
    c = pubs / "2026-01-r3"
    write_text(c / "index.html", f"หน้าแรก {a.name}")
    time.sleep(0.01)
    (c / "index.html").write_text("something else", encoding="utf-8")
    stats = share_unchanged_files(pubs, c)
    assert stats["hashed"] == 1 and stats["shared"] == 0
    assert (c / "index.html").read_text(encoding="utf-8") == "something else"


def test_a_file_written_while_sharing_into_the_store_links_known_bytes_and_stores_new_ones(tmp_path):
    from phakhi.publish.files import OBJECTS_DIR, sharing_into, store_of

    pubs = tmp_path / "pubs"
    old, new = pubs / "2025-11-r1", pubs / ".building-2025-12-r2"
    assert store_of(new) == pubs / OBJECTS_DIR and store_of(old) is None
    write_text(old / "p" / "same.html", "same")
    share_unchanged_files(pubs, old)
    before = (old / "p" / "same.html").stat()
    with sharing_into(store_of(new)):
        write_text(new / "p" / "same.html", "same")           # known bytes: another name of the stored file
        write_text(new / "p" / "new.html", "new")             # new bytes: stored at once
        write_text(new / "p" / "same.html", "changed")        # rewritten: a new file, the shared one untouched
        write_text(new / "p" / "again.html", "same")
    assert (old / "p" / "same.html").read_text() == "same" and (old / "p" / "same.html").stat().st_ino == before.st_ino
    assert (new / "p" / "again.html").stat().st_ino == before.st_ino
    assert (new / "p" / "same.html").read_text() == "changed" and (new / "p" / "new.html").stat().st_nlink == 2
    stats = share_unchanged_files(pubs, new)
    assert stats == {"files": 3, "shared": 0, "stored": 0, "bytes_shared": 0, "hashed": 0}     # all done already
