"""A measure's value reads in its unit's words, the same on pages, e-mails and exports."""

import pytest

from reporting.formatting import measure_value_text, target_text


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
