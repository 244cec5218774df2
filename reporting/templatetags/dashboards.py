"""The filters of reporting's pages: a measure's value in its unit's words and a card's
status in words (`reporting.formatting`, shared with the e-mails)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from esm.html import html_join
from reporting.formatting import STATUS_WORDS, measure_value_text, target_text

register = template.Library()


@register.filter
def measure_value(value: float | None, unit: str) -> str:
    """`{{ card.value|measure_value:card.measure.unit }}`: '87%', '4.2 of 5', '€42.50',
    '12.5 hours'; empty when there is no value, so `|default:` can follow."""
    return measure_value_text(value, unit)


@register.filter
def measure_target(measure: Any) -> str:
    """`{{ measure|measure_target }}`: "at least 90%", "at most 5%"; empty without one."""
    return target_text(measure.target, measure.unit, measure.direction)


@register.filter
def trend_items(series: list[Any]) -> SafeString:
    """`{{ card.series|trend_items }}`: a card's weekly points as the list items the
    sparkline reads (`data-*`) and a reader without it sees. Built in Python, escaped: as
    template nodes they were most of a dashboard's rendering (some thousand variables for
    twenty cards of ten weeks)."""
    return html_join(
        "\n",
        '<li data-day="{}" data-value="{}" data-text="{}">'
        '<span class="rp-day">{}</span> <span class="rp-point">{}</span></li>',
        (
            (
                point.label,
                "" if point.value is None else repr(point.value),
                point.text or "not shown",
                point.label,
                point.text or "\N{EN DASH}",
            )
            for point in series
        ),
    )


@register.filter
def status_word(status: str) -> str:
    """`{{ card.status|status_word }}`: the status of a card in words."""
    return STATUS_WORDS.get(status, status)
