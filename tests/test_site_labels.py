"""The label functions the templates call (m.t, m.tc, m.tt, m.year: phakhi/publish/site.py label_*) write the
markup the Jinja macros they replaced wrote, for every kind of value a page passes (the macros are kept here
as the reference)."""
from __future__ import annotations

import math

import numpy as np
from jinja2 import DictLoader
from markupsafe import Markup

from phakhi.publish import site
from phakhi.settings import DASHBOARDS_DIR

MACROS = """
{% macro t(pair) %}{% if pair is string %}{{ pair }}{% else %}<span lang="th">{{ pair[0] }}</span><span lang="en">{{ pair[1] }}</span>{% endif %}{% endmacro %}
{% macro tc(pair) %}{% if pair is string %}{{ pair }}{% elif pair[0] == pair[1] %}{{ pair[0] }}{% else %}<span lang="th">{{ pair[0] }}</span><span lang="en">{{ pair[1] }}</span>{% endif %}{% endmacro %}
{% macro year(y) %}{% if y %}<span lang="th">{{ y|be_year }}</span><span lang="en">{{ y }}</span>{% else %}–{% endif %}{% endmacro %}
{% macro tt(th, en) %}<span lang="th">{{ th }}</span><span lang="en">{{ en }}</span>{% endmacro %}
"""

VALUES = ["a", "<b>&'\"", ("ไทย", "Thai"), ("x", "x"), ["a", "b"], None, (None, None), ("<", ">"), (1, 2.5),
          (np.float64(1.5), np.int64(3)), (Markup("<i>"), "<i>"), ("only",), (), 5, 0, 2025, "2025", 2025.0,
          np.int64(2030), {"a": 1}, ("", ""), (math.nan, None)]


def _out(fn, *args) -> str:
    try:
        return str(fn(*args))
    except Exception as exc:  # noqa: BLE001 - both must fail alike
        return f"error {type(exc).__name__}"


def test_label_functions_write_what_the_macros_wrote():
    env = site.make_env()
    env.loader = DictLoader({"old.html.j2": MACROS, "new.html.j2": (DASHBOARDS_DIR / "_macros.html.j2").read_text(encoding="utf-8")})
    old, new = env.get_template("old.html.j2").module, env.get_template("new.html.j2").module
    for v in VALUES:
        for name in ("t", "tc", "year"):
            assert _out(getattr(new, name), v) == _out(getattr(old, name), v), (name, v)
        for w in VALUES[:8]:
            assert _out(new.tt, v, w) == _out(old.tt, v, w), (v, w)
    assert str(new.t(("<ก>", "&"))) == '<span lang="th">&lt;ก&gt;</span><span lang="en">&amp;</span>'
