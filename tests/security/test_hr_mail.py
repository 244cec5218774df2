"""The HR canary in mail: an HR case that goes through everything that e-mails someone (an
approval by the requester's line manager, an assignment, replies and a question, a consult
to IT assigned to one of its agents, missed targets, a report e-mailed to an executive) is
named with its words only in mail to the requester and HR's staff: subjects, bodies, HTML
and attachments alike."""

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from esm import clock
from esm.models import DepartmentRole
from reporting.delivery import subscription_send
from reporting.models import Audience, Subscription
from services import actions
from services.models import Consult, FulfilmentTask
from tests.esm.factories import BusinessCalendarFactory, DepartmentRoleFactory, UserFactory
from tests.reporting.factories import AudienceFactory, MeasureFactory, ReportFactory
from tests.security.world import HR_CANARY
from tests.services.factories import (
    ApprovalStepFactory,
    CatalogItemFactory,
    QueueFactory,
    SlaPolicyFactory,
    SlaTargetFactory,
)

pytestmark = pytest.mark.django_db


def _texts(message: mail.EmailMessage) -> str:
    """Everything a recipient reads: subject, body, HTML alternatives, text attachments."""
    parts = [message.subject, message.body]
    parts += [content for content, _ in getattr(message, "alternatives", [])]
    parts += [
        content.decode(errors="replace") if isinstance(content, bytes) else str(content)
        for _, content, _ in (a for a in message.attachments if isinstance(a, tuple))
    ]
    return "\n".join(parts)


@pytest.fixture
def hr_manager(hr_department):
    person = UserFactory(username="hr_manager")
    DepartmentRoleFactory(user=person, department=hr_department, role=DepartmentRole.Role.MANAGER)
    return person


def _life_of_an_hr_case(run, people, *, hr_department, it_department):
    """Everything that e-mails someone, on one HR case, each step's notifications sent as
    after its commit (`run`); the case."""
    employee, manager, executive = people["employee"], people["manager"], people["executive"]
    hr_agent, hr_manager = people["hr_agent"], people["hr_manager"]
    it_agent, it_manager = people["it_agent"], people["it_manager"]
    BusinessCalendarFactory(name="Company", is_default=True)
    policy = SlaPolicyFactory()
    SlaTargetFactory(policy=policy, response_minutes=60, resolution_minutes=480)
    item = CatalogItemFactory(
        department=hr_department, name="Grievance", is_confidential=True, sla_policy=policy
    )
    ApprovalStepFactory(item=item)  # the requester's line manager
    QueueFactory(department=hr_department, is_default=True)
    it_queue = QueueFactory(department=it_department, is_default=True)
    report = ReportFactory(
        audience=AudienceFactory(members=Audience.Members.EXECUTIVES), measures=[MeasureFactory()]
    )
    subscription = Subscription.objects.create(
        report=report, subscriber=executive, frequency=Subscription.Frequency.WEEKLY
    )

    with run():
        case, _ = actions.service_request_submit(
            item=item,
            raised_by=employee,
            subject=f"Help with {HR_CANARY}",
            answers=[
                {
                    "key": "d",
                    "label": "Detail",
                    "kind": "text",
                    "value": HR_CANARY,
                    "display": HR_CANARY,
                }
            ],
            submission_key=HR_CANARY,
            uploads=[("", SimpleUploadedFile(f"{HR_CANARY}.txt", b"x", "text/plain"))],
        )
    with run():
        actions.approval_decide(
            approval=case.approvals.get(), user=manager, approve=True, comment="Fine"
        )
    task = case.tasks.get()
    with run():
        task = actions.task_assign(task=task, assignee=hr_agent, by=hr_manager)
    with run():
        actions.task_reply(task=task, agent=hr_agent, body=f"We are on {HR_CANARY}")
    with run():
        actions.task_ask(task=task, agent=hr_agent, question=f"When did {HR_CANARY} start?")
    with run():
        actions.comment_add(service_request=case, author=employee, body=f"Since {HR_CANARY}")
    with run():
        consult = actions.task_consult(
            task=FulfilmentTask.objects.get(pk=task.pk),
            agent=hr_agent,
            to_queue=it_queue,
            question="Which laptop does the person use?",
        )
    consult_task = Consult.objects.get(pk=consult.pk).consult_task
    with run():
        actions.task_assign(task=consult_task, assignee=it_agent, by=it_manager)
    with run():
        actions.sla_breach_sweep(now=clock.now() + dt.timedelta(days=60))
    assert subscription_send(subscription, now=clock.now())
    return case


def test_the_hr_canary_is_mailed_only_to_the_requester_and_hr_staff(
    employee, manager, hr_agent, hr_manager, it_agent, department_manager, executive,
    hr_department, it_department, django_capture_on_commit_callbacks,
):  # fmt: skip
    people = {
        "employee": employee, "manager": manager, "executive": executive,
        "hr_agent": hr_agent, "hr_manager": hr_manager,
        "it_agent": it_agent, "it_manager": department_manager,
    }  # fmt: skip
    mail.outbox = []

    case = _life_of_an_hr_case(
        lambda: django_capture_on_commit_callbacks(execute=True),
        people,
        hr_department=hr_department,
        it_department=it_department,
    )

    may_read = {employee.email, hr_agent.email, hr_manager.email}
    to_others = [m for m in mail.outbox if set(m.to) - may_read]

    # The check is only worth what the mail covers: each of the others heard about this
    # very case (its reference, the one thing they may be told), or got the report.
    assert sorted(address for m in to_others for address in m.to) == sorted(
        [manager.email, it_agent.email, department_manager.email, executive.email]
    )
    assert all(case.reference in m.subject for m in to_others if m.to != [executive.email])
    assert [(m.to, m.subject) for m in to_others if HR_CANARY in _texts(m)] == []
