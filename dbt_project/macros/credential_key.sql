{#- A credential id as written by a partner, normalised for matching: upper case, no spaces
    ('tver-2565 0117' and 'TVER-25650117' are one credential). Used by mart_credentials and
    dash_partner_credentials so that both group credentials the same way. -#}
{% macro credential_key(column) -%}
upper(regexp_replace({{ column }}, '\s+', '', 'g'))
{%- endmacro %}
