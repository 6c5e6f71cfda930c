"""GX's Data Docs page views with their Jinja templates compiled once per installation, not on every gate.

GX gives every view of a Data Docs site its own Jinja environment (its filters are bound to the view), so a
build compiled GX's ~17 templates once per view, ~50 compiles: ~60 % of the gate's Data Docs time on a
near-empty home (issue 17: fixed cost). These views are GX's own (same templates, filters and pages) with a
Jinja bytecode cache: a template is compiled when its source (or Python) changes, and loaded after that.
phakhi.quality.gate names them in the site's configuration (data_docs_site)."""
from __future__ import annotations

from pathlib import Path

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import FileSystemBytecodeCache

_CACHES: dict[str, FileSystemBytecodeCache] = {}


def _cache(directory: str) -> FileSystemBytecodeCache:
    if directory not in _CACHES:
        Path(directory).mkdir(parents=True, exist_ok=True)
        _CACHES[directory] = FileSystemBytecodeCache(directory)
    return _CACHES[directory]


class _CachedTemplates:
    """A GX page view whose Jinja environment loads compiled templates from `template_cache`."""

    def __init__(self, template_cache: str, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _cache(template_cache)


class CachedPageView(_CachedTemplates, DefaultJinjaPageView):
    pass


class CachedIndexPageView(_CachedTemplates, DefaultJinjaIndexPageView):
    pass


def data_docs_site(site: dict, template_cache: Path) -> dict:
    """GX's site configuration `site` with the views above for its sections and index (GX's defaults
    otherwise: the same section builders, renderers and store)."""
    def view(name: str) -> dict:
        return {"view": {"module_name": __name__, "class_name": name, "template_cache": str(template_cache)}}

    return {**site, "site_section_builders": {s: view("CachedPageView") for s in ("expectations", "validations",
                                                                                   "profiling")},
            "site_index_builder": {**site.get("site_index_builder", {}), **view("CachedIndexPageView")}}
