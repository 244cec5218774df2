"""Reports e-mailed to their subscribers: which subscriptions are due, the message (an HTML
summary of the report's cards, a plain-text alternative and the cards as CSV), and the
daily send that claims each subscription before mailing it.

When a subscription is due, on the portal's calendar (`settings.TIME_ZONE`):
- weekly: never sent, or last sent on a day at least seven days before today. Counting
  days, not hours, keeps the send on its weekday: the daily run starts a few seconds
  earlier or later each time, and "168 hours since the last one" would slip a day.
- monthly: never sent, or last sent in an earlier calendar month. A monthly summary
  belongs to its month, so it goes out with the month's first run, not on the day of the
  month the reader happened to subscribe.
A new subscription is sent with the next daily run, so the reader sees at once what they
signed up for.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from esm import clock
from esm.permissions import can
from reporting.exports import cards_csv
from reporting.formatting import STATUS_WORDS, measure_value_text, target_text
from reporting.models import Subscription
from reporting.selectors import Card, report_cards, report_scopes, scope_label

logger = logging.getLogger(__name__)

WEEK_DAYS = 7
SEND_BATCH = 200
"""Subscriptions read from the database at a time while sending."""


def _midnight(day: dt.date) -> dt.datetime:
    """The moment `day` starts on the portal's calendar."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def subscriptions_due(*, now: dt.datetime) -> QuerySet[Subscription]:
    """The subscriptions to send at `now` (the rules are in this module's docstring), with
    their report, its audience and the subscriber loaded."""
    today = timezone.localdate(now)
    week_cut = _midnight(today - dt.timedelta(days=WEEK_DAYS - 1))
    month_start = _midnight(today.replace(day=1))
    return (
        Subscription.objects.filter(
            Q(last_sent_at__isnull=True)
            | Q(frequency=Subscription.Frequency.WEEKLY, last_sent_at__lt=week_cut)
            | Q(frequency=Subscription.Frequency.MONTHLY, last_sent_at__lt=month_start)
        )
        .select_related("report__audience", "report__owner", "subscriber__profile")
        .prefetch_related("report__audience__departments", "report__audience__people")
        .order_by("pk")
    )


def subscription_next_day(subscription: Subscription, *, now: dt.datetime) -> dt.date:
    """The day the next e-mail goes out (today when it is due now)."""
    today = timezone.localdate(now)
    if subscription.last_sent_at is None:
        return today
    last = timezone.localdate(subscription.last_sent_at)
    if subscription.frequency == Subscription.Frequency.WEEKLY:
        following = last + dt.timedelta(days=WEEK_DAYS)
    else:
        following = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return max(following, today)


# --- The message --------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryLine:
    """One card as the e-mail shows it: words, never a bare status code."""

    name: str
    value: str
    target: str
    status: str
    status_text: str
    decision: str
    decision_maker: str


def summary_lines(cards: list[Card]) -> list[SummaryLine]:
    return [
        SummaryLine(
            name=card.measure.name,
            value=measure_value_text(card.value, card.measure.unit),
            target=target_text(card.measure.target, card.measure.unit, card.measure.direction),
            status=card.status,
            status_text=STATUS_WORDS.get(card.status, card.status),
            decision=card.measure.decision,
            decision_maker=card.measure.decision_maker,
        )
        for card in cards
    ]


def _absolute(path: str) -> str:
    """`path` on the portal's public address: every link in an e-mail."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def subscription_email(subscription: Subscription, *, now: dt.datetime) -> EmailMultiAlternatives:
    """The message for one subscription: the report's cards in the subscriber's default
    scope, read as that subscriber (so the small-group rule holds back what it holds back
    on their dashboard), as HTML, plain text and an attached CSV."""
    report, subscriber = subscription.report, subscription.subscriber
    scope = report_scopes(report=report, viewer=subscriber)[0]
    cards = report_cards(report=report, scope=scope, viewer=subscriber)
    label = scope_label(scope)
    context = {
        "report": report,
        "subscription": subscription,
        "subscriber": subscriber,
        "scope_label": label,
        "lines": summary_lines(cards),
        "day": timezone.localdate(now),
        "dashboard_url": _absolute(reverse("report_dashboard", args=[report.slug])),
        "subscription_url": _absolute(reverse("report_subscription", args=[report.slug])),
        "feedback_url": _absolute(reverse("report_feedback", args=[report.slug])),
    }
    # A header may not hold a line break, and a report's name is typed by people.
    subject = " ".join(render_to_string("email/report_subscription_subject.txt", context).split())
    body = render_to_string("email/report_subscription.txt", context)
    message = EmailMultiAlternatives(subject, body, None, [subscriber.email])
    message.attach_alternative(
        render_to_string("email/report_subscription.html", context), "text/html"
    )
    message.attach(
        f"{report.slug}-{context['day'].isoformat()}.csv",
        cards_csv(report=report, scope_label=label, cards=cards),
        "text/csv",
    )
    return message


# --- Sending ------------------------------------------------------------------------------


def subscription_send(subscription: Subscription, *, now: dt.datetime) -> bool:
    """Send one due subscription, at most once however many workers try: whether this call
    sent it.

    Nothing is sent to a subscriber who may no longer read the report (they left its
    audience, or their account was closed). Their subscription stays, unsent, and resumes
    if they come back: leaving a department for a month should not cost a reader their
    choice. Nor to a subscriber without an e-mail address."""
    report, subscriber = subscription.report, subscription.subscriber
    if not subscriber.email or not can(subscriber, "reporting.view_report", report):
        return False
    # The claim (healthchecks' sendalerts): stamp the subscription only if it still holds
    # the `last_sent_at` we read. Of two workers reading the same due row, the second's
    # UPDATE matches nothing (on PostgreSQL it waits for the first's and then re-reads the
    # row), so it sends nothing. Committed at once (autocommit): a claim is never rolled
    # back by what follows.
    claimed = Subscription.objects.filter(
        pk=subscription.pk, last_sent_at=subscription.last_sent_at
    ).update(last_sent_at=now)
    if not claimed:
        return False
    try:
        subscription_email(subscription, now=now).send()
    except Exception:  # the mail server refused or is away: log it, try again tomorrow
        logger.exception("The %s e-mail to %s was not sent", report.slug, subscriber.email)
        Subscription.objects.filter(pk=subscription.pk, last_sent_at=now).update(
            last_sent_at=subscription.last_sent_at
        )
        return False
    subscription.last_sent_at = now
    return True


def subscriptions_send(*, now: dt.datetime | None = None) -> int:
    """Send every subscription due at `now` (the clock's, by default); how many were sent.
    Safe to run twice, or on two workers at once."""
    now = now or clock.now()
    due = subscriptions_due(now=now).iterator(chunk_size=SEND_BATCH)
    return sum(subscription_send(subscription, now=now) for subscription in due)
