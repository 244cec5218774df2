"""A measure's value reads in its unit's words, the same on pages, e-mails and exports."""

import datetime as dt

import pytest

from reporting.formatting import measure_value_text, target_text
from reporting.selectors import Point
from reporting.templatetags.dashboards import trend_items


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.9, "%", "90%"),
        (0.033, "%", "3.3%"),
        (87.291, "EUR", "€87.29"),
        (12500, "EUR", "€12,500"),
        (3.4321, "of 5", "3.4 of 5"),
        (0.4712, "-1 to 1", "+0.47 (-1 to 1)"),
        (-0.2, "-1 to 1", "-0.20 (-1 to 1)"),
        (186.0, "hours", "186 hours"),
        (5.25, "days", "5.2 days"),
        (None, "%", ""),
    ],
)
def test_a_value_reads_in_its_units_words(value, unit, text):
    assert measure_value_text(value, unit) == text


@pytest.mark.parametrize(
    ("target", "unit", "direction", "text"),
    [
        (0.9, "%", "higher", "at least 90%"),
        (0.05, "%", "lower", "at most 5%"),
        (60, "EUR", "lower", "at most €60.00"),
        (None, "%", "higher", ""),
    ],
)
def test_a_target_reads_the_same_words_everywhere(target, unit, direction, text):
    assert target_text(target, unit, direction) == text


def test_a_cards_trend_lists_each_week_in_words_escaped_and_a_held_back_one_as_not_shown():
    series = [
        Point(dt.date(2026, 10, 19), 0.8, "19 Oct", "80%"),
        Point(dt.date(2026, 10, 26), None, "26 Oct", ""),
        Point(dt.date(2026, 11, 2), 1.0, "<2 Nov>", "a & b"),
    ]

    items = str(trend_items(series)).splitlines()

    assert items == [
        '<li data-day="19 Oct" data-value="0.8" data-text="80%">'
        '<span class="rp-day">19 Oct</span> <span class="rp-point">80%</span></li>',
        '<li data-day="26 Oct" data-value="" data-text="not shown">'
        '<span class="rp-day">26 Oct</span> <span class="rp-point">\N{EN DASH}</span></li>',
        '<li data-day="&lt;2 Nov&gt;" data-value="1.0" data-text="a &amp; b">'
        '<span class="rp-day">&lt;2 Nov&gt;</span> <span class="rp-point">a &amp; b</span></li>',
    ]
