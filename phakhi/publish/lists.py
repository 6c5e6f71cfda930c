"""Search indexes of the long list pages (partners, practices, network): one page of rows is rendered in HTML,
the whole list travels as a compact index that assets/site.js searches, filters, sorts and pages
(written to lists/<name>.js by phakhi.publish.site.write_list_index)."""
from __future__ import annotations

from phakhi.publish.site import plain


def _shown(v, digits: int | None, percent: bool):
    """A number as the page shows it, so that the row site.js draws from the index reads exactly like the row
    rendered in HTML (fmt/pct in phakhi.publish.site): rounded once, the way Python formats it, to the digits
    shown (a ratio shown as a whole percentage keeps k/100). Other values as JSON can carry them."""
    v = plain(v)
    if not isinstance(v, float):
        return v
    if percent:
        return float(f"{v * 100:.0f}") / 100
    return float(f"{v:.{digits}f}") if digits is not None else v


def list_index(rows: list[dict], cols: list[str], labels: dict | None = None, digits: dict[str, int] | None = None,
               percent: set[str] | frozenset = frozenset()) -> dict:
    """A list's search index: column names once, then one array per row (compact), plus code labels.
    `digits`/`percent`: numbers kept only to the precision the list shows. A `slug` equal to the partner id
    is left out (null): site.js falls back to the id."""
    digits = digits or {}
    out = []
    for r in rows:
        out.append([None if c == "slug" and r.get("slug") == r.get("partner_id")
                    else _shown(r.get(c), digits.get(c), c in percent) for c in cols])
    return {"cols": cols, "rows": out, "labels": labels or {}}
