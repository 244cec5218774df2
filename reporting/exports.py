"""CSV of a report's cards, for the download and the e-mailed attachment alike.

A cell a spreadsheet would read as a formula is neutralised (`esm.spreadsheets.csv_cell`):
report text is typed by people, and a CSV is opened by others. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from esm.spreadsheets import csv_cell
from reporting.models import Report
from reporting.selectors import Card

HEADER = [
    "report",
    "scope",
    "measure",
    "kind",
    "unit",
    "day",
    "value",
    "cases",
    "target",
    "direction",
    "status",
    "decision",
    "decision maker",
]


def card_rows(*, report: Report, scope_label: str, cards: Iterable[Card]) -> Iterator[list]:
    """The header, then one row per card: what its dashboard shows (a held-back or missing
    value is an empty cell, its status says why)."""
    yield HEADER
    for card in cards:
        measure = card.measure
        row = [
            report.name,
            scope_label,
            measure.name,
            measure.get_kind_display(),
            measure.unit,
            card.day.isoformat() if card.day else "",
            "" if card.value is None else card.value,
            "" if card.cases is None else card.cases,
            "" if measure.target is None else measure.target,
            measure.get_direction_display(),
            card.status,
            measure.decision,
            measure.decision_maker,
        ]
        yield [csv_cell(cell) for cell in row]


def cards_csv(*, report: Report, scope_label: str, cards: Iterable[Card]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(card_rows(report=report, scope_label=scope_label, cards=cards))
    return buffer.getvalue()
