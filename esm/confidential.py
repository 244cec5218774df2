"""Which departments hold confidential cases (HR grievances, medical leave).

Confidentiality is a property of the catalog items a department fulfils, which belong to
`services`; esm never imports that app, so it registers the answer here when it loads (as
it registers its workspace section). Single sign-on asks before a group mapping grants a
role: a role in one of these departments opens its confidential cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_SOURCES: list[Callable[[], Iterable[int]]] = []


def confidential_departments_register(source: Callable[[], Iterable[int]]) -> None:
    """`source()` answers the ids of departments that hold confidential cases, in a fixed
    number of queries."""
    _SOURCES.append(source)


def confidential_department_ids() -> frozenset[int]:
    """Every department some registered source calls confidential."""
    return frozenset(pk for source in _SOURCES for pk in source())
