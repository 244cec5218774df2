"""Sections the apps built on esm add to the workspace page (`/work/`).

esm never imports those apps, so they register a section here when they load (as
`services` does in its `AppConfig.ready`), like the navigation's counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WorkspaceSection:
    """A template to include on the page, and what it reads."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


_SECTIONS: list[Callable[[Any], WorkspaceSection | None]] = []


def workspace_section_register(section: Callable[[Any], WorkspaceSection | None]) -> None:
    """`section(user)` answers the section for that person, or None to show nothing; it
    must run a fixed number of queries."""
    _SECTIONS.append(section)


def workspace_sections(user: Any) -> list[WorkspaceSection]:
    """The sections for `user`, in the order they were registered."""
    return [found for section in _SECTIONS if (found := section(user)) is not None]
