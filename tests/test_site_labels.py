"""The label functions the templates call (m.t, m.tc, m.tt, m.year: phakhi/publish/site.py label_*) write the
markup the Jinja macros they replaced wrote (m.chart: label_chart too), for every kind of value a page passes (the macros are kept here
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
{% macro light(color, label=none) %}<span class="light light-{{ color }}" role="img" aria-label="{{ color }}"></span>{% if label %} {{ t(label) }}{% endif %}{% endmacro %}
{% macro n(v, digits=1) %}<td class="n" data-v="{{ v if v is not none else '' }}">{{ v|fmt(digits) }}</td>{% endmacro %}
{% macro p(v, digits=0) %}<td class="n" data-v="{{ v if v is not none else '' }}">{{ v|pct(digits) }}</td>{% endmacro %}
{% macro th(pair, sort="text", cls="", col="") %}<th scope="col"{% if sort %} data-sort="{{ sort }}"{% endif %}{% if col %} data-col="{{ col }}"{% endif %}{% if cls %} class="{{ cls }}"{% endif %}>{% if sort %}<button type="button">{{ t(pair) }}</button>{% else %}{{ t(pair) }}{% endif %}</th>{% endmacro %}
{% macro chart(c, label=none, lazy=false) %}
{% if c %}
<figure class="chart-box">
  <div class="chart" id="{{ c.id }}" data-chart{% if lazy %} data-lazy{% endif %} role="img" aria-label="{{ label[1] if label else c.id }}"></div>
  <script type="application/json" id="{{ c.id }}-spec">{{ c.spec|script_json }}</script>
</figure>
{% endif %}
{% endmacro %}
{% macro partner_link(root, r) %}<a href="{{ root }}partners/{{ r.partner_id|slug }}.html">{{ tt(r.name_th or r.partner_id, r.name_en or r.partner_id) }}</a>{% endmacro %}
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
    for v in VALUES:
        for digits in (0, 1, 2):
            for name in ("n", "p"):
                assert _out(getattr(new, name), v, digits) == _out(getattr(old, name), v, digits), (name, v)
        for label in (None, "", ("ไทย", "Thai"), "x<"):
            assert _out(new.light, v, label) == _out(old.light, v, label), (v, label)
        for sort, cls, col in (("text", "", ""), ("num", "n", "x"), ("", "c", ""), (None, None, "k<")):
            assert _out(new.th, v, sort, cls, col) == _out(old.th, v, sort, cls, col), (v, sort)
    assert _out(new.n, 1234.5) == _out(old.n, 1234.5) and _out(new.p, None) == _out(old.p, None)
    for r in ({"partner_id": "P1", "name_th": "ก", "name_en": "A"}, {"partner_id": "P/2<"}, {"partner_id": "P3", "name_th": None},
              {}, {"name_en": "x"}):
        for root in ("", "../"):
            assert _out(new.partner_link, root, r) == _out(old.partner_link, root, r), (root, r)
    assert str(new.t(("<ก>", "&"))) == '<span lang="th">&lt;ก&gt;</span><span lang="en">&amp;</span>'


def test_label_chart_writes_what_the_chart_macro_wrote():
    env = site.make_env()
    env.loader = DictLoader({"old.html.j2": MACROS, "new.html.j2": (DASHBOARDS_DIR / "_macros.html.j2").read_text(encoding="utf-8")})
    old, new = env.get_template("old.html.j2").module, env.get_template("new.html.j2").module
    charts = [None, {}, {"id": "chart-a", "spec": {"data": [{"x": [1, 2.5], "name": {"th": "ไทย", "en": "A"}}], "layout": {}}},
              {"id": "x<\"", "spec": {"t": "</script><!--&", "v": math.nan, "n": np.float64(1.5)}}, {"spec": {}}]
    for c in charts:
        for label in (None, ("", "Peer <groups>"), ("ไทย", "")):
            for lazy in (False, True):
                assert _out(new.chart, c, label, lazy) == _out(old.chart, c, label, lazy), (c, label, lazy)
    assert 'id="chart-a"' in str(new.chart(charts[2])) and str(new.chart(None)) == ""
