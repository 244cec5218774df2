"""Hostile text written through the portal's own actions never runs where it is read back.

The shared world's IT request goes through its life with hostile words in everything a person
writes on the way: a consult's question and answer, a question to the employee and the
employee's answer, a hand-off reason, a send-back note, a resolution, a rating's comment; a
second request is cancelled with a hostile reason, a third approved and a fourth rejected
with hostile comments; a pain point goes on the journey and a value stream's outcome is
reworded, so the configuration change lands in the audit log. The IT agent's names and HR's
come from the directory as spreadsheet formulas and a script.

These land in the event payloads and the records, and are then read back on the request's
timeline (employee and agent), the task pages, the value stream's drill-down, the
collaboration hand-off page, the journey pages and the audit page; in the e-mails the actions
sent; and in the CSV and XES exports. Each page is parsed: nothing may run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from esm.models import Department
from journeys import actions as journey_actions
from journeys.models import Finding, Touchpoint
from services import actions
from services.models import Approval, Queue, ServiceRequest
from tests.security.hostile import FORMULA, MARKER, PAYLOADS, csv_cells, executable_markup
from tests.security.world import World
from tests.services.factories import ApprovalStepFactory, CatalogItemFactory
from valuestreams import actions as stream_actions
from valuestreams import rollups
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db

# A handful, one per way to run: a script element, an event handler breaking out of an
# attribute, a markdown link to `javascript:`, a quoted-attribute breakout, a formula.
HOSTILE = "\n".join(PAYLOADS[index] for index in (0, 1, 4, 6, 11))


@dataclass
class Written:
    pages: list[tuple[str, str]]  # (persona, path) that read the hostile text back
    outbox: list[mail.EmailMessage]


def _submit(world: World, item: Any, key: str) -> ServiceRequest:
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=world.people["employee"],
        subject=HOSTILE[:200],
        answers=[],
        submission_key=key,
    )
    return service_request


def _life_of_the_it_request(world: World) -> tuple[int, int]:
    """The IT request through consult, question, hand-off, send-back, resolution and rating;
    the ids of the task HR received and of the consult's task."""
    people = world.people
    it_agent, hr_agent = people["it_agent"], people["hr_agent"]
    task = world.it_case.task
    workplace = Queue.objects.get(slug="workplace")
    consult = actions.task_consult(task=task, agent=it_agent, to_queue=workplace, question=HOSTILE)
    actions.consult_answer(consult=consult, agent=people["facilities_agent"], answer=HOSTILE)
    task.refresh_from_db()
    actions.task_ask(task=task, agent=it_agent, question=HOSTILE)
    actions.comment_add(
        service_request=task.service_request, author=people["employee"], body=HOSTILE
    )
    task.refresh_from_db()
    received = actions.task_hand_off(
        task=task, agent=it_agent, to_queue=world.hr_queue, reason=HOSTILE
    )
    received = actions.task_claim(task=received, agent=hr_agent)
    actions.task_send_back(task=received, agent=hr_agent, missing=HOSTILE)
    task.refresh_from_db()
    actions.task_resolve(task=task, agent=it_agent, resolution=HOSTILE)
    actions.service_request_rate(
        service_request=task.service_request, user=people["employee"], score=2, comment=HOSTILE
    )
    return received.pk, consult.consult_task_id


@pytest.fixture(scope="module")
def written(world: World, django_db_blocker) -> Written:
    people = world.people
    it = world.it_queue.department
    with django_db_blocker.unblock():
        # Names come from the directory as they are: formulas and a script.
        get_user_model().objects.filter(pk=people["it_agent"].pk).update(
            username=f"+{MARKER}", first_name=PAYLOADS[11][:150], last_name=PAYLOADS[0]
        )
        Department.objects.filter(pk=world.hr_queue.department_id).update(name=PAYLOADS[11])
        sent_before = len(mail.outbox)
        with TestCase.captureOnCommitCallbacks(execute=True):
            received_id, consult_task_id = _life_of_the_it_request(world)

            laptop = world.it_case.service_request.catalog_item
            # One more laptop, resolved: a case of the value stream with a hostile subject.
            resolved = _submit(world, laptop, "hostile-resolved")
            task = actions.task_claim(task=resolved.tasks.get(), agent=people["it_agent"])
            actions.task_resolve(task=task, agent=people["it_agent"], resolution=HOSTILE)
            cancelled = _submit(world, laptop, "hostile-cancel")
            actions.service_request_cancel(
                service_request=cancelled, user=people["employee"], reason=HOSTILE
            )

            approved_item = CatalogItemFactory(department=it, service__department=it)
            ApprovalStepFactory(item=approved_item)
            approved = _submit(world, approved_item, "hostile-approved")
            rejected = _submit(world, approved_item, "hostile-rejected")
            for service_request, approve in ((approved, True), (rejected, False)):
                actions.approval_decide(
                    approval=service_request.approvals.get(state=Approval.State.PENDING),
                    user=people["line_manager"],
                    approve=approve,
                    comment=HOSTILE,
                )

        touchpoint = Touchpoint.objects.get(stage__journey__slug=world.journey_slug)
        journey_actions.finding_save(
            touchpoint=touchpoint,
            by=people["it_manager"],
            kind=Finding.Kind.PAIN_POINT,
            title=HOSTILE[:200],
            description=HOSTILE,
        )
        stream = ValueStream.objects.get(slug=world.stream_slug)
        stream_actions.value_stream_update(
            stream=stream,
            by=people["it_manager"],
            name=stream.name,
            slug=stream.slug,
            outcome=HOSTILE[:255],
            customer=stream.customer,
            status=stream.status,
            items=stream.items.all(),
        )
        # The stream reads its cases again from the log: the hostile requests are among them.
        rollups.value_stream_refresh(stream=stream, full=True)
        outbox = list(mail.outbox[sent_before:])

    reference = world.it_case.service_request.reference
    stream_slug, journey = world.stream_slug, world.journey_slug
    return Written(
        pages=[
            ("employee", reverse("request_detail", args=[reference])),
            ("it_agent", reverse("request_detail", args=[reference])),
            ("it_agent", reverse("task_detail", args=[world.it_case.task.pk])),
            ("hr_agent", reverse("task_detail", args=[received_id])),
            ("facilities_agent", reverse("task_detail", args=[consult_task_id])),
            ("employee", reverse("request_detail", args=[cancelled.reference])),
            ("employee", reverse("request_detail", args=[approved.reference])),
            ("employee", reverse("request_detail", args=[rejected.reference])),
            ("it_manager", reverse("valuestream_map", args=[stream_slug])),
            ("it_manager", reverse("valuestream_cases", args=[stream_slug])),
            ("it_manager", reverse("collaboration_edge", args=["it", "hr"])),
            ("it_manager", reverse("journey_map", args=[journey])),
            ("it_manager", reverse("journey_touchpoint", args=[journey, touchpoint.pk])),
            ("staff_admin", reverse("audit_log")),
        ],
        outbox=outbox,
    )


def test_hostile_words_in_events_run_on_no_page_that_reads_them(world, written):
    problems, shown = {}, []
    for persona, path in written.pages:
        response = world.clients[persona].get(path)
        assert response.status_code == 200, f"{persona} {path}: {response.status_code}"
        html = response.content.decode()
        if found := executable_markup(html):
            problems[f"{persona} {path}"] = found
        if MARKER in html:
            shown.append((persona, path))

    assert problems == {}
    assert shown == written.pages  # the words are really there on every page, as text


def test_e_mails_the_actions_sent_carry_hostile_words_as_text(written):
    assert written.outbox
    for message in written.outbox:
        assert "\n" not in message.subject
        assert "\r" not in message.subject
        assert message.content_subtype == "plain"
        for content, kind in getattr(message, "alternatives", []):
            if "html" in kind:
                assert executable_markup(content) == []
    assert any(MARKER in message.body for message in written.outbox)


def test_the_exports_of_the_stream_carry_hostile_names_harmlessly(world, written):
    client, slug = world.clients["it_manager"], world.stream_slug

    csv_response = client.get(reverse("valuestreams-api:stream-export-csv", args=[slug]))
    xes_response = client.get(reverse("valuestreams-api:stream-export-xes", args=[slug]))

    assert csv_response.status_code == 200
    cells = csv_cells(b"".join(csv_response.streaming_content).decode())
    assert [cell for cell in cells if FORMULA.match(cell)] == []
    assert any(MARKER in cell for cell in cells)
    assert xes_response.status_code == 200
    root = ET.fromstring(b"".join(xes_response.streaming_content))  # noqa: S314  (our own export)
    assert any(MARKER in element.get("value", "") for element in root.iter())
