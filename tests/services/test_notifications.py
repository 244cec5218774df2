"""E-mails that reach people: approvers, employees; links on the public address; delivery
that one bad message cannot stop."""

import logging
from contextlib import contextmanager

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings
from django.urls import reverse

from esm.models import DepartmentRole
from services import actions, notifications
from services.models import ApprovalStep
from tests.esm.factories import DepartmentRoleFactory, UserFactory
from tests.services.factories import ApprovalStepFactory, CatalogItemFactory

pytestmark = pytest.mark.django_db

PUBLIC = "https://esm.example.com:8123"


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what the actions schedule after commit, letting any error surface."""

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks() as callbacks:
            yield callbacks
        for callback in callbacks:
            callback()

    return run


def _submit(item, user, subject="New laptop"):
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=user,
        subject=subject,
        answers=[],
        submission_key=f"form-{subject}",
    )
    return service_request


def _role_approved_item(department, role=DepartmentRole.Role.MANAGER):
    item = CatalogItemFactory()
    ApprovalStepFactory(
        item=item,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=department,
        role=role,
    )
    return item


def _request_url(service_request):
    return f"{PUBLIC}{reverse('request_detail', args=[service_request.reference])}"


class RefusingBackend(EmailBackend):
    """Local memory, except that the mail server refuses one address."""

    refused = "refused@example.com"

    def send_messages(self, messages):
        for message in messages:
            if self.refused in message.to:
                raise ConnectionRefusedError(f"{self.refused}: mailbox unavailable")
        return super().send_messages(messages)


REFUSING = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}


@override_settings(PORTAL_BASE_URL=f"{PUBLIC}/")
def test_email_links_use_the_portal_base_url(employee, manager, on_commit):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)

    with on_commit():
        _submit(item, employee)

    [message] = mail.outbox
    assert f"{PUBLIC}/approvals/" in message.body
    assert "127.0.0.1:8000" not in message.body


@override_settings(PORTAL_BASE_URL=PUBLIC)
def test_a_named_approver_hears_that_an_approval_waits_for_them(employee, manager, on_commit):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)  # the requester's manager

    with on_commit():
        service_request = _submit(item, employee)

    [message] = mail.outbox
    assert message.to == [manager.email]
    assert message.subject == f"Waiting for your approval: {service_request.reference} New laptop"
    assert f"{PUBLIC}{reverse('approvals')}" in message.body


def test_every_holder_of_the_department_role_hears_but_not_the_requester(
    hr_department, hr_agent, on_commit
):
    first, second = UserFactory(username="hr_boss"), UserFactory(username="hr_deputy")
    for person in (first, second):
        DepartmentRoleFactory(user=person, department=hr_department, role="manager")
    # A manager of the department asking for something does not approve it themselves.
    requester = UserFactory(username="hr_head")
    DepartmentRoleFactory(user=requester, department=hr_department, role="manager")

    with on_commit():
        _submit(_role_approved_item(hr_department), requester)

    assert sorted(message.to[0] for message in mail.outbox) == sorted([first.email, second.email])
    assert all(len(message.to) == 1 for message in mail.outbox)


@override_settings(PORTAL_BASE_URL=PUBLIC)
def test_the_employee_hears_once_every_approval_is_given(
    employee, manager, hr_department, on_commit
):
    hr_manager = UserFactory(username="hr_boss")
    DepartmentRoleFactory(user=hr_manager, department=hr_department, role="manager")
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, position=1)
    ApprovalStepFactory(
        item=item,
        position=2,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=hr_department,
        role=DepartmentRole.Role.MANAGER,
    )
    service_request = _submit(item, employee)
    first, second = service_request.approvals.all()

    with on_commit():
        actions.approval_decide(approval=first, user=manager, approve=True)
    assert [message.to for message in mail.outbox] == [[hr_manager.email]]  # the next approver
    mail.outbox.clear()

    with on_commit():
        actions.approval_decide(approval=second, user=hr_manager, approve=True)

    [message] = mail.outbox
    assert message.to == [employee.email]
    assert message.subject == f"{service_request.reference} is approved"
    assert _request_url(service_request) in message.body


@override_settings(PORTAL_BASE_URL=PUBLIC)
def test_the_employee_hears_a_rejection_and_its_reason(employee, manager, on_commit):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, position=1)
    ApprovalStepFactory(item=item, position=2)
    service_request = _submit(item, employee)
    approval = service_request.approvals.first()

    with on_commit():
        actions.approval_decide(
            approval=approval, user=manager, approve=False, comment="No budget this quarter"
        )

    [message] = mail.outbox
    assert message.to == [employee.email]
    assert message.subject == f"{service_request.reference} was not approved"
    assert "No budget this quarter" in message.body
    assert _request_url(service_request) in message.body


def test_nobody_is_told_about_an_approval_decided_before_the_email_went_out(employee, manager):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)
    service_request = _submit(item, employee)  # its e-mail is scheduled, never run here
    approval = service_request.approvals.get()
    actions.approval_decide(approval=approval, user=manager, approve=True)

    notifications.send("approval_pending", approval.pk)

    assert mail.outbox == []


def test_a_subject_with_a_line_break_is_sent_on_one_line(employee, manager, on_commit):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)

    with on_commit():
        service_request = _submit(item, employee, subject="New laptop\r\nfor the\n new starter")

    [message] = mail.outbox
    assert message.subject == (
        f"Waiting for your approval: {service_request.reference} New laptop for the new starter"
    )
    message.message()  # the headers are valid


@override_settings(MAILERS=REFUSING)
def test_a_refused_address_costs_nobody_else_their_message(hr_department, employee, caplog):
    holders = [
        UserFactory(username="hr_boss"),
        UserFactory(username="refused", email=RefusingBackend.refused),
        UserFactory(username="hr_deputy"),
    ]
    for person in holders:
        DepartmentRoleFactory(user=person, department=hr_department, role="manager")
    service_request = _submit(_role_approved_item(hr_department), employee)

    with caplog.at_level(logging.ERROR, logger="services.notifications"):
        notifications.send("approval_pending", service_request.approvals.get().pk)

    assert sorted(message.to[0] for message in mail.outbox) == [
        "hr_boss@example.com",
        "hr_deputy@example.com",
    ]
    [record] = [record for record in caplog.records if record.name == "services.notifications"]
    assert "approval_pending" in record.getMessage()
    assert RefusingBackend.refused in record.getMessage()
