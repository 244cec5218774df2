"""The HR canary: a string in every text of a confidential HR case (title, form answers,
comment, internal note, attachment name) never reaches anyone outside HR and the requester,
on any surface: pages and search, lists, dashboards and drill-downs, the API and its
search, CSV and XES exports, the Django admin. Each URL must also give its expected answer,
so a page that broke (404, 500) cannot pass for one that keeps the case out. Mail:
test_hr_mail.py."""

import pytest
from django.contrib import admin

from tests.security.matrix import ROWS
from tests.security.world import HR_CANARY
from valuestreams.metrics import SMALL_GROUP

pytestmark = pytest.mark.django_db

# An IT agent (another department), a manager of another department, an executive, and a
# superuser without an HR role.
OUTSIDERS = ["it_agent", "it_manager", "executive", "superuser"]

# Aggregates and lists beyond the matrix's rows, read for the canary, with each outsider's
# answer in OUTSIDERS' order: a URL that answered 404 (or 500) by accident would prove
# nothing about what it shows. 302: sent on to the one department the person may read.
AGGREGATES = {
    "/?q=Help":                                 "200  200  200  200",
    "/requests/?search=Help":                   "200  200  200  200",
    "/queues/it-desk/?q=Help":                  "200  200  404  404",
    "/streams/onboarding/":                     "200  200  200  200",
    "/streams/onboarding/copis/":               "200  200  200  200",
    "/journeys/new-hire/":                      "200  200  200  200",
    "/reporting/collaboration/":                "200  200  200  200",
    "/reporting/portfolio/":                    "403  200  200  200",
    "/reporting/readiness/":                    "403  200  200  200",
    "/reporting/tribes/":                       "403  200  200  200",
    "/reporting/audit/":                        "403  200  200  200",
    "/departments/overview/":                   "403  302  403  403",
    "/departments/it/overview/":                "404  200  404  404",
    "/departments/hr/overview/":                "404  404  404  404",
    "/departments/knowledge-sharing/":          "302  302  200  200",
    "/departments/it/knowledge-sharing/":       "200  200  200  200",
    "/api/v1/streams/":                         "200  200  200  200",
    "/api/v1/streams/onboarding/":              "200  200  200  200",
    "/api/v1/streams/onboarding/metrics/":      "200  200  200  200",
    "/api/v1/streams/onboarding/variants/":     "200  200  200  200",
    "/api/v1/journeys/":                        "200  200  200  200",
    "/api/v1/journeys/new-hire/":               "200  200  200  200",
    "/api/v1/journeys/new-hire/findings/":      "200  200  200  200",
    "/api/v1/collaboration/":                   "200  200  200  200",
    "/api/v1/portfolio/":                       "403  200  200  200",
    "/api/v1/readiness/":                       "403  200  200  200",
    "/api/v1/adoption/":                        "403  200  200  200",
    "/api/v1/requests/?search=Help":            "200  200  200  200",
    "/admin/services/servicerequest/?q=Help":   "302  302  302  200",
    "/admin/esm/event/?q=Help":                 "302  302  302  200",
}  # fmt: skip


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _status(cell: str) -> int:
    return 200 if cell in ("S", "H") else int(cell)


def _expected(world, role: str) -> dict[str, int]:
    """Each URL read, with the answer `role` must get: the matrix's where it is a row."""
    expected = {url: int(cells.split()[OUTSIDERS.index(role)]) for url, cells in AGGREGATES.items()}
    for row in ROWS:
        if row.method == "get":
            expected[row.url(world)] = _status(row.expected[role])
    # Every admin's search: for the superuser a list, for the others off to sign in.
    admin_answer = 200 if role == "superuser" else 302
    for model in admin.site._registry:
        expected.setdefault(
            f"/admin/{model._meta.app_label}/{model._meta.model_name}/?q=Help", admin_answer
        )
    case = world.hr_case
    for page in ("change", "delete", "history"):
        url = f"/admin/services/servicerequest/{case.service_request.pk}/{page}/"
        expected.setdefault(url, 404 if role == "superuser" else 302)
    for page in ("change", "delete"):
        url = f"/admin/auth/user/{world.people['employee'].pk}/{page}/"
        expected.setdefault(url, admin_answer)
    return expected


@pytest.mark.parametrize("role", OUTSIDERS)
def test_the_hr_canary_appears_on_no_surface(world, role):
    client = world.clients[role]
    expected = _expected(world, role)

    responses = {url: client.get(url) for url in sorted(expected)}

    assert [url for url, got in responses.items() if HR_CANARY.encode() in _body(got)] == []
    assert {
        url: (got.status_code, expected[url])
        for url, got in responses.items()
        if got.status_code != expected[url]
    } == {}


def test_the_hr_canary_is_found_by_hr_staff(world):
    # The canary must be findable where it may be seen, or its absence proves nothing.
    client = world.clients["hr_agent"]
    case = world.hr_case

    for url in (f"/requests/{case.service_request.reference}/", f"/tasks/{case.task.pk}/"):
        assert HR_CANARY.encode() in _body(client.get(url)), url


# -- the small-group rule -------------------------------------------------------------------
# The world's value stream, journey touchpoint and HR-to-IT consult each rest on fewer than
# SMALL_GROUP cases, the HR case among them. An outsider who can open the IT request (or
# knows the other cases) could subtract them from a figure shown on so few cases and read
# the HR case's own: each figure is held back from everyone outside HR.


def _json(world, role: str, url: str):
    response = world.clients[role].get(url)
    assert response.status_code == 200, (role, url)
    return response.json()


@pytest.mark.parametrize("role", OUTSIDERS)
def test_a_value_stream_s_figures_on_a_small_group_are_held_back(world, role):
    metrics = _json(world, role, "/api/v1/streams/onboarding/metrics/")
    variants = _json(world, role, "/api/v1/streams/onboarding/variants/")

    assert 0 < metrics["cases"] < SMALL_GROUP
    assert metrics["hidden"] is True
    assert metrics["lead_time"]["p50"] is None
    assert metrics["lead_time"]["mean"] is None
    assert [stage["process"] for stage in metrics["stages"]] == [None]
    assert [variant["lead_time"]["p50"] for variant in variants] == [None]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_a_journey_s_signals_on_a_small_group_are_held_back(world, role):
    signals = _json(world, role, "/api/v1/journeys/new-hire/signals/")

    [touchpoint] = signals["touchpoints"]
    assert 0 < touchpoint["cases"] < SMALL_GROUP
    assert touchpoint["hidden"] is True
    assert touchpoint["resolution"]["p50"] is None
    assert touchpoint["resolution"]["mean"] is None


@pytest.mark.parametrize(
    ("role", "held_back"), [(r, True) for r in OUTSIDERS] + [("hr_agent", False)]
)
def test_the_collaboration_map_holds_back_a_small_edge_from_outside_the_department(
    world, role, held_back
):
    edges = _json(world, role, "/api/v1/collaboration/")["edges"]

    [edge] = [e for e in edges if (e["source"], e["target"]) == ("hr", "it")]
    assert 0 < edge["consults"]["volume"] < SMALL_GROUP
    assert edge["consults"]["held_back"] is held_back
