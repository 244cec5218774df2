"""E-mail in, end to end: messages delivered into a real IMAP server (dovecot), fetched by
the beat job's code, and the portal's answers caught by a real SMTP server (aiosmtpd)."""

import datetime as dt
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from esm import clock
from services import actions, tasks
from services.mail import fetch
from services.models import (
    Attachment,
    Comment,
    FormField,
    InboundAddress,
    InboundMessage,
    OutboundMessageId,
    ServiceRequest,
)
from tests.services.factories import CatalogItemFactory, FormFieldFactory, ServiceFactory

pytestmark = pytest.mark.django_db

Status = InboundMessage.Status
IT_ADDRESS, HR_ADDRESS = "it@example.com", "hr@example.com"


def _item(department, *, is_confidential=False, name="Ask IT a question"):
    item = CatalogItemFactory(
        service=ServiceFactory(department=department),
        name=name,
        is_confidential=is_confidential,
    )
    FormFieldFactory(
        item=item,
        key="description",
        label="Description",
        kind=FormField.Kind.LONG_TEXT,
        required=True,
    )
    return item


@pytest.fixture
def it_address(it_department, mailbox, settings):
    settings.MAIL_IN_MAILBOXES = {"it": mailbox.settings()}
    return InboundAddress.objects.create(
        address=IT_ADDRESS,
        department=it_department,
        catalog_item=_item(it_department),
        mailbox="it",
    )


@pytest.fixture
def hr_address(hr_department, mailbox, settings):
    settings.MAIL_IN_MAILBOXES = {"it": mailbox.settings()}
    return InboundAddress.objects.create(
        address=HR_ADDRESS,
        department=hr_department,
        catalog_item=_item(hr_department, is_confidential=True, name="Ask HR"),
        mailbox="it",
        folder="HR",
    )


def _mail(
    sender,
    subject,
    body,
    *,
    to=IT_ADDRESS,
    headers=None,
    files=(),
    message_id=None,
):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, content_type, content in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def _fetch(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return fetch.mailboxes_fetch(**kwargs)


def _deliver_and_fetch(mailbox, message, capture, folder="INBOX"):
    mailbox.append(message.as_bytes(), folder=folder)
    (inbound,) = _fetch(capture)
    return inbound


def test_a_message_raises_a_request_from_its_sender_and_is_answered_with_its_reference(
    it_address, mailbox, employee, smtp_sink, django_capture_on_commit_callbacks
):
    message = _mail(
        "Employee <EMPLOYEE@Example.com>", "My laptop will not start", "It beeps three times."
    )

    inbound = _deliver_and_fetch(mailbox, message, django_capture_on_commit_callbacks)

    service_request = ServiceRequest.objects.get()
    assert (service_request.requester, service_request.raised_by) == (employee, employee)
    assert service_request.catalog_item == it_address.catalog_item
    assert service_request.subject == "My laptop will not start"
    assert [(a["key"], a["value"]) for a in service_request.answers] == [
        ("description", "It beeps three times.")
    ]
    assert (inbound.status, inbound.service_request, inbound.sender) == (
        Status.REQUEST_RAISED,
        service_request,
        "employee@example.com",
    )
    assert inbound.message_id == message["Message-ID"]
    assert bytes(inbound.raw).replace(b"\r\n", b"\n") == message.as_bytes()
    (answer,) = smtp_sink.received
    assert answer["To"] == "employee@example.com"
    assert answer["Subject"] == f"{service_request.reference} received: My laptop will not start"
    assert answer["In-Reply-To"] == message["Message-ID"]
    assert answer["Reply-To"] == IT_ADDRESS
    assert answer["Auto-Submitted"] == "auto-replied"
    assert OutboundMessageId.objects.get().message_id == answer["Message-ID"]
    assert OutboundMessageId.objects.get().service_request == service_request
    assert mailbox.unseen() == []


def _raise_by_mail(mailbox, sender, capture, subject="Printer jammed", body="Paper stuck."):
    message = _mail(sender, subject, body)
    _deliver_and_fetch(mailbox, message, capture)
    return ServiceRequest.objects.get(), message


def test_a_reply_to_the_portals_mail_becomes_a_comment_without_the_quoted_text(
    it_address, mailbox, employee, smtp_sink, django_capture_on_commit_callbacks
):
    service_request, _ = _raise_by_mail(mailbox, employee.email, django_capture_on_commit_callbacks)
    (acknowledgment,) = smtp_sink.received
    reply = _mail(
        employee.email,
        "Re: your request",  # no reference: the headers thread it
        "It jammed again this morning.\n\n"
        "On Mon, 30 Nov 2026 at 10:00, ESM Portal <portal@localhost> wrote:\n"
        "> We received your message as request.\n> Follow it here.\n",
        headers={
            "In-Reply-To": acknowledgment["Message-ID"],
            "References": acknowledgment["Message-ID"],
        },
    )

    inbound = _deliver_and_fetch(mailbox, reply, django_capture_on_commit_callbacks)

    comment = Comment.objects.get()
    assert (comment.service_request, comment.author) == (service_request, employee)
    assert comment.body == "It jammed again this morning."
    assert (inbound.status, inbound.service_request, inbound.comment) == (
        Status.COMMENTED,
        service_request,
        comment,
    )
    assert ServiceRequest.objects.count() == 1


def test_a_reply_threads_by_the_reference_in_its_subject_and_by_earlier_messages(
    it_address, mailbox, employee, it_agent, smtp_sink, django_capture_on_commit_callbacks
):
    service_request, first = _raise_by_mail(
        mailbox, employee.email, django_capture_on_commit_callbacks
    )
    by_reference = _mail(
        it_agent.email, f"RE: {service_request.reference} printer", "Try the rear tray."
    )
    by_earlier_message = _mail(
        employee.email, "Re: Printer", "Thanks!", headers={"References": first["Message-ID"]}
    )

    _deliver_and_fetch(mailbox, by_reference, django_capture_on_commit_callbacks)
    _deliver_and_fetch(mailbox, by_earlier_message, django_capture_on_commit_callbacks)

    assert list(
        service_request.comments.order_by("pk").values_list("author__username", "body")
    ) == [("it_agent", "Try the rear tray."), ("employee", "Thanks!")]
    assert ServiceRequest.objects.count() == 1
    # The agent answered as from the task page: their response counts, the employee is told.
    assert service_request.tasks.get().responded_at is not None
    told = [sent for sent in smtp_sink.received if "a reply from" in sent["Subject"]]
    assert [sent["To"] for sent in told] == [employee.email]
    assert "Try the rear tray." in told[0].get_payload(decode=True).decode()


def test_a_reply_to_a_resolved_request_within_the_window_reopens_it(
    it_address, mailbox, employee, it_agent, smtp_sink, django_capture_on_commit_callbacks
):
    with clock.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)):
        service_request, _ = _raise_by_mail(
            mailbox, employee.email, django_capture_on_commit_callbacks
        )
        actions.service_request_resolve(
            service_request=service_request, user=it_agent, resolution="Cleared the jam."
        )
    reply = _mail(employee.email, f"Re: {service_request.reference} is resolved", "Jammed again.")

    with clock.travel(dt.datetime(2026, 11, 8, 10, 0, tzinfo=dt.UTC)):
        inbound = _deliver_and_fetch(mailbox, reply, django_capture_on_commit_callbacks)

    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.IN_PROGRESS
    assert inbound.status == Status.REOPENED
    assert service_request.comments.get().body == "Jammed again."


def test_a_reply_after_the_reopen_window_changes_nothing_and_says_why(
    it_address, mailbox, employee, it_agent, smtp_sink, django_capture_on_commit_callbacks
):
    with clock.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)):
        service_request, _ = _raise_by_mail(
            mailbox, employee.email, django_capture_on_commit_callbacks
        )
        actions.service_request_resolve(
            service_request=service_request, user=it_agent, resolution="Cleared the jam."
        )
    smtp_sink.received.clear()
    reply = _mail(employee.email, f"Re: {service_request.reference} is resolved", "Jammed again.")

    with clock.travel(dt.datetime(2026, 11, 12, 10, 0, tzinfo=dt.UTC)):
        inbound = _deliver_and_fetch(mailbox, reply, django_capture_on_commit_callbacks)

    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert not service_request.comments.exists()
    assert inbound.status == Status.REFUSED
    (answer,) = smtp_sink.received
    assert "within 7 days" in answer.get_payload(decode=True).decode()
    assert answer["In-Reply-To"] == reply["Message-ID"]


def test_an_unknown_sender_gets_a_polite_answer_and_nothing_is_created(
    it_address, mailbox, smtp_sink, settings, django_capture_on_commit_callbacks
):
    message = _mail("Stranger <stranger@elsewhere.example>", "Hello", "Can you help?")

    inbound = _deliver_and_fetch(mailbox, message, django_capture_on_commit_callbacks)

    assert not ServiceRequest.objects.exists()
    assert inbound.status == Status.UNKNOWN_SENDER
    (answer,) = smtp_sink.received
    assert answer["To"] == "stranger@elsewhere.example"
    assert answer["Subject"] == "Re: Hello"
    assert answer["Auto-Submitted"] == "auto-replied"
    text = answer.get_payload(decode=True).decode()
    assert "raise your request in the portal" in text
    assert f"{settings.PORTAL_BASE_URL}/" in text


def test_a_reply_from_someone_who_may_not_see_the_request_creates_nothing(
    it_address,
    hr_address,
    mailbox,
    employee,
    it_agent,
    smtp_sink,
    django_capture_on_commit_callbacks,
):
    message = _mail(employee.email, "A private matter", "About my contract.", to=HR_ADDRESS)
    mailbox.append(message.as_bytes(), folder="HR")
    _fetch(django_capture_on_commit_callbacks)
    confidential = ServiceRequest.objects.get()
    smtp_sink.received.clear()
    prying = _mail(it_agent.email, f"Re: {confidential.reference}", "What is this about?")

    inbound = _deliver_and_fetch(mailbox, prying, django_capture_on_commit_callbacks)

    assert inbound.status == Status.NOT_PERMITTED
    assert inbound.service_request is None
    assert not Comment.objects.exists()
    (answer,) = smtp_sink.received
    assert answer["To"] == it_agent.email
    assert "A private matter" not in answer.as_string()
    assert "contract" not in answer.as_string()


NOISE = {
    "auto-submitted": {"headers": {"Auto-Submitted": "auto-replied"}},
    "bulk": {"headers": {"Precedence": "bulk"}},
    "list": {"headers": {"Precedence": "list"}},
    "out of office": {"subject": "Out of Office: back on Monday"},
    "automatic reply": {"subject": "Automatic reply: Printer"},
    "autoreply header": {"headers": {"X-Autoreply": "yes"}},
    "mailer-daemon": {"sender": "MAILER-DAEMON@mail.example.com"},
    "null return path": {"headers": {"Return-Path": "<>"}},
    "portal itself": {"sender": "portal@localhost"},
    "another inbound address": {"sender": "IT@example.com"},
}


@pytest.mark.parametrize("noise", NOISE.values(), ids=NOISE.keys())
def test_automatic_and_looping_mail_is_refused_kept_and_never_answered(
    noise, it_address, mailbox, employee, smtp_sink, django_capture_on_commit_callbacks
):
    message = _mail(
        noise.get("sender", employee.email),
        noise.get("subject", "Printer"),
        "Text",
        headers=noise.get("headers"),
    )

    inbound = _deliver_and_fetch(mailbox, message, django_capture_on_commit_callbacks)

    assert inbound.status == Status.NOISE
    assert inbound.reason
    assert not ServiceRequest.objects.exists()
    assert smtp_sink.received == []
    assert mailbox.unseen() == []


def test_a_delivery_status_report_is_refused_as_a_bounce(
    it_address, mailbox, employee, smtp_sink, django_capture_on_commit_callbacks
):
    raw = (
        f"From: {employee.email}\r\nTo: {IT_ADDRESS}\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <bounce-1@mail.example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n"
    ).encode()
    mailbox.append(raw)

    (inbound,) = _fetch(django_capture_on_commit_callbacks)

    assert (inbound.status, inbound.reason) == (Status.NOISE, "It is a delivery or read report.")
    assert not ServiceRequest.objects.exists()
    assert smtp_sink.received == []


def test_a_sender_flooding_an_address_is_refused_past_the_hourly_limit(
    it_address, mailbox, employee, settings, smtp_sink, django_capture_on_commit_callbacks
):
    settings.MAIL_IN_PER_SENDER_PER_HOUR = 2
    for number in range(3):
        mailbox.append(_mail(employee.email, f"Message {number}", "Text").as_bytes())

    received = _fetch(django_capture_on_commit_callbacks)

    assert [inbound.status for inbound in received] == [
        Status.REQUEST_RAISED,
        Status.REQUEST_RAISED,
        Status.FLOOD,
    ]
    assert ServiceRequest.objects.count() == 2
    # Only the two requests are acknowledged: a flood gets no answer.
    assert len(smtp_sink.received) == 2


def test_a_malformed_message_is_kept_for_a_person_and_shown_in_the_admin(
    it_address, mailbox, client, superuser, smtp_sink, django_capture_on_commit_callbacks
):
    raw = b"Subject: no sender at all\r\nTo: it@example.com\r\n\r\nWho wrote this?\r\n"
    mailbox.append(raw)

    (inbound,) = _fetch(django_capture_on_commit_callbacks)

    assert inbound.status == Status.MALFORMED
    assert inbound.reason == "The message has no readable sender (From)."
    assert bytes(inbound.raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert not ServiceRequest.objects.exists()
    assert smtp_sink.received == []
    assert mailbox.unseen() == []
    client.force_login(superuser)
    listing = client.get(
        reverse("admin:services_inboundmessage_changelist"), {"status": "malformed"}
    )
    assert listing.status_code == 200
    assert "no sender at all" in listing.content.decode()
    page = client.get(reverse("admin:services_inboundmessage_change", args=[inbound.pk]))
    assert "Who wrote this?" in page.content.decode()


def test_messages_about_a_confidential_department_are_hidden_from_other_admins(
    hr_address, mailbox, employee, hr_agent, client, superuser, django_capture_on_commit_callbacks
):
    mailbox.append(_mail(employee.email, "My sick leave", "Note.", to=HR_ADDRESS).as_bytes(), "HR")
    (inbound,) = _fetch(django_capture_on_commit_callbacks)
    hr_agent.is_staff = True
    hr_agent.is_superuser = True
    hr_agent.save(update_fields=["is_staff", "is_superuser"])
    listing = reverse("admin:services_inboundmessage_changelist")
    detail = reverse("admin:services_inboundmessage_change", args=[inbound.pk])

    client.force_login(superuser)
    assert "sick leave" not in client.get(listing).content.decode()
    assert client.get(detail).status_code == 404  # as if it did not exist
    client.force_login(hr_agent)
    assert "sick leave" in client.get(listing).content.decode()
    assert client.get(detail).status_code == 200


def test_attachments_follow_the_upload_rules_and_refused_ones_are_listed_in_a_comment(
    it_address, mailbox, employee, settings, django_capture_on_commit_callbacks
):
    settings.ATTACHMENT_MAX_BYTES = 1000
    message = _mail(
        employee.email,
        "Screen flickers",
        "See the files.",
        files=[
            ("screen.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 96),
            ("huge.pdf", "application/pdf", b"%PDF" + b"0" * 2000),
            ("tool.exe", "application/octet-stream", b"MZ"),
        ],
    )

    _deliver_and_fetch(mailbox, message, django_capture_on_commit_callbacks)

    service_request = ServiceRequest.objects.get()
    assert list(Attachment.objects.values_list("name", "size")) == [("screen.png", 104)]
    note = service_request.comments.get()
    assert note.author == employee
    assert note.body.startswith("Files in the e-mail that were not attached:")
    assert "huge.pdf is 0.0 MB" in note.body
    assert "tool.exe: .exe files are not accepted" in note.body


@pytest.mark.django_db(transaction=True)
def test_a_fetch_killed_between_commit_and_mark_seen_creates_one_request(
    it_address, mailbox, employee
):
    mailbox.append(_mail(employee.email, "Keyboard", "Keys stick.").as_bytes())

    def die(inbound):
        raise SystemExit("killed after the commit, before the message was marked seen")

    with pytest.raises(SystemExit):
        fetch.mailboxes_fetch(after_receive=die)
    assert ServiceRequest.objects.count() == 1
    assert len(mailbox.unseen()) == 1

    (again,) = fetch.mailboxes_fetch()

    assert ServiceRequest.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    assert again.service_request == ServiceRequest.objects.get()
    assert mailbox.unseen() == []


def test_mail_about_a_confidential_case_carries_no_case_content(
    hr_address, mailbox, employee, hr_agent, smtp_sink, django_capture_on_commit_callbacks
):
    message = _mail(employee.email, "My sick leave", "I have a medical note.", to=HR_ADDRESS)
    mailbox.append(message.as_bytes(), folder="HR")
    _fetch(django_capture_on_commit_callbacks)
    service_request = ServiceRequest.objects.get()
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=hr_agent)
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_reply(task=task, agent=hr_agent, body="Your leave is recorded.")

    assert service_request.is_confidential
    assert len(smtp_sink.received) == 2  # the acknowledgment, then the reply
    link = f"/requests/{service_request.reference}/"
    for sent in smtp_sink.received:
        text = sent["Subject"] + sent.get_payload(decode=True).decode()
        assert service_request.reference in sent["Subject"]
        assert link in text
        assert "sick leave" not in text
        assert "medical" not in text
        assert "leave is recorded" not in text


def test_the_admin_refuses_an_item_an_e_mail_cannot_answer(it_department, client, superuser):
    item = _item(it_department)
    FormFieldFactory(item=item, key="asset", label="Asset tag", required=True)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:services_inboundaddress_add"),
        {
            "address": "desk@example.com",
            "department": it_department.pk,
            "catalog_item": item.pk,
            "mailbox": "it",
            "folder": "INBOX",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "Asset tag" in response.content.decode()
    assert not InboundAddress.objects.exists()


def test_the_admin_keeps_an_item_of_another_department_off_an_address(it_department, hr_department):
    address = InboundAddress(
        address="desk@example.com",
        department=it_department,
        catalog_item=_item(hr_department),
        mailbox="it",
    )

    with pytest.raises(ValidationError, match="address's own department"):
        address.full_clean()


def test_a_message_without_a_message_id_is_received_once_by_its_digest(
    it_department, employee, settings
):
    settings.MAIL_IN_MAILBOXES = {}
    address = InboundAddress.objects.create(
        address=IT_ADDRESS,
        department=it_department,
        catalog_item=_item(it_department),
        mailbox="it",
    )
    raw = f"From: {employee.email}\r\nSubject: No id\r\n\r\nHello\r\n".encode()

    first, created = actions.inbound_message_receive(address=address, raw=raw)
    again, created_again = actions.inbound_message_receive(address=address, raw=raw)

    assert (created, created_again) == (True, False)
    assert first == again
    assert first.message_id.startswith("<sha256-")
    assert ServiceRequest.objects.count() == 1


def test_an_html_only_message_answers_the_form_with_its_text(it_department, employee):
    address = InboundAddress.objects.create(
        address=IT_ADDRESS,
        department=it_department,
        catalog_item=_item(it_department),
        mailbox="it",
    )
    message = EmailMessage()
    message["From"], message["Subject"] = employee.email, "Monitor"
    message.set_content("<p>The <b>monitor</b> flickers.</p><style>p{}</style>", subtype="html")

    actions.inbound_message_receive(address=address, raw=message.as_bytes())

    (answer,) = ServiceRequest.objects.get().answers
    assert answer["value"] == "The monitor flickers."


def test_the_beat_job_fetches_and_a_mailbox_it_cannot_reach_does_not_stop_the_others(
    it_address, mailbox, employee, hr_department, settings, django_capture_on_commit_callbacks
):
    InboundAddress.objects.create(
        address=HR_ADDRESS,
        department=hr_department,
        catalog_item=_item(hr_department, name="Ask HR"),
        mailbox="nowhere",  # no MAIL_IN_NOWHERE_HOST in the environment
    )
    mailbox.append(_mail(employee.email, "Mouse", "It squeaks.").as_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        fetched = tasks.mail_fetch_task.delay().get()

    assert fetched == 1
    assert ServiceRequest.objects.get().subject == "Mouse"
    assert settings.CELERY_BEAT_SCHEDULE["mail-in-fetch"]["task"] == tasks.mail_fetch_task.name
