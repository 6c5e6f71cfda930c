"""Publications that work on any static host: latest.json and latest.html beside the `latest` symlink, a
publications index that says the outcome of the last refresh attempt, browsable with symlinks disabled."""
import json
import os
import re
import threading
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from phakhi.publish.files import building_dir, finalise, switch_latest
from phakhi.publish.pointers import latest_id, record_attempt


class NoSymlinkHandler(SimpleHTTPRequestHandler):
    """A plain static server that refuses to follow symlinks (like many object stores and static hosts)."""

    def translate_path(self, path):
        full = Path(super().translate_path(path))
        root = Path(self.directory)
        step = root
        for part in full.relative_to(root).parts:      # any symlink on the way: 404
            step = step / part
            if step.is_symlink():
                return str(root / "__symlink_refused__")
        return str(full)

    def log_message(self, *args):
        pass


@pytest.fixture
def static_server():
    servers = []

    def start(directory: Path) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(NoSymlinkHandler, directory=str(directory)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _publish(pubs: Path, pub_id: str, period: str) -> Path:
    out = building_dir(pubs, pub_id)
    (out / "index.html").write_text(f"<html><body>{period}<a href='data.html'>d</a></body></html>", encoding="utf-8")
    (out / "data.html").write_text("data", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"period": period, "created_at": "2026-01-01T00:00:00+00:00"}))
    return finalise(pubs, out, pub_id)


def test_every_switch_writes_pointers_that_need_no_symlink(tmp_path):
    pubs = tmp_path / "publications"
    _publish(pubs, "2025-11-r1", "2025-11")
    _publish(pubs, "2025-12-r2", "2025-12")
    doc = json.loads((pubs / "latest.json").read_text())
    assert doc["latest"] == "2025-12-r2" and doc["path"] == "2025-12-r2/index.html" and doc["period"] == "2025-12"
    assert 'url=2025-12-r2/index.html' in (pubs / "latest.html").read_text()
    switch_latest(pubs, "2025-11-r1")                       # rollback moves every pointer
    assert latest_id(pubs) == "2025-11-r1" and os.readlink(pubs / "latest") == "2025-11-r1"
    assert "url=2025-11-r1/index.html" in (pubs / "latest.html").read_text()
    index = (pubs / "index.html").read_text()
    assert "2025-11-r1/index.html" in index and "2025-12-r2/index.html" in index


def test_index_says_a_refresh_was_blocked_and_which_checks_failed(tmp_path):
    pubs = tmp_path / "publications"
    _publish(pubs, "2025-11-r1", "2025-11")
    record_attempt(pubs, "blocked", "2025-12", "r2", ["dbt fail: test.not_null_fct_ghg_reductions_reduction_tco2e"])
    index = (pubs / "index.html").read_text()
    assert 'data-outcome="blocked"' in index and "BLOCKED" in index and "ถูกระงับ" in index
    assert "not_null_fct_ghg_reductions_reduction_tco2e" in index
    assert "2025-11-r1" in index                            # the publication still live is named
    record_attempt(pubs, "published", "2025-12", "r3", publication_id="2025-12-r3")
    assert 'data-outcome="published"' in (pubs / "index.html").read_text()


def test_publication_is_browsable_from_a_static_server_with_symlinks_disabled(tmp_path, static_server):
    pubs = tmp_path / "publications"
    _publish(pubs, "2025-12-r2", "2025-12")
    base = static_server(pubs)
    assert get(base + "latest/index.html")[0] == 404          # the symlink is really refused
    status, index = get(base)                                 # publications/index.html
    assert status == 200 and 'href="2025-12-r2/index.html"' in index
    status, redirect = get(base + "latest.html")
    target = re.search(r'url=([^"]+)"', redirect).group(1)
    status, page = get(base + target)
    assert status == 200 and "2025-12" in page
    pointer = json.loads(get(base + "latest.json")[1])
    assert get(base + pointer["path"])[0] == 200
