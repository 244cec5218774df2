"""The filters of reporting's pages: a measure's value in its unit's words and a card's
status in words (`reporting.formatting`, shared with the e-mails)."""

from __future__ import annotations

from typing import Any

from django import template

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
def status_word(status: str) -> str:
    """`{{ card.status|status_word }}`: the status of a card in words."""
    return STATUS_WORDS.get(status, status)
