"""Text written into a CSV that people open in a spreadsheet.

A cell a spreadsheet would read as a formula is neutralised with a leading apostrophe
(OWASP's advice on CSV injection): names, titles and notes are typed by people, and a CSV
is opened by others, where `=HYPERLINK(...)` or `@SUM(...)` would run. A cell counts as a
formula when it starts, after any blank space a spreadsheet skips, with `=`, `+`, `-` or
`@` (or their full-width forms, which some spreadsheets read alike), or with a tab or a
carriage return. Numbers stay numbers: only text is touched.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_STARTS = ("\t", "\r", "\n")


def csv_cell(value: object) -> object:
    """`value` as safe to open in a spreadsheet: text starting like a formula gets a `'`."""
    if not isinstance(value, str):
        return value
    if value.startswith(CONTROL_STARTS) or value.lstrip(" \u00a0").startswith(FORMULA_STARTS):
        return "'" + value
    return value
