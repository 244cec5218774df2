"""What the navigation offers each person, decided by their roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from esm.permissions import can


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    permission: str
    count: int | None = None
    """How much waits there for the person (shown beside the label), if anything counts."""


# Counts beside an entry, by its label. The apps built on esm contribute them (they may
# import esm, never the reverse): `services` counts the approvals waiting for the person.
_COUNTERS: dict[str, Callable[[Any], int]] = {}


def nav_counter_register(label: str, counter: Callable[[Any], int]) -> None:
    _COUNTERS[label] = counter


def nav_items(request: HttpRequest) -> list[NavItem]:
    user = request.user
    items = [
        NavItem("Portal", reverse("home"), "esm.use_portal"),
        NavItem("My requests", reverse("my_requests"), "esm.use_portal"),
        # Only for people who approve: named by string, the rule lives with approvals.
        NavItem("Approvals", reverse("approvals"), "services.use_approvals"),
        NavItem("Queues", reverse("queue_list"), "esm.work_queues"),
        NavItem("Team", reverse("workspace"), "esm.work_queues"),
        NavItem("Overview", reverse("department_overviews"), "esm.manage_any_department"),
        NavItem("Value streams", reverse("valuestream_list"), "valuestreams.browse_streams"),
        NavItem("Journeys", reverse("journey_list"), "journeys.browse_journeys"),
        # Every active person; the list says which reports are theirs (no query: every page).
        NavItem("Dashboards", reverse("dashboards"), "reporting.browse_reports"),
        NavItem("Audit log", reverse("audit_log"), "esm.view_audit"),
        NavItem("Admin", reverse("admin:index"), "esm.use_admin"),
    ]
    return [
        replace(item, count=_COUNTERS[item.label](user)) if item.label in _COUNTERS else item
        for item in items
        if can(user, item.permission)
    ]
