"""One small enterprise, built once per test module, for the permission matrix and the HR
canary: an ordinary IT request and an HR-confidential case, each with its task, comment,
internal note and attachment; a consult from HR to IT; a knowledge draft; a value stream,
a journey map and a report that read them; the people who ask about them.

Built through the real actions where the actions exist (so the events, the notifications
and the e-mails are those the portal writes), with factories for the configuration.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase

from esm import clock, provisioning
from esm.models import DepartmentRole
from journeys import actions as journey_actions
from journeys.models import Finding, TouchpointCase
from reporting.crossings import crossings_refresh
from services import actions
from services.models import Article, Consult, FulfilmentTask, Queue, ServiceRequest
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    DepartmentRoleFactory,
    ProfileFactory,
    UserFactory,
)
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory
from tests.reporting.factories import MeasureFactory, ReportFactory
from tests.services.factories import ArticleFactory, CatalogItemFactory
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.models import CaseFlow, CaseStage

# Unique strings that must never show where their case may not be seen. The HR canary is in
# every text of the confidential case; the IT one in the ordinary request's, which tells
# the matrix whether a page showed that request's content.
HR_CANARY = "zq-hr-canary-81c4"
IT_CANARY = "zq-it-canary-5e27"
NOTE_CANARY = "zq-note-canary-33d0"  # in the IT request's internal note: staff only
DRAFT_CANARY = "zq-draft-canary-9b1f"
FINDING_CANARY = "zq-finding-canary-d7a2"  # a journey finding: for the map's readers

AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER


@dataclass
class Case:
    service_request: ServiceRequest
    task: FulfilmentTask
    comment_id: int
    note_id: int
    attachment_id: int


@dataclass
class World:
    people: dict[str, Any]
    scim_token: str
    it_case: Case
    hr_case: Case
    consult: Consult
    draft: Article
    stream_slug: str
    journey_slug: str
    report_slug: str
    finding: Finding
    it_queue: Queue
    hr_queue: Queue
    clients: dict[str, Client] = field(default_factory=dict)


def clients_for(people: dict[str, Any], scim_token: str) -> dict[str, Client]:
    """A signed-in client per role, made with the world: a session is a row, and one made
    once serves every test of the module."""
    clients = {role: Client() for role in (*people, "anonymous", "scim")}
    for role, person in people.items():
        clients[role].force_login(person)
    clients["scim"].defaults["HTTP_AUTHORIZATION"] = f"Bearer {scim_token}"
    return clients


def _person(username: str, *, department: Any, roles: tuple = (), **profile: Any) -> Any:
    first, _, rest = username.partition("_")
    user = UserFactory(
        username=username, first_name=first.title(), last_name=f"{(rest or first).title()}-Sec"
    )
    ProfileFactory(user=user, department=department, **profile)
    for role_department, role in roles:
        DepartmentRoleFactory(user=user, department=role_department, role=role)
    return user


def _case(*, item: Any, requester: Any, agent: Any, canary: str, note: str) -> Case:
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=requester,
        subject=f"Help with {canary}",
        answers=[
            {"key": "detail", "label": "Detail", "kind": "text", "value": canary, "display": canary}
        ],
        submission_key=canary,
        uploads=[("", SimpleUploadedFile(f"{canary}.txt", canary.encode(), "text/plain"))],
    )
    task = actions.task_claim(task=service_request.tasks.get(), agent=agent)
    comment = actions.comment_add(
        service_request=service_request, author=requester, body=f"More about {canary}"
    )
    note_comment = actions.task_note(task=task, agent=agent, body=f"Staff note {note}")
    actions.task_reply(task=task, agent=agent, body=f"We are on {canary}")
    return Case(
        service_request=service_request,
        task=task,
        comment_id=comment.pk,
        note_id=note_comment.pk,
        attachment_id=service_request.attachments.get().pk,
    )


def build_world() -> World:
    BusinessCalendarFactory(name="Company", is_default=True)
    it = DepartmentFactory(name="IT", slug="it")
    hr = DepartmentFactory(name="HR", slug="hr")
    facilities = DepartmentFactory(name="Facilities", slug="facilities")
    sales = DepartmentFactory(name="Sales", slug="sales")
    it_queue = Queue.objects.create(department=it, name="IT desk", slug="it-desk", is_default=True)
    hr_queue = Queue.objects.create(
        department=hr, name="HR cases", slug="hr-cases", is_default=True
    )
    Queue.objects.create(department=facilities, name="Workplace", slug="workplace", is_default=True)

    line_manager = _person("line_manager", department=sales)
    people = {
        "employee": _person("employee", department=sales, manager=line_manager),
        "line_manager": line_manager,
        "it_agent": _person("it_agent", department=it, roles=((it, AGENT),)),
        "hr_agent": _person("hr_agent", department=hr, roles=((hr, AGENT),)),
        "facilities_agent": _person(
            "facilities_agent", department=facilities, roles=((facilities, AGENT),)
        ),
        "it_manager": _person("it_manager", department=it, roles=((it, MANAGER),)),
        "executive": _person("executive", department=sales, is_executive=True),
        "staff_admin": UserFactory(username="staff_admin", is_staff=True),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    scim_client, scim_token = provisioning.provisioning_client_new(name="Directory")
    scim_client.save()

    # Notifications go out on commit: run them here, as the portal would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        it_case = _case(
            item=CatalogItemFactory(department=it, name="Laptop", slug="laptop"),
            requester=people["employee"],
            agent=people["it_agent"],
            canary=IT_CANARY,
            note=NOTE_CANARY,
        )
        hr_case = _case(
            item=CatalogItemFactory(
                department=hr, name="Grievance", slug="grievance", is_confidential=True
            ),
            requester=people["employee"],
            agent=people["hr_agent"],
            canary=HR_CANARY,
            note=HR_CANARY,
        )
        consult = actions.task_consult(
            task=hr_case.task,
            agent=people["hr_agent"],
            to_queue=it_queue,
            question="Which laptop does the person use?",
        )

    draft = ArticleFactory(
        department=it,
        title=f"Draft {DRAFT_CANARY}",
        slug="draft-article",
        status=Article.Status.DRAFT,
        body=DRAFT_CANARY,
    )

    stream = ValueStreamFactory(slug="onboarding", owner=people["it_manager"])
    stream.items.add(it_case.service_request.catalog_item, hr_case.service_request.catalog_item)
    stage = StageFactory(stream=stream, department=hr, name="Record")
    now = clock.now()
    for case in (it_case, hr_case):
        flow = CaseFlow.objects.create(
            stream=stream,
            service_request=case.service_request,
            reference=case.service_request.reference,
            is_confidential=case.service_request.is_confidential,
            submitted_at=now - dt.timedelta(hours=5),
            resolved_at=now - dt.timedelta(hours=1),
            lead_minutes=240,
            critical_process_minutes=60,
            variant=str(stage.pk),
            refreshed_at=now,
        )
        CaseStage.objects.create(
            case=flow, stage=stage, started_at=flow.submitted_at, process_minutes=60, received=1
        )

    journey = JourneyMapFactory(slug="new-hire", owner=people["it_manager"])
    journey_stage = JourneyStageFactory(journey=journey)
    touchpoint = TouchpointFactory(stage=journey_stage, name="Raise a grievance")
    for case in (it_case, hr_case):
        touchpoint.items.add(case.service_request.catalog_item)
        TouchpointCase.objects.create(
            touchpoint=touchpoint,
            service_request=case.service_request,
            is_confidential=case.service_request.is_confidential,
            submitted_at=now - dt.timedelta(hours=5),
            resolved_at=now - dt.timedelta(hours=1),
            resolution_minutes=240,
            refreshed_at=now,
        )

    finding = journey_actions.finding_save(
        touchpoint=touchpoint,
        by=people["it_manager"],
        kind=Finding.Kind.PAIN_POINT,
        title=f"Waiting {FINDING_CANARY}",
        description="People wait for an answer.",
    )

    # The collaboration map reads its rollup of the log's handoffs and consults.
    crossings_refresh(full=True)

    report = ReportFactory(
        slug="exec-report", owner=people["it_manager"], measures=[MeasureFactory()]
    )

    return World(
        people=people,
        scim_token=scim_token,
        it_case=it_case,
        hr_case=hr_case,
        consult=consult,
        draft=draft,
        stream_slug=stream.slug,
        journey_slug=journey.slug,
        report_slug=report.slug,
        finding=finding,
        it_queue=it_queue,
        hr_queue=hr_queue,
        clients=clients_for(people, scim_token),
    )
