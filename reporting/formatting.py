"""A measure's number in the words of its unit, and a card's status in words, so a figure
reads the same on the dashboard, the printable page, in e-mails and in the API.

Shares (unit "%") are stored as 0-1 and shown as percentages; amounts of money (unit "EUR",
"GBP", "USD" or a currency sign) with their sign; anything else as the number and its unit.
"""

from __future__ import annotations

import re

SCALE = re.compile(r"-\d+(\.\d+)? to \d+(\.\d+)?")
"""A unit naming a scale that runs from below zero, such as "-1 to 1"."""

CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$", "€": "€", "£": "£", "$": "$"}

STATUS_WORDS = {
    "met": "met",
    "watch": "missed, watching",
    "act": "past the point of acting",
    "no-target": "no target",
    "too-few": "too few cases to show",
    "no-data": "no data yet",
    "not-held": "not held by the portal",
    "no-function": "not computed: no function has its key",
}


def _number(value: float, decimals: int) -> str:
    """Thousands grouped with commas, as the rest of the portal writes numbers."""
    return f"{value:,.{decimals}f}"


def _plain(value: float) -> str:
    """Whole numbers as such; one decimal under 100 where it says something."""
    if float(value).is_integer() or abs(value) >= 100:
        return _number(value, 0)
    return _number(value, 1).removesuffix(".0")


def target_text(target: float | None, unit: str, direction: str) -> str:
    """A target in words, "at least 90%" (higher is better) or "at most 5%"; '' if none.
    `direction` is a `Measure.Direction` value."""
    if target is None:
        return ""
    word = "at least" if direction == "higher" else "at most"
    return f"{word} {measure_value_text(target, unit)}"


def measure_value_text(value: float | None, unit: str) -> str:
    """`value` in `unit`'s words; '' when there is none."""
    if value is None:
        return ""
    unit = unit.strip()
    if unit == "%":
        share = value * 100
        return f"{_number(share, 1 if abs(share) < 10 else 0).removesuffix('.0')}%"
    if unit in CURRENCY_SIGNS:
        return f"{CURRENCY_SIGNS[unit]}{_number(value, 0 if abs(value) >= 1000 else 2)}"
    if unit.startswith("of "):
        return f"{_number(value, 1)} {unit}"
    if SCALE.fullmatch(unit):
        # A score on a scale around zero ("-1 to 1"): the sign matters, and so do hundredths.
        return f"{value:+.2f} ({unit})"
    return f"{_plain(value)} {unit}".strip()
