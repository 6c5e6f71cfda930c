"""A partner file's bytes (readers.read_bounded_stat): read by descriptor, never through a link, at most
MAX_FILE_BYTES, the whole file even when the system hands it over in short reads or it grows after the stat."""
from __future__ import annotations

import os

import pytest

from phakhi.ingest import readers
from phakhi.ingest.readers import UnreadableFile, read_bounded_stat


def test_the_bytes_and_the_stat_of_the_file_read(tmp_path):
    p = tmp_path / "r.xlsx"
    p.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    data, st = read_bounded_stat(p)
    assert data == p.read_bytes() and st.st_size == len(data) and st.st_ino == p.stat().st_ino
    (tmp_path / "empty.csv").write_bytes(b"")
    assert read_bounded_stat(tmp_path / "empty.csv")[0] == b""


def test_short_reads_are_read_on_to_the_end(tmp_path, monkeypatch):
    p = tmp_path / "r.csv"
    p.write_bytes(b"a,b\n" * 1000)
    real = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real(fd, min(n, 7)))
    assert read_bounded_stat(p)[0] == p.read_bytes()


def test_a_file_grown_since_its_stat_is_read_up_to_the_bound(tmp_path, monkeypatch):
    p = tmp_path / "r.csv"
    p.write_bytes(b"x" * 5000)
    real = os.fstat

    def stale(fd):                        # the stat taken while the file was still 1,000 bytes long
        st = real(fd)
        return os.stat_result((*st[:6], 1000, *st[7:]))
    monkeypatch.setattr(os, "fstat", stale)
    assert read_bounded_stat(p)[0] == b"x" * 5000
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 3000)
    with pytest.raises(UnreadableFile) as exc:
        read_bounded_stat(p)
    assert exc.value.rule == "too_large"


def test_links_and_large_files_are_refused_and_no_descriptor_is_left_open(tmp_path, monkeypatch):
    target = tmp_path / "secret"
    target.write_bytes(b"s" * 100)
    (tmp_path / "link.csv").symlink_to(target)
    with pytest.raises(UnreadableFile) as exc:
        read_bounded_stat(tmp_path / "link.csv")
    assert exc.value.rule == "symlink"
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 50)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with pytest.raises(UnreadableFile) as exc:
            read_bounded_stat(target)
        assert exc.value.rule == "too_large"
    assert len(os.listdir("/proc/self/fd")) == before
