"""The landing archive's packs: content-addressed, once per content, whole or absent after a crash, and the
old one-file-per-content layout still readable."""
from __future__ import annotations

import hashlib
import os
import time
from types import SimpleNamespace

from phakhi.ingest import archive, ledger


def _o(path, data: bytes, rule=None):
    return SimpleNamespace(file_hash=hashlib.sha256(data).hexdigest(), path=str(path), rule=rule)


def test_a_pack_holds_each_content_once_and_reads_back_by_hash(tmp_path):
    arch = tmp_path / "landing_archive"
    pack = archive.PackWriter(str(arch))
    a, b = b"first workbook", b"second workbook"
    ha, hb = (hashlib.sha256(x).hexdigest() for x in (a, b))
    pack.add(ha, a, ".xlsx")
    pack.add(ha, a, ".xlsx")                     # the same content twice: stored once
    pack.add(hb, b, ".csv")
    refs = pack.close()
    (path,) = list((arch / "packs").iterdir())
    assert path.stat().st_size < 2 * (len(a) + len(b)) + 200
    assert archive.pack_entries(str(path)) == refs and set(refs) == {ha, hb}
    assert ledger.read_archived(tmp_path, ha, refs[ha]) == a
    assert ledger.read_archived(tmp_path, hb) == b             # no ledger: found in the packs
    assert ledger.read_archived(tmp_path, hashlib.sha256(b"other").hexdigest()) is None
    assert ledger.read_archived(tmp_path, hb, refs[ha]) is None  # the bytes at a place must match the hash


def test_a_torn_or_unfinished_pack_is_never_read(tmp_path):
    arch = tmp_path / "landing_archive"
    pack = archive.PackWriter(str(arch))
    pack.add(hashlib.sha256(b"x").hexdigest(), b"x")
    pack.close()
    (whole,) = list((arch / "packs").iterdir())
    torn = whole.with_name("torn.pack")
    torn.write_bytes(whole.read_bytes()[:-3])                  # a tail cut short
    (arch / "packs" / "killed.pack.123.456.tmp").write_bytes(whole.read_bytes())   # a writer killed mid-write
    assert archive.pack_entries(str(torn)) == {}
    assert archive.list_packs(str(arch)) == sorted([whole.name, "torn.pack"])
    # a killed writer's leftover is removed once old (a live writer's recent one is left alone)
    archive.settle_packs(str(arch), [whole.name])
    assert (arch / "packs" / "killed.pack.123.456.tmp").exists()
    old = time.time() - 7200
    os.utime(arch / "packs" / "killed.pack.123.456.tmp", (old, old))
    archive.settle_packs(str(arch), [whole.name])
    assert not (arch / "packs" / "killed.pack.123.456.tmp").exists() and whole.exists()


def test_the_ledger_catalogues_packs_and_reads_old_layout_paths(tmp_path):
    """A pack written by a run that never recorded (a crash) is catalogued by the next record; an old-layout
    file is found where it is; a content archived nowhere is packed by the ledger from the landing area."""
    home = tmp_path
    arch = home / "landing_archive"
    landed = tmp_path / "in"
    landed.mkdir()
    blobs = {name: f"bytes of {name}".encode() for name in ("packed", "old", "loose")}
    for name, data in blobs.items():
        (landed / f"{name}.xlsx").write_bytes(data)
    os_ = {name: _o(landed / f"{name}.xlsx", data) for name, data in blobs.items()}
    pack = archive.PackWriter(str(arch))
    pack.add(os_["packed"].file_hash, blobs["packed"], ".xlsx")
    pack.close()
    h_old = os_["old"].file_hash
    (arch / h_old[:2]).mkdir(parents=True)
    (arch / h_old[:2] / f"{h_old}.xlsx").write_bytes(blobs["old"])
    con = ledger._connect(ledger.ledger_path(home))
    try:
        con.execute(ledger._DDL)
        ledger._catalog_packs(con, arch, ledger.utcnow())
        ledger._catalog_packs(con, arch, ledger.utcnow())        # once per pack
        places = ledger._place(con, arch, home, ledger.utcnow(), list(os_.values()))
        assert con.execute("select count(*) from landing_archive_packs").fetchone()[0] == 1
    finally:
        con.close()
    assert places[h_old] == f"landing_archive/{h_old[:2]}/{h_old}.xlsx"
    assert "#" in places[os_["packed"].file_hash] and "#" in places[os_["loose"].file_hash]
    for name, o in os_.items():
        assert ledger.read_archived(home, o.file_hash, places[o.file_hash]) == blobs[name]
    assert ledger.archive_refs(home, [os_["packed"].file_hash]) == {os_["packed"].file_hash: places[os_["packed"].file_hash]}
    assert len(archive.list_packs(str(arch))) == 2


def test_a_file_refused_unread_is_never_archived(tmp_path):
    target = tmp_path / "secret"
    target.write_bytes(b"root:x")
    link = tmp_path / "link.xlsx"
    os.symlink(target, link)
    assert not archive.archivable(_o(link, b"root:x"), str(link))
    assert not archive.archivable(_o(target, b"root:x", rule="too_large"), str(target))
