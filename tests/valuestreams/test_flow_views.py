"""The measured pages: the list of streams, a stream's map, the cases behind a figure."""

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from services.models import ServiceRequest
from tests.services.factories import CatalogItemFactory, ServiceRequestFactory
from tests.valuestreams.factories import HandoffTargetFactory, StageFactory, ValueStreamFactory
from valuestreams.models import CaseFlow, CaseHandoff, CaseStage, ValueStream

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _cases(stream, item, count, *, confidential=False, lead_hours=10, stages=()):
    """Rollup rows as a refresh writes them: `count` cases resolved a day ago."""
    rows = []
    for n in range(count):
        service_request = ServiceRequestFactory(
            catalog_item=item,
            subject=f"Case {n} <b>bold</b>",
            is_confidential=confidential,
            state=ServiceRequest.State.RESOLVED,
        )
        resolved = NOW - dt.timedelta(days=1, hours=n)
        case = CaseFlow.objects.create(
            stream=stream,
            service_request=service_request,
            reference=service_request.reference,
            is_confidential=confidential,
            submitted_at=resolved - dt.timedelta(hours=lead_hours),
            resolved_at=resolved,
            lead_minutes=lead_hours * 60,
            critical_process_minutes=lead_hours * 15,
            variant=">".join(str(stage.pk) for stage in stages),
            refreshed_at=NOW,
        )
        for stage in stages:
            CaseStage.objects.create(
                case=case,
                stage=stage,
                started_at=case.submitted_at,
                process_minutes=60,
                queue_wait_minutes=30 * (stage.parallel_group),
                received=1,
            )
        rows.append(case)
    return rows


@pytest.fixture
def onboarding(hr_department, it_department, hr_agent):
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    stream = ValueStreamFactory(name="Onboarding", slug="onboarding", owner=hr_agent)
    stream.items.add(item)
    record = StageFactory(stream=stream, name="Record", department=hr_department)
    laptop = StageFactory(stream=stream, name="Laptop", department=it_department, parallel_group=2)
    HandoffTargetFactory(from_stage=record, to_stage=laptop, pickup_minutes=240)
    return stream, item, record, laptop


def test_the_list_shows_each_streams_lead_time_flow_efficiency_and_throughput(
    client, hr_agent, onboarding
):
    stream, item, record, laptop = onboarding
    _cases(stream, item, 6, stages=[record, laptop])
    client.force_login(hr_agent)

    page = client.get(reverse("valuestream_list")).content.decode()

    assert "Onboarding" in page
    assert "10 h" in page  # the median lead time
    assert "25%" in page  # 2.5 h of work on the critical path of 10 h
    assert "1.5 a week" in page  # 6 cases over four weeks


def test_list_and_map_run_a_fixed_number_of_queries(
    client, hr_agent, onboarding, django_assert_max_num_queries
):
    stream, item, record, laptop = onboarding
    _cases(stream, item, 3, stages=[record, laptop])
    client.force_login(hr_agent)
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("valuestream_list"))
        client.get(reverse("valuestream_map", args=["onboarding"]))
    _cases(stream, item, 30, stages=[record, laptop])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("valuestream_list"))
        client.get(reverse("valuestream_map", args=["onboarding"]))


def test_the_map_draws_stages_in_lanes_with_handoffs_and_the_bottleneck(
    client, hr_agent, onboarding
):
    stream, item, record, laptop = onboarding
    cases = _cases(stream, item, 5, stages=[record, laptop])
    for case in cases:
        CaseHandoff.objects.create(
            case=case,
            from_stage=record,
            to_stage=laptop,
            ready_at=case.submitted_at,
            picked_at=case.submitted_at + dt.timedelta(hours=5),
            delay_minutes=300,
            target_minutes=240,
            breached=True,
        )
    client.force_login(hr_agent)

    page = client.get(reverse("valuestream_map", args=["onboarding"])).content.decode()

    assert "<svg" in page
    assert "Record" in page
    assert "Laptop" in page
    assert "5 h / target 4 h" in page
    assert "Bottleneck" in page
    assert f"stage={laptop.pk}" in page
    assert f"handoff={record.pk}-{laptop.pk}" in page


def test_an_empty_period_explains_itself(client, hr_agent, onboarding):
    client.force_login(hr_agent)

    page = client.get(reverse("valuestream_map", args=["onboarding"])).content.decode()

    assert "No case was resolved in this period." in page
    assert "no waiting measured" in page


def test_a_bad_period_is_answered_beside_the_field(client, hr_agent, onboarding):
    client.force_login(hr_agent)

    response = client.get(
        reverse("valuestream_map", args=["onboarding"]),
        {"start": "2026-11-10", "end": "2026-11-01"},
    )

    assert response.status_code == 200
    assert "Start on or before the end date." in response.content.decode()


def test_cases_behind_a_figure_hide_what_the_viewer_may_not_see(
    client, hr_agent, it_agent, onboarding
):
    stream, item, record, laptop = onboarding
    _cases(stream, item, 2, stages=[record, laptop])
    (secret,) = _cases(stream, item, 1, confidential=True, stages=[record, laptop])
    url = reverse("valuestream_cases", args=["onboarding"])

    client.force_login(hr_agent)
    as_hr = client.get(url, {"stage": laptop.pk}).content.decode()
    assert secret.reference in as_hr
    assert "Confidential" in as_hr
    assert "&lt;b&gt;bold&lt;/b&gt;" in as_hr  # subjects are escaped

    client.force_login(it_agent)
    as_it = client.get(url, {"stage": laptop.pk}).content.decode()
    assert secret.reference not in as_it
    assert "3 cases of this period are not listed" in as_it


def test_a_stage_of_another_stream_is_not_found(client, hr_agent, onboarding):
    other = StageFactory()
    client.force_login(hr_agent)

    url = reverse("valuestream_cases", args=["onboarding"])
    assert client.get(url, {"stage": other.pk}).status_code == 404
    assert client.get(url, {"handoff": "1-x"}).status_code == 404


def test_too_few_cases_show_no_times_to_who_may_not_see_them(client, executive, onboarding):
    stream, item, record, laptop = onboarding
    _cases(stream, item, 3, stages=[record, laptop])
    client.force_login(executive)

    page = client.get(reverse("valuestream_map", args=["onboarding"])).content.decode()

    assert "too few to show their times" in page
    assert "10 h" not in page
    assert "100%" not in page  # no stage's share of work complete and accurate either


def test_streams_are_private_to_who_may_read_them(client, employee, executive, hr_agent):
    draft = ValueStreamFactory(slug="draft", status=ValueStream.Status.DRAFT, owner=hr_agent)
    client.force_login(employee)
    assert client.get(reverse("valuestream_list")).status_code == 404
    client.force_login(executive)
    assert client.get(reverse("valuestream_map", args=[draft.slug])).status_code == 404
    assert "draft" not in client.get(reverse("valuestream_list")).content.decode().lower()
    client.force_login(hr_agent)
    assert client.get(reverse("valuestream_map", args=[draft.slug])).status_code == 200


def test_the_owner_asks_for_a_recompute_and_others_may_not(
    client, hr_agent, it_agent, onboarding, django_capture_on_commit_callbacks
):
    url = reverse("valuestream_refresh", args=["onboarding"])
    client.force_login(it_agent)
    assert client.post(url).status_code == 403

    client.force_login(hr_agent)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, {"period": "start=2026-11-01&end=2026-11-20"})
    assert response.status_code == 302
    assert response["Location"].endswith("/streams/onboarding/?start=2026-11-01&end=2026-11-20")
    assert len(callbacks) == 1
