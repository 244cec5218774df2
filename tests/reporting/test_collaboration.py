"""The collaboration map: handoffs and consults between departments over a period, with
their volume, median pick-up delay and send-back rate, worked out by hand on built events."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, reverse_lazy

from esm import clock
from esm.events import event_record
from esm.models import Department, EventKind
from reporting import collaboration_map as collaboration_map_module
from reporting.collaboration import (
    CollaborationMap,
    Edge,
    Work,
    collaboration_edge,
    collaboration_edge_cases,
    collaboration_map,
)
from reporting.collaboration_map import Arrow, Label, collaboration_drawing
from reporting.crossings import crossings_refresh
from reporting.models import Crossing
from reporting.templatetags.collaboration_map import arrow_figures, arrow_paths, edge_rows
from services.models import Consult
from tests.services.factories import (
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceRequestFactory,
)
from valuestreams.forms import day_period

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
HANDED = NOW - dt.timedelta(days=2)
PERIOD = day_period(NOW.date() - dt.timedelta(days=6), NOW.date())
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _at(moment: dt.datetime, **event) -> None:
    with clock.travel(moment), transaction.atomic():
        event_record(**event)


def handoff(source, target, *, claimed_after=None, sent_back=False, confidential=False, at=HANDED):
    """A case of `source`'s handed to `target` at `at`, claimed `claimed_after` it (or
    never)."""
    item = CatalogItemFactory(department=source, is_confidential=confidential)
    service_request = ServiceRequestFactory(catalog_item=item)
    sending = FulfilmentTaskFactory(service_request=service_request)
    receiving = FulfilmentTaskFactory(service_request=service_request, queue__department=target)
    _at(
        at,
        subject=sending,
        kind=EventKind.HANDED_OFF,
        from_department=source,
        to_department=target,
        reference=service_request.reference,
        payload={"to_task": receiving.pk},
        is_confidential=confidential,
    )
    if claimed_after is not None:
        _at(at + claimed_after, subject=receiving, kind=EventKind.CLAIMED)
    if sent_back:
        _at(
            at + claimed_after + HOUR,
            subject=receiving,
            kind=EventKind.SENT_BACK,
            from_department=target,
            to_department=source,
            payload={"to_task": sending.pk},
        )
    return service_request


def consult(source, target, *, answered_after, asked_by):
    item = CatalogItemFactory(department=source)
    asking = FulfilmentTaskFactory(service_request=ServiceRequestFactory(catalog_item=item))
    question = FulfilmentTaskFactory(
        service_request=asking.service_request, queue__department=target
    )
    found = Consult.objects.create(
        asking_task=asking,
        consult_task=question,
        from_department=source,
        to_department=target,
        question="Which laptop?",
        asked_by=asked_by,
        asked_at=HANDED,
    )
    common = {"subject": found, "reference": asking.service_request.reference}
    _at(
        HANDED, kind=EventKind.CONSULT_ASKED, from_department=source, to_department=target, **common
    )
    _at(
        HANDED + answered_after,
        kind=EventKind.CONSULT_ANSWERED,
        from_department=target,
        to_department=source,
        **common,
    )
    return found


@pytest.fixture
def worked_example(hr_department, it_department, hr_agent):
    """HR hands four cases to IT: picked up after 1 h, 3 h (then sent back) and 2 h, and
    one not yet; IT hands one back to HR, picked up after 5 h; HR asks IT one consult,
    answered after 30 minutes.

    HR → IT: 4 handoffs, delays 1, 2, 3 h: the median is the 2nd of 3 (nearest rank
    ceil(3/2) = 2), 2 h; 1 sent back of 4 = 25%; 1 consult, answered in 0.5 h.
    IT → HR: 1 handoff, 5 h, none sent back."""
    cases = [
        handoff(hr_department, it_department, claimed_after=HOUR),
        handoff(hr_department, it_department, claimed_after=3 * HOUR, sent_back=True),
        handoff(hr_department, it_department, claimed_after=2 * HOUR),
        handoff(hr_department, it_department),
        handoff(it_department, hr_department, claimed_after=5 * HOUR),
    ]
    consult(hr_department, it_department, answered_after=HOUR / 2, asked_by=hr_agent)
    # Within one department (between two of its queues), and outside the period: neither
    # counts.
    handoff(it_department, it_department, claimed_after=HOUR)
    handoff(hr_department, it_department, claimed_after=HOUR, at=NOW - dt.timedelta(days=30))
    crossings_refresh(full=True)
    return cases


def _edges(found):
    return {(e.from_department.slug, e.to_department.slug): e for e in found.edges}


def test_edges_carry_volume_median_pickup_and_send_back_rate(worked_example, hr_agent):
    found = collaboration_map(period=PERIOD, viewer=hr_agent)

    edges = _edges(found)
    assert set(edges) == {("hr", "it"), ("it", "hr")}
    hr_it = edges[("hr", "it")]
    assert hr_it.handoffs.volume == 4
    assert hr_it.handoffs.picked_up == 3
    assert hr_it.handoffs.median == pytest.approx(2.0)
    assert hr_it.handoffs.sent_back == 1
    assert hr_it.handoffs.send_back_rate == pytest.approx(0.25)
    assert hr_it.consults.volume == 1
    assert hr_it.consults.median == pytest.approx(0.5)
    assert edges[("it", "hr")].consults.volume == 0
    assert [e.volume for e in found.edges] == [5, 1]
    assert {d.slug for d in found.departments} >= {"hr", "it"}


@pytest.mark.usefixtures("own_cache")
def test_edge_counts_are_kept_until_the_crossings_are_written_again(
    worked_example, hr_department, it_department, hr_agent
):
    def hr_to_it():
        return _edges(collaboration_map(period=PERIOD, viewer=hr_agent))[("hr", "it")]

    assert hr_to_it().handoffs.volume == 4

    # Rows gone behind the refresh's back (no new version): the kept counts stand.
    Crossing.objects.filter(from_department=hr_department, to_department=it_department).delete()
    assert hr_to_it().handoffs.volume == 4

    # Another handoff, then a refresh: the crossings are written under a new version.
    handoff(hr_department, it_department, claimed_after=HOUR)
    crossings_refresh(full=True)
    assert hr_to_it().handoffs.volume == 5


def test_figures_of_a_small_edge_held_back_from_who_may_not_see_its_cases(
    worked_example, hr_agent, it_agent
):
    """IT's one handoff to HR is an IT case: HR's agent counts it and reads no delay or
    rate; IT's agent, who may see it, reads 5 h and 0% sent back."""
    for_hr = _edges(collaboration_map(period=PERIOD, viewer=hr_agent))[("it", "hr")]
    for_it = _edges(collaboration_map(period=PERIOD, viewer=it_agent))[("it", "hr")]

    assert (for_hr.handoffs.volume, for_hr.handoffs.hidden) == (1, 1)
    assert for_hr.handoffs.held_back
    assert (for_hr.handoffs.median, for_hr.handoffs.send_back_rate) == (None, None)
    assert for_it.handoffs.median == pytest.approx(5.0)
    assert for_it.handoffs.send_back_rate == 0.0


def test_edge_cases_list_only_what_the_viewer_may_open(
    worked_example, hr_department, it_department, hr_agent, it_agent
):
    """A confidential HR case handed to IT counts on the edge for IT's agent, but is listed
    only to HR, whose case it is."""
    secret = handoff(hr_department, it_department, claimed_after=HOUR, confidential=True)
    crossings_refresh(full=True)

    def listed(viewer):
        crossings = collaboration_edge_cases(
            source=hr_department, target=it_department, period=PERIOD, viewer=viewer
        )
        return {crossing.case_id for crossing in crossings}

    assert secret.pk in listed(hr_agent)
    assert secret.pk not in listed(it_agent)
    edge = collaboration_edge(
        source=hr_department, target=it_department, period=PERIOD, viewer=it_agent
    )
    assert (edge.handoffs.volume, edge.handoffs.hidden) == (5, 5)


def test_the_map_checks_the_viewers_sight_only_on_edges_it_could_hold_back(
    worked_example, hr_department, it_department, it_agent
):
    """IT's agent may open none of HR's five handoffs to IT: on the map that edge is not
    small, so nothing is held back and the hidden cases are not counted (no query spent on
    them); IT's single handoff to HR, which IT may see, is checked and none is hidden."""
    handoff(hr_department, it_department, claimed_after=HOUR, confidential=True)
    crossings_refresh(full=True)

    with CaptureQueriesContext(connection) as queries:
        found = _edges(collaboration_map(period=PERIOD, viewer=it_agent))

    sight_checks = [q["sql"] for q in queries if "services_servicerequest" in q["sql"]]
    assert len(sight_checks) == 1  # once, for the small edges, not with the edges' counts
    from_hr, to_hr = found[("hr", "it")].handoffs, found[("it", "hr")].handoffs
    assert (from_hr.volume, from_hr.hidden, from_hr.held_back) == (5, None, False)
    assert (to_hr.volume, to_hr.hidden, to_hr.held_back) == (1, 0, False)


def test_drawing_puts_departments_on_a_circle_and_widens_busy_edges(worked_example, hr_agent):
    found = collaboration_map(period=PERIOD, viewer=hr_agent)

    drawing = collaboration_drawing(found, edge_href=lambda e: f"/{e.from_department.slug}")

    centre = drawing.width / 2
    radii = {round(math.hypot(n.x - centre, n.y - centre)) for n in drawing.nodes}
    assert len(radii) == 1
    busy, quiet = drawing.arrows
    assert busy.stroke > quiet.stroke
    assert busy.href == "/hr"
    assert [label.text for label in busy.labels] == [
        "4 handed, pick-up 2 h",
        "sent back 25%",
        "1 consulted, answer 30 min",
    ]
    assert [label.text for label in quiet.labels] == [
        "1 handed, figures held back",
        "(under 5 cases)",
    ]


def _built_map(names, edges):
    """A map of unsaved departments named `names` and `edges` as (from, to, handoffs,
    consults) name pairs with their `Work`: the drawing needs no database."""
    departments = {
        name: Department(pk=pk, name=name, slug=name.lower())
        for pk, name in enumerate(sorted(names), start=1)
    }
    built = [
        Edge(departments[source], departments[target], handoffs, consults)
        for source, target, handoffs, consults in edges
    ]
    built.sort(key=lambda e: (-e.volume, e.from_department.name, e.to_department.name))
    return CollaborationMap(period=PERIOD, departments=list(departments.values()), edges=built)


def _clashes(drawing):
    boxes = [arrow.box for arrow in drawing.arrows if arrow.box]
    into_nodes = [
        (box, node.name)
        for box in boxes
        for node in drawing.nodes
        if box.intrusion(node.x, node.y, node.r) > 0
    ]
    into_boxes = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]
    return into_nodes, into_boxes


def test_figures_clear_every_department_and_each_other_on_the_demo_shape():
    # The shape that put the busiest edge's figures over Sales: IT and Facilities both
    # ways, long held-back figures between HR, Finance and IT.
    held = Work(volume=2, hidden=2)
    drawing = collaboration_drawing(
        _built_map(
            ["Facilities", "Finance", "HR", "IT", "Sales"],
            [
                ("IT", "Facilities", Work(10, 10, 18.2, 3), Work(10, 10, 1.5)),
                ("Facilities", "IT", Work(7, 7, 0.7), Work(3, 1, hidden=1)),
                ("HR", "Finance", held, Work()),
                ("HR", "IT", Work(), Work(1, hidden=1)),
            ],
        ),
        edge_href=lambda e: "/",
    )

    assert _clashes(drawing) == ([], [])
    # The long held-back line wraps rather than reaching across the map.
    hr_finance = drawing.arrows[2]
    assert [label.text for label in hr_finance.labels] == [
        "2 handed, figures held back",
        "(under 5 cases)",
    ]
    # Every figure is inside the view box.
    assert all(
        drawing.top <= arrow.box.top and arrow.box.bottom <= drawing.top + drawing.height
        for arrow in drawing.arrows
    )


def test_figures_clear_every_department_when_every_pair_works_together_both_ways():
    names = ["Facilities", "Finance", "HR", "IT", "Legal", "Marketing", "Sales"]
    edges = [
        (a, b, Work(n % 9 + 1, n % 9 + 1, 1.5, n % 3), Work(n % 4, n % 4, 2.0))
        for n, (a, b) in enumerate((a, b) for a in names for b in names if a != b)
    ]

    drawing = collaboration_drawing(_built_map(names, edges), edge_href=lambda e: "/")

    into_nodes, _ = _clashes(drawing)
    assert into_nodes == []


def test_same_map_gives_the_same_drawing():
    found = _built_map(
        ["HR", "IT", "Sales"],
        [("IT", "HR", Work(5, 5, 2.0), Work()), ("HR", "IT", Work(5, 5, 1.0), Work())],
    )

    first = collaboration_map_module._drawing(found, edge_href=lambda e: "/")

    assert collaboration_map_module._drawing(found, edge_href=lambda e: "/") == first


def test_a_map_read_again_is_not_laid_out_again_until_its_figures_change(monkeypatch):
    cache.clear()
    found = _built_map(
        ["HR", "IT", "Sales"],
        [("IT", "HR", Work(5, 5, 2.0), Work()), ("HR", "IT", Work(5, 5, 1.0), Work())],
    )
    layouts = []
    lay_out = collaboration_map_module._drawing
    monkeypatch.setattr(
        collaboration_map_module,
        "_drawing",
        lambda found, edge_href: layouts.append(found) or lay_out(found, edge_href=edge_href),
    )

    first = collaboration_drawing(found, edge_href=lambda e: "/")
    again = collaboration_drawing(found, edge_href=lambda e: "/")
    found.edges[0] = Edge(
        found.edges[0].from_department, found.edges[0].to_department, Work(6, 6, 2.0), Work()
    )
    changed = collaboration_drawing(found, edge_href=lambda e: "/")
    elsewhere = collaboration_drawing(found, edge_href=lambda e: "/other/")

    assert again == first
    assert changed != first
    assert "6 handed" in repr(changed)
    assert elsewhere.arrows[0].href == "/other/"
    assert len(layouts) == 3


# Pages ---------------------------------------------------------------------------------

MAP = reverse_lazy("collaboration_map")
QUERY = {"start": "2026-11-14", "end": "2026-11-20"}


def test_map_page_shows_the_svg_and_the_table_of_edges(client, worked_example, hr_agent):
    client.force_login(hr_agent)

    response = client.get(MAP, QUERY)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page
    assert "4 handed, pick-up 2 h" in page
    edge = reverse("collaboration_edge", args=["hr", "it"])
    assert f'href="{edge}?start=2026-11-14&amp;end=2026-11-20"' in page
    assert "25%" in page
    assert "Figures as of 20 Nov 2026, 12:00" in page


def test_map_page_explains_an_empty_period(client, hr_agent):
    client.force_login(hr_agent)

    response = client.get(MAP, QUERY)

    page = " ".join(response.content.decode().split())
    assert "No department handed work to another" in page
    assert "Figures not yet computed from the log" in page


@pytest.mark.parametrize("persona", ["employee", "outsider", "manager"])
def test_map_and_edge_refused_to_people_outside_service_work(
    client, persona, request, hr_department, it_department
):
    client.force_login(request.getfixturevalue(persona))
    edge = reverse("collaboration_edge", args=["hr", "it"])

    assert client.get(MAP).status_code == 403
    assert client.get(edge).status_code == 403
    assert client.get("/api/v1/collaboration/").status_code == 403


@pytest.mark.parametrize("persona", ["executive", "department_manager", "it_agent"])
def test_map_open_to_staff_managers_and_executives(client, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(MAP).status_code == 200


def test_edge_page_lists_visible_cases_and_counts_the_others(
    client, worked_example, hr_department, it_department, it_agent
):
    secret = handoff(hr_department, it_department, claimed_after=HOUR, confidential=True)
    crossings_refresh(full=True)
    client.force_login(it_agent)

    response = client.get(reverse("collaboration_edge", args=["hr", "it"]), QUERY)

    page = response.content.decode()
    assert response.status_code == 200
    assert secret.reference not in page
    # Five handoffs and one consult, all HR's cases: five handoffs are enough for the
    # figures to stand; the one consult's answer time is held back.
    assert "6 of them are cases you may not open" in " ".join(page.split())
    assert page.count("held back (under 5 cases)") == 1


def test_edge_page_of_an_unknown_department_is_404(client, hr_department, it_agent):
    client.force_login(it_agent)

    assert client.get(reverse("collaboration_edge", args=["hr", "nowhere"])).status_code == 404


def test_map_and_edge_pages_run_a_constant_number_of_queries(
    client,
    worked_example,
    hr_department,
    it_department,
    facilities_department,
    hr_agent,
    django_assert_max_num_queries,
):
    client.force_login(hr_agent)
    edge = reverse("collaboration_edge", args=["hr", "it"])
    with django_assert_max_num_queries(12) as small:
        client.get(MAP, QUERY)
    for _ in range(4):
        handoff(hr_department, facilities_department, claimed_after=HOUR)
        handoff(it_department, facilities_department, claimed_after=HOUR, sent_back=True)
        handoff(hr_department, it_department, claimed_after=HOUR)
    crossings_refresh(full=True)

    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(MAP, QUERY)
    with django_assert_max_num_queries(14):
        client.get(edge, QUERY)


# API -----------------------------------------------------------------------------------

API = "/api/v1/collaboration/"


def test_api_gives_nodes_and_edges_with_their_figures(client, worked_example, hr_agent):
    client.force_login(hr_agent)

    body = client.get(API, QUERY).json()

    assert (body["start"], body["end"]) == ("2026-11-14", "2026-11-20")
    assert {"slug": "hr", "name": "HR"} in body["nodes"]
    first = body["edges"][0]
    assert (first["source"], first["target"], first["volume"]) == ("hr", "it", 5)
    assert first["handoffs"]["median_pickup_hours"] == pytest.approx(2.0)
    assert first["handoffs"]["send_back_rate"] == pytest.approx(0.25)
    assert first["handoffs"]["sent_back"] == 1
    assert first["consults"]["median_pickup_hours"] == pytest.approx(0.5)
    back = body["edges"][1]
    assert back["handoffs"]["held_back"] is True
    assert back["handoffs"]["median_pickup_hours"] is None
    assert back["handoffs"]["sent_back"] is None


def test_api_refuses_a_bad_period_with_the_field_named(client, hr_agent):
    client.force_login(hr_agent)

    response = client.get(API, {"start": "2026-11-20", "end": "2026-11-01"})

    assert response.status_code == 400
    assert "start" in response.json()


def test_the_maps_arrows_figures_and_table_rows_are_written_escaped():
    """The map's repeated elements are built in Python (`templatetags.collaboration_map`):
    a department's name or a figure must come out escaped, a missing figure as a dash."""
    label = Label(x=10.5, y=20.0, text="<HR & IT>", css="vsm-consult", anchor="start")
    arrow = Arrow(path="M 0 0 L 1 1", stroke=2.5, labels=[label], href="/e?a=1&b=2", title="A→B")
    drawing = SimpleNamespace(uid="m1", arrows=[arrow])
    edge = SimpleNamespace(
        from_department=SimpleNamespace(name="R&D"),
        to_department=SimpleNamespace(name="<IT>"),
        handoffs=SimpleNamespace(volume=3),
        consults=SimpleNamespace(volume=0),
    )

    assert str(arrow_paths(drawing)) == (
        '<a href="/e?a=1&amp;b=2"><title>A→B</title><path d="M 0 0 L 1 1" fill="none" '
        'stroke="#5b6475" stroke-opacity="0.8" stroke-width="2.5" marker-end="url(#m1-head)" />'
        "</a>"
    )
    assert str(arrow_figures(drawing)) == (
        '<a href="/e?a=1&amp;b=2"><text x="10.5" y="20.0" class="vsm-consult" '
        'text-anchor="start">&lt;HR &amp; IT&gt;</text></a>'
    )
    row = str(edge_rows([(edge, {"pickup": "4.0 h", "sent_back": "", "answer": ""}, "/e")]))
    assert row == (
        '<tr><td data-label="From"><a href="/e">R&amp;D</a></td>'
        '<td data-label="To">&lt;IT&gt;</td><td data-label="Handoffs">3</td>'
        '<td data-label="Median pick-up">4.0 h</td><td data-label="Sent back">\N{EN DASH}</td>'
        '<td data-label="Consults">0</td><td data-label="Median answer">\N{EN DASH}</td></tr>'
    )
