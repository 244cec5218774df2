"""The HR canary: a string in every text of a confidential HR case (title, form answers,
comment, internal note, attachment name) never reaches anyone outside HR and the requester,
on any surface: pages and search, lists, dashboards and drill-downs, the API and its
search, CSV and XES exports, notification mail, the Django admin."""

import pytest
from django.contrib import admin

from tests.security.matrix import ROWS
from tests.security.world import HR_CANARY

pytestmark = pytest.mark.django_db

# An IT agent (another department), a manager of another department, an executive, and a
# superuser without an HR role.
OUTSIDERS = ["it_agent", "it_manager", "executive", "superuser"]

# Aggregates and lists beyond the matrix's rows, read for the canary only.
AGGREGATES = [
    "/?q=Help",
    "/requests/?search=Help",
    "/queues/it-desk/?q=Help",
    "/streams/onboarding/",
    "/streams/onboarding/copis/",
    "/journeys/new-hire/",
    "/reporting/collaboration/",
    "/reporting/portfolio/",
    "/reporting/readiness/",
    "/reporting/tribes/",
    "/reporting/audit/",
    "/departments/overview/",
    "/departments/hr/overview/",
    "/departments/knowledge-sharing/",
    "/api/v1/streams/",
    "/api/v1/streams/onboarding/",
    "/api/v1/streams/onboarding/metrics/",
    "/api/v1/streams/onboarding/variants/",
    "/api/v1/journeys/",
    "/api/v1/journeys/new-hire/",
    "/api/v1/journeys/new-hire/findings/",
    "/api/v1/collaboration/",
    "/api/v1/portfolio/",
    "/api/v1/readiness/",
    "/api/v1/adoption/",
    "/api/v1/requests/?search=Help",
    "/admin/services/servicerequest/?q=Help",
    "/admin/esm/event/?q=Help",
]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _urls(world) -> list[str]:
    rows = [row.url(world) for row in ROWS if row.method == "get"]
    admin_lists = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/?q=Help"
        for model in admin.site._registry
    ]
    case = world.hr_case
    admin_pages = [
        f"/admin/services/servicerequest/{case.service_request.pk}/{page}/"
        for page in ("change", "delete", "history")
    ] + [f"/admin/auth/user/{world.people['employee'].pk}/{p}/" for p in ("change", "delete")]
    return sorted({*rows, *AGGREGATES, *admin_lists, *admin_pages})


@pytest.mark.parametrize("role", OUTSIDERS)
def test_the_hr_canary_appears_on_no_surface(world, role):
    client = world.clients[role]

    leaks = [url for url in _urls(world) if HR_CANARY.encode() in _body(client.get(url))]

    assert leaks == []


def test_the_hr_canary_is_found_by_hr_staff(world):
    # The canary must be findable where it may be seen, or its absence proves nothing.
    client = world.clients["hr_agent"]
    case = world.hr_case

    for url in (f"/requests/{case.service_request.reference}/", f"/tasks/{case.task.pk}/"):
        assert HR_CANARY.encode() in _body(client.get(url)), url


def test_notification_mail_carries_the_hr_canary_only_to_the_requester(world):
    requester = world.people["employee"].email
    assert world.outbox, "the world's actions sent no mail: the check below would be empty"

    to_others = [m for m in world.outbox if set(m.to) - {requester}]
    carrying = [m.subject for m in to_others if HR_CANARY in f"{m.subject} {m.body}"]

    assert carrying == []
