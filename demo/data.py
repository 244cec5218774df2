"""The demo's data files (TOML, in `demo/data/`), read once per process."""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

_RELATIVE_DATE = re.compile(r"\{today([+-]\d+)\}")


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed `demo/data/<name>.toml`; callers must not change what they get."""
    with (DATA_DIR / f"{name}.toml").open("rb") as file:
        return tomllib.load(file)


def dates_from(text: str, today: dt.date) -> str:
    """`text` with every `{today+N}` replaced by the ISO date N days after `today`."""
    return _RELATIVE_DATE.sub(
        lambda match: (today + dt.timedelta(days=int(match.group(1)))).isoformat(), text
    )
