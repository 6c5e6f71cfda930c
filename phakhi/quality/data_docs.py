"""Make great-expectations' Data Docs render offline: copy vendored CSS/JS into the site, rewrite CDN links."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from phakhi.settings import EXPECTATIONS_DIR

VENDOR_DIR = EXPECTATIONS_DIR / "data_docs_vendor"
# CDN address (prefix match) -> file under static/vendor/
CDN_TO_VENDOR = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-prefers-dark.min.css",
}
# GX's logo is fetched from S3 with a tracking query string; the site ships the same image locally.
LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"']*?/logo-long\.png[^\"']*")
LOADS = re.compile(r"""<(?:script|link|img|iframe|source)\b[^>]*?(?:src|href)\s*=\s*["'](https?:)?//[^"']+""", re.I)


def make_offline(site: Path) -> list[str]:
    """Rewrite every page of the Data Docs site in place; returns any remote load left (should be none)."""
    vendor = site / "static" / "vendor"
    if vendor.exists():
        shutil.rmtree(vendor)
    shutil.copytree(VENDOR_DIR, vendor, ignore=shutil.ignore_patterns("README.md"))
    leftovers = []
    for page in site.rglob("*.html"):
        rel = Path(os.path.relpath(site / "static", page.parent)).as_posix()
        html = page.read_text(encoding="utf-8")
        # longest first: "vega@5" must not eat "vega-lite@5"'s prefix
        for url in sorted(CDN_TO_VENDOR, key=len, reverse=True):
            html = html.replace(f'"{url}"', f'"{rel}/vendor/{CDN_TO_VENDOR[url]}"')
        html = LOGO.sub(f"{rel}/images/logo-long.png", html)
        page.write_text(html, encoding="utf-8")
        leftovers += [f"{page.relative_to(site)}: {m.group(0)[:120]}" for m in LOADS.finditer(html)]
    return leftovers


def remote_loads(html: str) -> list[str]:
    """Tags in a page that would load something from another host (links <a href> are not loads)."""
    return [m.group(0) for m in LOADS.finditer(html)]
