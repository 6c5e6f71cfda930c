"""The page environment's cheaper render path (phakhi/publish/site.py: page_escape, PageCodeGenerator,
PageContext, the label cache) writes exactly what Jinja's own path writes."""
from __future__ import annotations

from jinja2 import DictLoader, Environment, pass_context, pass_environment, select_autoescape
from markupsafe import Markup

from phakhi.publish import site

TEMPLATE = """{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}
{% set ns = namespace(n=0) %}
{% for v in values %}{{ v }}|{{ cell(v) }}|{{ plain(v) }}|{% set ns.n = ns.n + 1 %}{% endfor %}
{{ ctx_fn(1) }} {{ env_fn(2) }} {{ stops() }} {{ d.get("a") }} {{ "a,b".rsplit(",", 1)[-1] }} {{ obj }}
{% block b %}{% for v in values %}{{ plain(v) }}{{ both(v, "x") }}{% endfor %}{{ both("<th>", "en & th") }}{% endblock %}
{{ missing }}{{ d.missing }} {{ ns.n }} {% set x %}{{ values[0] }}{% endset %}{{ x }}{{ values|join(",") }}
{% autoescape false %}{{ values[0] }}{% endautoescape %}"""


class Html:
    def __html__(self):
        return "<b>already safe</b>"


def _stops():
    raise StopIteration


@pass_context
def _ctx_fn(ctx, v):
    return f"ctx {v} {ctx.get('d')}<"


@pass_environment
def _env_fn(env, v):
    return f"env {v} {type(env).__name__ == 'x'}>"


def _render(env_class) -> str:
    env = env_class(loader=DictLoader({"t.html.j2": TEMPLATE}), autoescape=select_autoescape(["html", "j2"]))
    env.globals.update(plain=lambda v: v, ctx_fn=_ctx_fn, env_fn=_env_fn, stops=_stops, both=site._both)
    values = ["<a href='x'>&\"", Markup("<i>safe</i>"), 3, 2.5, None, True, ("ไทย", "<en>"), Html(), "ธ.ค. 2568"]
    return env.get_template("t.html.j2").render(values=values, d={"a": "<a>"}, obj=Html())


def test_the_page_environment_writes_what_jinja_writes():
    assert _render(site.PageEnvironment) == _render(Environment)


def test_labels_made_once_are_the_labels_made_each_time():
    for th, en in (("<ก>", "a & b"), ("x", "x"), ("", "'\"")):
        made = site._both(th, en)
        assert made == site._both(th, en) is site._both(th, en)
        assert made == Markup(f'<span lang="th">{site.escape(th)}</span><span lang="en">{site.escape(en)}</span>')
    # not str: not cached, the same markup (a Markup is written as it is, a number as its text)
    assert site._both(Markup("<b>"), 2568) == '<span lang="th"><b></span><span lang="en">2568</span>'


def test_page_escape_is_markupsafe_escape():
    for v in ("<&>'\"", Markup("<b>"), 1, None, Html(), "ไทย"):
        assert site.page_escape(v) == site.escape(v)


FOLD_MACROS = '{% set tt = label_tt %}{% set th = label_th %}{% set t = label_t %}{% macro box(x) %}[{{ x }}]{% endmacro %}'
FOLD_PAGE = """{% import "_macros.html.j2" as m %}{{ m.tt("ก<", "a&") }}|{{ m.th(("เดือน", "Month"), "num", "n") }}|
{{ m.t(pair) }}|{{ m.tt(name, "x") }}|{{ m.box("c") }}|{{ m.t(("ไทย", "Thai")) }}"""
SHADOWED = """{% import "_macros.html.j2" as m %}{% for m in [other] %}{{ m.tt("a", "b") }}{% endfor %}"""


def _fold_env(env_class, pages: dict):
    env = env_class(loader=DictLoader({"_macros.html.j2": FOLD_MACROS, **pages}),
                    autoescape=select_autoescape(["html", "j2"]))
    env.globals.update(label_tt=site.label_tt, label_th=site.label_th, label_t=site.label_t)
    return env


def test_constant_labels_are_folded_into_the_template_and_write_the_same():
    ctx = {"pair": ("ก", "<b>"), "name": "n&", "other": {"tt": lambda a, b: f"other {a} {b}"}}
    pages = {"p.html.j2": FOLD_PAGE, "s.html.j2": SHADOWED}
    folded, plain = _fold_env(site.PageEnvironment, pages), _fold_env(Environment, pages)
    for name in pages:
        assert folded.get_template(name).render(**ctx) == plain.get_template(name).render(**ctx)
    code = folded.compile(FOLD_PAGE, "p.html.j2", raw=True)
    assert "'tt'), 'ก<'" not in code and "<span lang=\"th\">ก&lt;</span>" in code      # folded
    assert "'t'), " in code and "'tt'), " in code            # calls with a variable argument stay calls
    assert "other a b" in folded.get_template("s.html.j2").render(**ctx)     # `m` rebound: never folded


def test_script_json_of_plain_and_not_plain_values():
    import numpy as np
    import pandas as pd

    spec = {"x": ["2025-01", "</script>"], "y": [1.5, None, 2], "t": ("a", True), "n": "ไทย\u2028&"}
    assert site.script_json(spec) == site.Markup(
        '{"x":["2025-01","\\u003c/script\\u003e"],"y":[1.5,null,2],"t":["a",true],"n":"ไทย\\u2028\\u0026"}')
    odd = {"y": [float("nan"), np.float32(1.5), np.int64(3), pd.Timestamp("2025-01-02")], 3: np.bool_(True)}
    assert site.script_json(odd) == '{"y":[null,1.5,3,"2025-01-02"],"3":true}'


# the Jinja macro label_more_rows replaced (dashboards/partner.html.j2 before it), kept here as the reference
MORE_ROWS_MACRO = """{% import "_macros.html.j2" as m %}{% macro more_rows(t, csv) %}
  <p class="small more-rows">{% if t.total > t.rows|length %}{{ m.tt("แสดง " ~ t.rows|length ~ " รายการล่าสุดจาก " ~ t.total ~ " รายการ", "Showing the latest " ~ t.rows|length ~ " of " ~ t.total) }} · {% endif %}
  {% if csv is string %}<a href="{{ csv }}" download>{{ m.tt("ดาวน์โหลดทุกรายการ (CSV)", "Download every row (CSV)") }}</a>
  {% elif csv %}{{ m.tt("ดาวน์โหลดทุกรายการ (CSV รายเดือน)", "Download every row (CSV, by month)") }}:
    {%- set ns = namespace(year="") %}{% for f in csv %}{% set th = f.label[0].rsplit(" ", 1) %}{% set en = f.label[1].rsplit(" ", 1) %}{% set mm = f.href.rsplit("/", 1)[-1][5:7] %}
    {%- if th|length == 2 and en|length == 2 and mm|length == 2 and mm.isdigit() %}{% if en[1] != ns.year %}{% set ns.year = en[1] %}{% if not loop.first %};{% endif %} {{ m.tt("พ.ศ. " ~ th[1] ~ " เดือน", en[1] ~ ", months") }}{% endif %} <a href="{{ f.href }}" download>{{ mm|int }}</a>
    {%- else %} <a href="{{ f.href }}" download>{{ m.t(f.label) }}</a>{% endif %}{% endfor %}{% endif %}</p>
{% endmacro %}{{ more_rows(t, csv) }}"""


def test_more_rows_writes_what_the_macro_wrote():
    from phakhi.publish.pages import period_label

    env = site.make_env()
    env.loader = DictLoader({"_macros.html.j2": (site.DASHBOARDS_DIR / "_macros.html.j2").read_text(encoding="utf-8"),
                             "old.html.j2": MORE_ROWS_MACRO, "new.html.j2": "{{ label_more_rows(t, csv) }}"})
    months = [{"href": f"../data/partners/p&1/{m}-claims.csv", "label": period_label(m)}
              for m in ("2024-11", "2024-12", "2025-01", "2025-02")]
    odd = [{"href": "../x/odd.csv", "label": ("ไม่มีเดือน", "<no month>")}, {"href": "../x/2025-1x-a.csv", "label": ("a b", "c d")}]
    cases = [({"rows": [1, 2], "total": 2}, "../data/x&y.csv"), ({"rows": [1], "total": 7}, months),
             ({"rows": [], "total": 0}, []), ({"rows": [1, 2, 3, 4], "total": 40}, odd + months + odd), ({"rows": [], "total": 3}, None)]
    for t, csv in cases:
        assert env.get_template("new.html.j2").render(t=t, csv=csv) == env.get_template("old.html.j2").render(t=t, csv=csv)
