"""The actions library: each action's effect, and one effect however often a step runs."""

import datetime as dt
import threading
import uuid
import zoneinfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from esm.models import Event, EventKind
from services import actions
from services.automation import registry
from services.automation.actions.it_create_account import free_username, username_base
from services.models import (
    AppEntitlement,
    Badge,
    Desk,
    DeskBooking,
    DirectoryAccount,
    EmployeeRecord,
    OneTimeLink,
    OrientationEvent,
    ParkingReservation,
    PlanStep,
    SentMessage,
    ServiceRequest,
    StepRun,
)
from tests.esm.factories import (
    BusinessCalendarFactory,
    HolidayFactory,
    LocationFactory,
    ProfileFactory,
    UserFactory,
)
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

State = StepRun.State
LONDON = zoneinfo.ZoneInfo("Europe/London")
ACTION_KEYS = {
    "it.create_account",
    "it.grant_access",
    "it.reset_password",
    "it.disable_account",
    "hr.create_employee_record",
    "hr.send_welcome_pack",
    "hr.schedule_orientation",
    "facilities.book_desk",
    "facilities.release_desk",
    "facilities.issue_badge",
    "facilities.deactivate_badge",
    "facilities.reserve_parking",
    "generic.send_email",
    "generic.webhook",
    "generic.wait_until",
}
NEW_HIRE = {
    "first_name": "Kim",
    "last_name": "Tan",
    "start_date": "2030-01-05",  # a Saturday
    "role": "Analyst",
    "location": "London HQ",
}


@pytest.fixture(autouse=True)
def company_calendar(db):
    return BusinessCalendarFactory(name="Company", is_default=True)


@pytest.fixture
def london(db):
    return LocationFactory(name="London HQ", slug="london")


def _rows(answers):
    return [
        {"key": key, "label": key, "kind": "text", "value": value, "display": str(value)}
        for key, value in (answers or {}).items()
    ]


def _request(raised_by, answers=None, *, requester=None):
    """A request with no plan: the contexts below stand in for its steps."""
    service_request, _ = actions.service_request_submit(
        item=CatalogItemFactory(),
        raised_by=raised_by,
        requester=requester,
        subject="Onboard Kim",
        answers=_rows(answers),
        submission_key=uuid.uuid4().hex,
    )
    return service_request


def _context(service_request, key="1:1", params=None, department=None):
    """What the engine hands an action, for a step run keyed `key`."""
    step_run = StepRun(
        idempotency_key=key,
        step_key=f"step-{key.replace(':', '-')}",
        name="A step",
        department=department or service_request.department,
    )
    return registry.StepContext(
        step_run=step_run,
        service_request=service_request,
        params=params or {},
        answers=registry.answers_of(service_request),
    )


def _run(key, context, capture):
    """Run action `key` as the engine does: in a transaction, e-mails sent on commit."""
    with capture(execute=True), transaction.atomic():
        return registry.get(key).handler(context)


def _planned(raised_by, steps, answers=None):
    """A request whose item has a plan of (key, action, params, after) steps, submitted
    without running anything (its first steps wait, PENDING, for a worker)."""
    item = CatalogItemFactory()
    made = {}
    for position, (key, action, params, after) in enumerate(steps):
        made[key] = PlanStep.objects.create(
            item=item,
            key=key,
            name=key.replace("-", " ").capitalize(),
            kind=PlanStep.Kind.AUTOMATED,
            department=item.department,
            action=action,
            params=params,
            position=position,
        )
        made[key].after.set([made[earlier] for earlier in after])
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=raised_by,
        subject="Automate it",
        answers=_rows(answers),
        submission_key=uuid.uuid4().hex,
    )
    return service_request


def _token_in(body):
    return body.split("/directory/links/")[1].split("/")[0]


# The registry --------------------------------------------------------------------------


def test_every_action_of_the_library_is_registered_and_declares_its_inputs():
    registered = {action.key: action for action in registry.all_actions()}

    assert registered.keys() >= ACTION_KEYS
    for key in ACTION_KEYS:
        assert registered[key].inputs, key
        assert registered[key].label, key


# IT ------------------------------------------------------------------------------------


def test_create_account_makes_a_username_from_the_name_and_mails_a_one_time_link(
    employee, django_capture_on_commit_callbacks
):
    service_request = _request(employee, NEW_HIRE)

    result = _run(
        "it.create_account",
        _context(service_request, params={"email_domain": "acme.test"}),
        django_capture_on_commit_callbacks,
    )

    account = DirectoryAccount.objects.get()
    assert (account.username, account.email, account.active) == (
        "kim.tan",
        "kim.tan@acme.test",
        True,
    )
    assert result["username"] == "kim.tan"
    assert account.password == ""  # nobody chose it for them
    [message] = mail.outbox
    assert message.to == [employee.email]  # raised_by: the new hire's manager
    token = _token_in(message.body)
    link = OneTimeLink.objects.get()
    assert link.purpose == OneTimeLink.Purpose.SET_PASSWORD
    assert token not in link.token_hash  # only the hash is kept
    assert OneTimeLink.redeem(token).account == account


def test_create_account_twice_makes_one_account_and_sends_one_link(
    employee, django_capture_on_commit_callbacks
):
    context = _context(_request(employee, NEW_HIRE))

    first = _run("it.create_account", context, django_capture_on_commit_callbacks)
    again = _run("it.create_account", context, django_capture_on_commit_callbacks)

    assert first["username"] == again["username"] == "kim.tan"
    assert DirectoryAccount.objects.count() == 1
    assert OneTimeLink.objects.count() == 1
    assert len(mail.outbox) == 1


def test_usernames_that_collide_get_the_smallest_free_number(
    employee, django_capture_on_commit_callbacks
):
    for username in ["kim.tan", "kim.tan2", "kim.tanaka"]:
        DirectoryAccount.objects.create(first_name="K", last_name="T", username=username)
    service_request = _request(employee, NEW_HIRE)

    _run("it.create_account", _context(service_request), django_capture_on_commit_callbacks)

    assert DirectoryAccount.objects.filter(service_request=service_request).get().username == (
        "kim.tan3"
    )
    assert free_username("kim.tan") == "kim.tan4"
    assert username_base("Zoë", "O'Brien-Smith") == "zoe.obrien-smith"
    assert username_base("Mary Ann", "van der Berg") == "maryann.vanderberg"


def test_a_name_without_letters_goes_to_a_person(employee, django_capture_on_commit_callbacks):
    service_request = _request(employee, {"first_name": "?", "last_name": "!"})

    with pytest.raises(registry.PermanentError, match="username"):
        _run("it.create_account", _context(service_request), django_capture_on_commit_callbacks)
    assert not DirectoryAccount.objects.exists()


def test_one_time_links_work_once_and_only_before_they_expire():
    account = DirectoryAccount.objects.create(first_name="K", last_name="T", username="kim.tan")
    link, token = OneTimeLink.issue(
        account=account, purpose=OneTimeLink.Purpose.SET_PASSWORD, valid_for=dt.timedelta(hours=1)
    )

    assert OneTimeLink.redeem(token, purpose=OneTimeLink.Purpose.SET_PASSWORD) == link
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem(token)

    _, expired = OneTimeLink.issue(
        account=account, purpose=OneTimeLink.Purpose.RESET_PASSWORD, valid_for=dt.timedelta(0)
    )
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem(expired)
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem("not-a-token")
    _, wrong_purpose = OneTimeLink.issue(
        account=account, purpose=OneTimeLink.Purpose.RESET_PASSWORD, valid_for=dt.timedelta(hours=1)
    )
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem(wrong_purpose, purpose=OneTimeLink.Purpose.SET_PASSWORD)
    assert OneTimeLink.objects.filter(used_at__isnull=False).count() == 1


def test_grant_access_grants_each_application_once_to_the_account_made_for_the_request(
    employee, django_capture_on_commit_callbacks
):
    service_request = _request(employee, NEW_HIRE | {"apps": "Slack\nExpenses, Slack"})
    _run("it.create_account", _context(service_request), django_capture_on_commit_callbacks)
    grant = _context(service_request, key="1:2", params={"applications": "answer:apps"})

    first = _run("it.grant_access", grant, django_capture_on_commit_callbacks)
    again = _run("it.grant_access", grant, django_capture_on_commit_callbacks)

    assert first == {"holder": "kim.tan", "granted": ["Slack", "Expenses"], "already_had": []}
    assert again["granted"] == []
    assert sorted(AppEntitlement.objects.values_list("account__username", "application")) == [
        ("kim.tan", "Expenses"),
        ("kim.tan", "Slack"),
    ]


def test_grant_access_to_a_requester_without_an_account_is_held_by_the_person(employee):
    service_request = _request(employee)
    AppEntitlement.objects.create(person=employee, application="VPN")

    result = registry.get("it.grant_access").handler(
        _context(service_request, params={"applications": ["VPN", "Jira"]})
    )

    assert result == {"holder": "employee", "granted": ["Jira"], "already_had": ["VPN"]}
    assert set(employee.app_entitlements.values_list("application", flat=True)) == {"VPN", "Jira"}


def test_password_reset_runs_end_to_end_and_only_the_newest_link_works(
    employee, django_capture_on_commit_callbacks
):
    account = DirectoryAccount.objects.create(
        person=employee, first_name="E", last_name="M", username="e.m", email="e.m@acme.test"
    )
    _, older = OneTimeLink.issue(
        account=account, purpose=OneTimeLink.Purpose.RESET_PASSWORD, valid_for=dt.timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _planned(employee, [("reset", "it.reset_password", {}, [])])
    service_request.refresh_from_db()

    assert service_request.state == ServiceRequest.State.RESOLVED
    [message] = [message for message in mail.outbox if "Reset your password" in message.subject]
    assert message.to == [employee.email]
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem(older)
    assert OneTimeLink.redeem(_token_in(message.body)).account == account


def test_password_reset_without_a_directory_account_becomes_a_task_with_the_error(
    employee, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _planned(employee, [("reset", "it.reset_password", {}, [])])

    task = service_request.tasks.get()
    assert "automation failed" in task.title
    assert "has no directory account" in task.handoff_reason
    assert StepRun.objects.get().state == State.WITH_PEOPLE
    assert Event.objects.filter(kind=EventKind.STEP_FAILED).count() == 1
    assert mail.outbox == []


def test_disable_account_disables_once_and_unused_links_stop_working(employee, hr_agent):
    account = DirectoryAccount.objects.create(
        person=employee, first_name="E", last_name="M", username="e.m"
    )
    _, token = OneTimeLink.issue(
        account=account, purpose=OneTimeLink.Purpose.RESET_PASSWORD, valid_for=dt.timedelta(hours=1)
    )
    context = _context(
        _request(hr_agent, {"leaver": employee.pk}), params={"person": "answer:leaver"}
    )
    handler = registry.get("it.disable_account").handler

    assert handler(context) == {"person": "employee", "disabled": ["e.m"]}
    assert handler(context) == {"person": "employee", "disabled": []}

    account.refresh_from_db()
    assert not account.active
    assert account.disabled_at is not None
    with pytest.raises(OneTimeLink.Invalid):
        OneTimeLink.redeem(token)


def test_disable_account_of_someone_without_one_goes_to_a_person(employee, hr_agent):
    context = _context(_request(hr_agent, {"person": employee.pk}))

    with pytest.raises(registry.PermanentError, match="no directory account"):
        registry.get("it.disable_account").handler(context)


# HR ------------------------------------------------------------------------------------


def test_employee_record_from_the_form_with_the_raiser_as_hiring_manager(manager, london):
    service_request = _request(manager, NEW_HIRE | {"location": "london"})
    context = _context(service_request)
    handler = registry.get("hr.create_employee_record").handler

    first = handler(context)
    again = handler(context)

    record = EmployeeRecord.objects.get()
    assert (
        first
        == again
        == {
            "employee_record": record.pk,
            "name": "Kim Tan",
            "start_date": "2030-01-05",
        }
    )
    assert (record.role, record.location, record.hiring_manager) == ("Analyst", london, manager)


def test_employee_record_with_an_unreadable_date_goes_to_a_person(manager):
    context = _context(_request(manager, NEW_HIRE | {"start_date": "next week"}))

    with pytest.raises(registry.PermanentError, match="start_date"):
        registry.get("hr.create_employee_record").handler(context)
    assert not EmployeeRecord.objects.exists()


def test_welcome_pack_goes_once_to_the_new_hires_address(
    manager, london, django_capture_on_commit_callbacks
):
    service_request = _request(manager, NEW_HIRE)
    capture = django_capture_on_commit_callbacks
    _run("hr.create_employee_record", _context(service_request, "1:1"), capture)
    _run("it.create_account", _context(service_request, "1:2"), capture)
    mail.outbox.clear()
    welcome = _context(service_request, "1:3")

    _run("hr.send_welcome_pack", welcome, capture)
    _run("hr.send_welcome_pack", welcome, capture)

    [message] = mail.outbox
    assert message.to == ["kim.tan@example.com"]
    assert message.subject == "Welcome aboard, Kim"
    assert "Orientation" not in message.body  # none scheduled for this request
    assert "kim.tan" in message.body
    assert SentMessage.objects.filter(key="1:3").count() == 1


def test_welcome_pack_without_a_new_account_goes_to_the_requester(
    employee, django_capture_on_commit_callbacks
):
    _run(
        "hr.send_welcome_pack",
        _context(_request(employee)),
        django_capture_on_commit_callbacks,
    )

    assert [message.to for message in mail.outbox] == [[employee.email]]


def test_orientation_is_on_the_first_working_morning_at_half_past_nine(
    manager, london, company_calendar
):
    # Start date Saturday 5 January; Monday 7 is a holiday: Tuesday 8, 09:30 London time.
    HolidayFactory(calendar=company_calendar, date=dt.date(2030, 1, 7), name="Holiday")
    service_request = _request(manager, NEW_HIRE)
    registry.get("hr.create_employee_record").handler(_context(service_request, "1:1"))
    context = _context(service_request, "1:2")
    handler = registry.get("hr.schedule_orientation").handler

    handler(context)
    handler(context)

    event = OrientationEvent.objects.get()
    assert event.starts_at == dt.datetime(2030, 1, 8, 9, 30, tzinfo=LONDON)
    assert event.ends_at - event.starts_at == dt.timedelta(minutes=90)
    assert (event.title, event.location) == ("Orientation: Kim Tan", london)
    assert event.employee_record == EmployeeRecord.objects.get()


# Facilities ----------------------------------------------------------------------------


def _desks(location, *codes, floor="1"):
    return [Desk.objects.create(location=location, floor=floor, code=code) for code in codes]


def test_book_desk_picks_a_free_desk_at_the_location_and_a_rerun_keeps_it(manager, london):
    taken, free = _desks(london, "1-01", "1-02")
    _desks(LocationFactory(name="Manchester", slug="manchester"), "M-01")
    DeskBooking.objects.create(desk=taken, person=manager, starts_on=dt.date(2029, 1, 1))
    service_request = _request(manager, NEW_HIRE)
    registry.get("hr.create_employee_record").handler(_context(service_request, "1:1"))
    context = _context(service_request, "1:2", params={"location": "answer:location"})
    handler = registry.get("facilities.book_desk").handler

    first = handler(context)
    again = handler(context)

    assert first == again
    assert (first["desk"], first["location"], first["starts_on"]) == (
        "1-02",
        "London HQ",
        "2030-01-05",
    )
    booking = DeskBooking.objects.get(desk=free)
    assert booking.employee_record == EmployeeRecord.objects.get()
    assert DeskBooking.objects.count() == 2


def test_book_desk_prefers_the_floor_asked_for(employee, london):
    _desks(london, "1-01", floor="1")
    _desks(london, "3-01", floor="3")
    context = _context(_request(employee), params={"location": "london", "floor": "3"})

    assert registry.get("facilities.book_desk").handler(context)["desk"] == "3-01"


def test_no_free_desk_goes_to_facilities_and_nothing_is_double_booked(employee, manager, london):
    [desk] = _desks(london, "1-01")
    DeskBooking.objects.create(desk=desk, person=manager, starts_on=dt.date(2029, 1, 1))
    context = _context(_request(employee), params={"location": "London HQ"})

    with pytest.raises(registry.PermanentError, match="No free desk at London HQ"):
        registry.get("facilities.book_desk").handler(context)
    assert DeskBooking.objects.count() == 1


def test_a_desk_move_releases_the_old_desk(employee, london):
    old, _ = _desks(london, "1-01", "1-02")
    DeskBooking.objects.create(desk=old, person=employee, starts_on=dt.date(2029, 1, 1))
    context = _context(_request(employee), params={"location": "london", "replace_current": "yes"})

    registry.get("facilities.book_desk").handler(context)

    open_bookings = DeskBooking.objects.filter(person=employee, ends_on__isnull=True)
    assert list(open_bookings.values_list("desk__code", flat=True)) == ["1-02"]
    assert DeskBooking.objects.get(desk=old).ends_on == timezone.localdate()


def test_a_location_without_desks_says_so(employee):
    LocationFactory(name="Remote", slug="remote")
    context = _context(_request(employee), params={"location": "Remote"})

    with pytest.raises(registry.PermanentError, match="Remote has no bookable desks"):
        registry.get("facilities.book_desk").handler(context)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bookings_never_get_the_same_desk(employee, manager, london):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL")
    [desk] = _desks(london, "1-01")
    contexts = [
        _context(_request(person), key=f"{n}:1", params={"location": "london"})
        for n, person in enumerate([employee, manager], start=1)
    ]
    both_picked = threading.Barrier(2)
    booked, refused = [], []

    def book(context):
        try:
            with transaction.atomic():
                try:
                    booked.append(registry.get("facilities.book_desk").handler(context))
                except registry.PermanentError as error:
                    refused.append(str(error))
                # Neither commits before both have picked: the race is real.
                both_picked.wait(timeout=10)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(context,)) for context in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(booked) == 1
    assert len(refused) == 1
    assert "No free desk" in refused[0]
    assert list(DeskBooking.objects.values_list("desk", flat=True)) == [desk.pk]


def test_release_desk_ends_the_leavers_booking_and_frees_the_desk(employee, hr_agent, london):
    [desk] = _desks(london, "1-01")
    DeskBooking.objects.create(desk=desk, person=employee, starts_on=dt.date(2029, 1, 1))
    context = _context(
        _request(hr_agent, {"leaver": employee.pk}), params={"person": "answer:leaver"}
    )
    handler = registry.get("facilities.release_desk").handler

    assert handler(context) == {"released": ["London HQ 1-01"]}
    assert handler(context) == {"released": []}

    assert DeskBooking.objects.get().ends_on == timezone.localdate()
    newcomer = _context(_request(hr_agent), key="9:9", params={"location": "london"})
    assert registry.get("facilities.book_desk").handler(newcomer)["desk"] == "1-01"


def test_issue_badge_once_with_a_unique_number_then_deactivate_it(employee, hr_agent):
    issue = _context(_request(employee))
    handler = registry.get("facilities.issue_badge").handler

    number = handler(issue)["badge"]
    assert handler(issue)["badge"] == number
    other = handler(_context(_request(employee), key="2:1"))["badge"]

    assert number != other
    assert number.startswith("B-")
    assert len(number) == 10
    leaver = _context(
        _request(hr_agent, {"leaver": employee.pk}), params={"person": "answer:leaver"}
    )
    deactivated = registry.get("facilities.deactivate_badge").handler(leaver)
    assert sorted(deactivated["deactivated"]) == sorted([number, other])
    assert not Badge.objects.filter(active=True).exists()
    assert registry.get("facilities.deactivate_badge").handler(leaver) == {"deactivated": []}


def test_reserve_parking_once_with_a_clean_plate(manager, london):
    service_request = _request(manager, NEW_HIRE | {"plate": " ab12 cde "})
    context = _context(service_request, params={"location": "answer:location"})
    handler = registry.get("facilities.reserve_parking").handler

    first = handler(context)
    again = handler(context)

    assert first == again
    reservation = ParkingReservation.objects.get()
    assert (reservation.plate, reservation.location, reservation.starts_on) == (
        "AB12CDE",
        london,
        dt.date(2030, 1, 5),
    )
    assert reservation.person == manager


# Generic -------------------------------------------------------------------------------


def test_send_email_renders_the_template_for_the_requesters_manager_once(
    employee, manager, django_capture_on_commit_callbacks
):
    context = _context(
        _request(employee), params={"template": "request_resolved", "recipient": "manager"}
    )

    first = _run("generic.send_email", context, django_capture_on_commit_callbacks)
    again = _run("generic.send_email", context, django_capture_on_commit_callbacks)

    assert (first["sent_now"], again["sent_now"]) == (True, False)
    [message] = mail.outbox
    assert message.to == [manager.email]
    assert "is resolved" in message.subject


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"template": "no_such_template"}, "no e-mail template"),
        ({"template": "../settings"}, "not an e-mail template name"),
        ({"template": "request_resolved", "recipient": "the boss"}, "Send to whom"),
    ],
)
def test_send_email_refuses_what_it_cannot_send(employee, params, error):
    context = _context(_request(employee), params=params)

    with pytest.raises(registry.PermanentError, match=error):
        registry.get("generic.send_email").handler(context)
    assert not SentMessage.objects.exists()


def test_send_email_to_a_manager_nobody_has_is_an_error(sales_department):
    loner = UserFactory(username="loner")
    ProfileFactory(user=loner, department=sales_department)
    context = _context(
        _request(loner), params={"template": "request_resolved", "recipient": "manager"}
    )

    with pytest.raises(registry.PermanentError, match="no manager"):
        registry.get("generic.send_email").handler(context)


def test_wait_until_sleeps_until_the_first_working_hour_then_lets_the_plan_go_on(employee):
    service_request = _planned(
        employee,
        [("wait", "generic.wait_until", {"date": "answer:start_date"}, [])],
        {"start_date": "2099-01-03"},  # a Saturday
    )
    step_run = StepRun.objects.get()

    outcome = actions.step_run_execute(step_run.pk)

    step_run.refresh_from_db()
    assert outcome.startswith("sleeping until")
    assert step_run.state == State.PENDING
    assert step_run.due_at == dt.datetime(2099, 1, 5, 9, 0, tzinfo=LONDON)
    # The day came (the sweep wakes it once due).
    past = {"start_date": "2020-01-06"}
    ServiceRequest.objects.filter(pk=service_request.pk).update(answers=_rows(past))
    StepRun.objects.filter(pk=step_run.pk).update(due_at=None)

    assert actions.step_run_execute(step_run.pk) == "succeeded"
    step_run.refresh_from_db()
    assert step_run.result == {"waited_until": "2020-01-06T09:00:00+00:00"}


# A plan across departments -------------------------------------------------------------


def test_an_onboarding_plan_makes_each_record_once_and_tells_the_right_people(
    manager, london, django_capture_on_commit_callbacks
):
    _desks(london, "1-01")
    record = ("record", "hr.create_employee_record", {}, [])
    after_record = ["record"]
    steps = [
        record,
        ("account", "it.create_account", {"email_domain": "acme.test"}, after_record),
        ("access", "it.grant_access", {"applications": ["Slack"]}, ["account"]),
        ("desk", "facilities.book_desk", {"location": "answer:location"}, after_record),
        ("badge", "facilities.issue_badge", {}, after_record),
        ("orientation", "hr.schedule_orientation", {}, after_record),
        ("welcome", "hr.send_welcome_pack", {}, ["account", "desk", "badge", "orientation"]),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _planned(manager, steps, NEW_HIRE)
    service_request.refresh_from_db()

    assert set(StepRun.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    assert service_request.state == ServiceRequest.State.RESOLVED
    record = EmployeeRecord.objects.get()
    assert DeskBooking.objects.get().employee_record == record
    assert Badge.objects.get().employee_record == record
    assert AppEntitlement.objects.get().account.username == "kim.tan"
    by_template = {sent.template: sent.recipients for sent in SentMessage.objects.all()}
    assert by_template == {
        "account_created": manager.email,
        "welcome_pack": "kim.tan@acme.test",
    }
    welcome = next(message for message in mail.outbox if message.to == ["kim.tan@acme.test"])
    assert "Orientation: Monday 7 January, 09:30 at London HQ" in welcome.body
    assert "Your desk: 1-01" in welcome.body


def test_set_field_records_a_value_and_an_answer_when_asked(
    employee, django_capture_on_commit_callbacks
):
    service_request = _request(employee, {"asset_tag": "LT-0042"})

    plain = _run(
        "generic.set_field",
        _context(service_request, params={"field": "ticket", "value": "VEND-7"}),
        django_capture_on_commit_callbacks,
    )
    from_answer = _run(
        "generic.set_field",
        _context(service_request, params={"field": "tag", "value": "answer:asset_tag"}),
        django_capture_on_commit_callbacks,
    )

    assert (plain, from_answer) == ({"ticket": "VEND-7"}, {"tag": "LT-0042"})


def test_stand_in_actions_of_other_tests_never_stay_in_the_registry():
    """Tests register stand-ins for themselves only (the `test_actions` fixture), so the
    registry the admin offers holds the library's actions and nothing else."""
    leftovers = [action.key for action in registry.all_actions() if action.key.startswith("test.")]

    assert leftovers == []
