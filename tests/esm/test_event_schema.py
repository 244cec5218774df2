"""The written schema of the event log (docs/events.md) and the code agree, kind by kind."""

import re
from pathlib import Path

from esm.models import EventKind

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "events.md"
RUNTIME_PACKAGES = ("esm", "services", "valuestreams", "journeys", "reporting")
# In a table whose header starts "| kind |", each row starts with the kind: | `queued` | ...
KIND_ROW = re.compile(r"^\|\s*`([a-z_]+)`\s*\|")


def _documented_kinds() -> set[str]:
    kinds, in_kind_table = set(), False
    for line in SCHEMA.read_text().splitlines():
        if not line.startswith("|"):
            in_kind_table = False
        elif line.startswith("| kind |"):
            in_kind_table = True
        elif in_kind_table and (row := KIND_ROW.match(line)):
            kinds.add(row.group(1))
    return kinds


def _runtime_sources() -> str:
    return "\n".join(
        path.read_text()
        for package in RUNTIME_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path != ROOT / "esm" / "models.py"
    )


def test_every_kind_in_code_is_documented_and_every_documented_kind_exists():
    in_code = set(EventKind.values)
    documented = _documented_kinds()

    assert in_code - documented == set(), "kinds missing from docs/events.md"
    assert documented - in_code == set(), "docs/events.md documents kinds the code lacks"


def test_every_kind_is_written_somewhere_in_the_runtime_code():
    sources = _runtime_sources()

    never_written = [kind.name for kind in EventKind if f"EventKind.{kind.name}" not in sources]

    assert never_written == []
