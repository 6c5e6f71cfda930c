"""Dates and months as Phakhi shows them: Buddhist Era in Thai, Common Era in English (same labels as the
published dashboard: phakhi.publish.site.period_label)."""
from django import template
from django.utils import timezone
from django.utils.translation import get_language

from phakhi.publish.site import be_year, period_label
from phakhi.thai import month_name_th

register = template.Library()


def _thai() -> bool:
    return (get_language() or "th").startswith("th")


@register.filter
def month(period):
    """'2025-12' -> 'ธ.ค. 2568' (Thai) / 'Dec 2025' (English)."""
    th, en = period_label(period)
    return th if _thai() else en


@register.filter
def when(value):
    """A timestamp in Bangkok time: '30 พ.ย. 2569 12:50' (Thai, B.E.) / '2026-11-30 12:50' (English)."""
    if not value:
        return ""
    local = timezone.localtime(value)
    if _thai():
        return f"{local.day} {month_name_th(local.month, abbr=True)} {be_year(local.year)} {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"
