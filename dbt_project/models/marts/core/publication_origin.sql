-- What this warehouse was built from: SAMPLE data (generated, not real) or real partner data. One row. The
-- presentation layer shows the SAMPLE banner only when is_sample (var data_kind, set from the home's kind by
-- phakhi/home.py via phakhi/transform.py).
{%- set kind = var('data_kind') | string -%}
{%- if kind not in ['sample', 'real'] -%}
    {{ exceptions.raise_compiler_error("var 'data_kind' must be 'sample' or 'real', got '" ~ kind ~ "'") }}
{%- endif %}
with params as (
    {{ phakhi_period() }}
)

select
    '{{ kind }}' as data_kind,
    {{ 'true' if kind == 'sample' else 'false' }} as is_sample,
    {% if kind == 'sample' -%}
    'ข้อมูลตัวอย่าง (SAMPLE): ไม่ใช่ข้อมูลจริงของภาคีหรือผลสำรวจจริง' as label_th,
    'SAMPLE DATA: not real partner or survey data' as label_en,
    {%- else -%}
    'ข้อมูลจริงที่ภาคีรายงานต่อ สส.' as label_th,
    'Real data reported by partners to DCCE' as label_en,
    {%- endif %}
    period
from params
