"""What the navigation offers each person, decided by their roles."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from esm.permissions import can


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    permission: str


def nav_items(request: HttpRequest) -> list[NavItem]:
    user = request.user
    items = [
        NavItem("Portal", reverse("home"), "esm.use_portal"),
        NavItem("My requests", reverse("my_requests"), "esm.use_portal"),
        # Anyone may be asked to approve (as a manager, a named person or through a role):
        # always offered, rather than a query on every page to see whether something waits.
        NavItem("Approvals", reverse("approvals"), "esm.use_portal"),
        NavItem("Queues", reverse("queue_list"), "esm.work_queues"),
        NavItem("Team", reverse("workspace"), "esm.work_queues"),
        NavItem("Dashboards", reverse("dashboards"), "esm.view_dashboards"),
        NavItem("Admin", reverse("admin:index"), "esm.use_admin"),
    ]
    return [item for item in items if can(user, item.permission)]
