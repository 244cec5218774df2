"""Subscribed reports are e-mailed when due (weekly, monthly, on the portal's calendar), each
at most once however often or wherever the send runs, only to people who may still read
them, and never with a figure the small-group rule holds back."""

import csv
import datetime as dt
import io

import pytest
from celery.schedules import crontab
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from esm import clock
from esm.celery import app
from esm.models import Profile
from reporting import delivery
from reporting.models import Audience, Subscription
from reporting.tasks import subscriptions_send_task
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)

pytestmark = pytest.mark.django_db

# Mondays, 06:00 UTC (the beat's hour); London is on UTC in November and January.
MON = dt.datetime(2026, 11, 16, 6, 0, tzinfo=dt.UTC)


def _subscription(report, subscriber, frequency="weekly", last_sent_at=None):
    return Subscription.objects.create(
        report=report, subscriber=subscriber, frequency=frequency, last_sent_at=last_sent_at
    )


def _due(now):
    return set(delivery.subscriptions_due(now=now))


@pytest.fixture
def report(db):
    """Executives' report of one measure, with a figure of 20 cases for the enterprise."""
    measure = MeasureFactory(
        key="end_to_end_attainment",
        name="End-to-end attainment",
        unit="%",
        target=0.9,
        decision='=HYPERLINK("http://evil.example") whether to add staff',
        decision_maker="Chief operating officer",
    )
    SnapshotFactory(measure=measure, day=dt.date(2026, 11, 15), value=0.84, cases=20)
    return ReportFactory(name="Outcomes", slug="outcomes", measures=[measure])


# --- When a subscription is due -------------------------------------------------------------


def test_a_new_subscription_is_due_at_once(report, executive):
    weekly = _subscription(report, executive, "weekly")
    monthly = _subscription(ReportFactory(), executive, "monthly")

    assert _due(MON) == {weekly, monthly}


def test_a_weekly_subscription_is_due_seven_days_after_its_last_send_not_six(report, executive):
    subscription = _subscription(report, executive, "weekly", last_sent_at=MON)

    assert _due(MON + dt.timedelta(days=6, hours=17)) == set()
    assert _due(MON + dt.timedelta(days=7)) == {subscription}


def test_a_weekly_send_keeps_its_weekday_when_last_week_s_run_finished_later(report, executive):
    subscription = _subscription(
        report, executive, "weekly", last_sent_at=MON + dt.timedelta(minutes=3)
    )

    assert _due(MON + dt.timedelta(days=7)) == {subscription}


def test_a_monthly_subscription_is_due_with_the_first_run_of_a_new_month(report, executive):
    subscription = _subscription(
        report, executive, "monthly", last_sent_at=dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
    )

    assert _due(dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC)) == set()
    assert _due(dt.datetime(2026, 11, 1, 0, 1, tzinfo=dt.UTC)) == {subscription}


def test_a_monthly_subscription_sent_this_month_waits_for_the_next(report, executive):
    _subscription(
        report, executive, "monthly", last_sent_at=dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    )

    assert _due(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)) == set()


def test_months_are_the_portal_s_calendar_months(report, executive):
    # 23:30 UTC on 31 August is 00:30 on 1 September in London (summer time): sent in
    # September, so not due again until October.
    _subscription(
        report, executive, "monthly", last_sent_at=dt.datetime(2026, 8, 31, 23, 30, tzinfo=dt.UTC)
    )

    assert _due(dt.datetime(2026, 9, 2, 6, tzinfo=dt.UTC)) == set()


def test_the_next_send_day_follows_the_rules(report, executive):
    weekly = _subscription(report, executive, "weekly", last_sent_at=MON)
    monthly = _subscription(ReportFactory(), executive, "monthly", last_sent_at=MON)

    assert delivery.subscription_next_day(weekly, now=MON) == dt.date(2026, 11, 23)
    assert delivery.subscription_next_day(monthly, now=MON) == dt.date(2026, 12, 1)


# --- What is sent ---------------------------------------------------------------------------


def test_the_task_sends_one_e_mail_with_the_summary_and_the_csv(report, executive, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com/"
    subscription = _subscription(report, executive)

    with clock.travel(MON):
        assert subscriptions_send_task.delay().get() == 1

    [message] = mail.outbox
    assert message.to == [executive.email]
    assert message.subject == "Outcomes: your weekly summary, 16 Nov 2026"
    assert "End-to-end attainment: 84% (target at least 90%). Missed, watching." in message.body
    assert "https://portal.example.com/dashboards/outcomes/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "84%" in html
    assert "Chief operating officer" in html
    assert 'href="https://portal.example.com/dashboards/outcomes/subscription/"' in html
    [(filename, content, csv_type)] = message.attachments
    assert (filename, csv_type) == ("outcomes-2026-11-16.csv", "text/csv")
    header, row = list(csv.reader(io.StringIO(content)))
    assert row[header.index("value")] == "0.84"
    assert row[header.index("decision")].startswith("'=HYPERLINK")  # neutralised
    subscription.refresh_from_db()
    assert subscription.last_sent_at == MON


def test_running_the_send_twice_sends_once(report, executive):
    _subscription(report, executive)

    with clock.travel(MON):
        subscriptions_send_task.delay()
    with clock.travel(MON + dt.timedelta(hours=1)):
        assert subscriptions_send_task.delay().get() == 0

    assert len(mail.outbox) == 1


def test_two_workers_holding_the_same_due_subscription_send_it_once(report, executive):
    _subscription(report, executive)
    [first] = delivery.subscriptions_due(now=MON)
    [second] = delivery.subscriptions_due(now=MON)  # read before the first one claims it

    sent = [delivery.subscription_send(s, now=MON) for s in (first, second)]

    assert sent == [True, False]
    assert len(mail.outbox) == 1


def test_a_subscriber_who_left_the_audience_gets_nothing_and_keeps_the_subscription(
    report, executive
):
    subscription = _subscription(report, executive)
    Profile.objects.filter(user=executive).update(is_executive=False)

    with clock.travel(MON):
        assert subscriptions_send_task.delay().get() == 0

    assert mail.outbox == []
    subscription.refresh_from_db()
    assert subscription.last_sent_at is None  # sent again if they come back


def test_the_report_s_owner_outside_its_audience_still_receives_it(report):
    _subscription(report, report.owner)

    with clock.travel(MON):
        assert subscriptions_send_task.delay().get() == 1


def test_a_figure_of_too_few_cases_is_held_back_in_the_e_mail_too(executive):
    measure = MeasureFactory(key="experience_rating", name="Experience", unit="of 5", target=4.0)
    SnapshotFactory(measure=measure, day=dt.date(2026, 11, 15), value=2.25, cases=3)
    report = ReportFactory(slug="few", measures=[measure])
    _subscription(report, executive)

    with clock.travel(MON):
        subscriptions_send_task.delay()

    [message] = mail.outbox
    [(html, _)] = message.alternatives
    [(_, content, _)] = message.attachments
    for text in (message.body, html, content):
        assert "2.2" not in text
    assert "Too few cases to show" in message.body
    assert "too-few" in content


def test_a_department_audience_reads_the_subscriber_s_own_department(
    department_manager, it_department
):
    measure = MeasureFactory(key="request_volume", name="Requests", unit="requests", target=None)
    SnapshotFactory(measure=measure, day=dt.date(2026, 11, 15), scope="all", value=900, cases=900)
    SnapshotFactory(
        measure=measure,
        day=dt.date(2026, 11, 15),
        scope=f"department:{it_department.pk}",
        value=120,
        cases=120,
    )
    audience = AudienceFactory(members=Audience.Members.DEPARTMENT_MANAGERS)
    report = ReportFactory(slug="flow", audience=audience, measures=[measure])
    _subscription(report, department_manager)

    with clock.travel(MON):
        subscriptions_send_task.delay()

    [message] = mail.outbox
    assert "IT, as of" in message.body
    assert "Requests: 120 requests." in message.body


class RefusingBackend(BaseEmailBackend):
    """A mail server that is away."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server away")


def test_a_message_the_mail_server_refused_is_tried_again_next_run(report, executive, settings):
    subscription = _subscription(report, executive)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}

    with clock.travel(MON):
        assert delivery.subscriptions_send() == 0
    subscription.refresh_from_db()
    assert subscription.last_sent_at is None

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with clock.travel(MON + dt.timedelta(days=1)):
        assert delivery.subscriptions_send() == 1


def test_nothing_is_sent_to_a_subscriber_without_an_e_mail_address(report, executive):
    executive.email = ""
    executive.save(update_fields=["email"])
    subscription = _subscription(report, executive)

    with clock.travel(MON):
        assert delivery.subscriptions_send() == 0

    subscription.refresh_from_db()
    assert subscription.last_sent_at is None


def test_beat_runs_the_send_once_a_day(settings):
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "reporting.tasks.subscriptions_send_task"
    ]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == crontab(hour=6, minute=0)
