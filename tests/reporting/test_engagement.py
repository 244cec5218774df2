"""A report's readers answer whether it helped them decide, and choose to have it e-mailed;
nobody else may do either, and bad input changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from reporting import actions
from reporting.engagement_forms import ANSWER_MAX_CHARS
from reporting.models import ReportFeedback, Subscription
from tests.reporting.factories import ReportFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(db):
    """Read by executives (the factory's audience)."""
    return ReportFactory(name="Outcomes", slug="outcomes")


def feedback_url(report):
    return reverse("report_feedback", args=[report.slug])


def subscription_url(report):
    return reverse("report_subscription", args=[report.slug])


# --- Feedback -------------------------------------------------------------------------------


def test_a_reader_sees_the_form_and_only_their_own_earlier_answers(client, report, executive):
    other = ReportFactory(audience=report.audience)
    ReportFeedback.objects.create(report=report, author=executive, helped=True, decision="Mine")
    ReportFeedback.objects.create(report=report, author=report.owner, helped=True, decision="Owner")
    ReportFeedback.objects.create(report=other, author=executive, helped=True, decision="Other")
    client.force_login(executive)

    page = client.get(feedback_url(report))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Did this report help you decide something?" in html
    assert "Decided: Mine" in html
    assert "Owner" not in html.split("Your earlier answers")[1]
    assert "Decided: Other" not in html


def test_a_reader_who_decided_something_is_thanked_on_the_dashboard(client, report, executive):
    client.force_login(executive)

    answer = client.post(
        feedback_url(report),
        {"helped": "yes", "decision": "  Moved two agents to HR  ", "missing": "Trends by month"},
    )

    assert answer.status_code == 302
    assert answer["Location"] == reverse("report_dashboard", args=[report.slug])
    saved = ReportFeedback.objects.get()
    assert (saved.report, saved.author, saved.helped) == (report, executive, True)
    assert (saved.decision, saved.missing) == ("Moved two agents to HR", "Trends by month")


def test_a_reader_it_did_not_help_need_not_name_a_decision(client, report, executive):
    client.force_login(executive)

    answer = client.post(feedback_url(report), {"helped": "no", "missing": "Cost per request"})

    assert answer.status_code == 302
    assert ReportFeedback.objects.get().helped is False


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"decision": "Something"}, "helped", "Answer yes or no."),
        ({"helped": "maybe"}, "helped", "Select a valid choice."),
        ({"helped": "yes", "decision": "   "}, "decision", "Say what you decided with it."),
        (
            {"helped": "no", "missing": "x" * (ANSWER_MAX_CHARS + 1)},
            "missing",
            f"at most {ANSWER_MAX_CHARS} characters",
        ),
    ],
)
def test_bad_feedback_is_shown_beside_its_field_and_saves_nothing(
    client, report, executive, data, field, error
):
    client.force_login(executive)

    answer = client.post(feedback_url(report), data)

    assert answer.status_code == 400
    assert any(error in message for message in answer.context["form"].errors[field])
    assert error.split(" ")[0] in answer.content.decode()
    assert not ReportFeedback.objects.exists()


def test_someone_outside_the_audience_may_neither_see_nor_send_feedback(client, report, employee):
    client.force_login(employee)

    assert client.get(feedback_url(report)).status_code == 404
    answer = client.post(feedback_url(report), {"helped": "yes", "decision": "Sneaky"})

    assert answer.status_code == 404
    assert not ReportFeedback.objects.exists()


def test_feedback_without_the_csrf_token_is_refused(report, executive):
    client = Client(enforce_csrf_checks=True)
    client.force_login(executive)

    answer = client.post(feedback_url(report), {"helped": "no"})

    assert answer.status_code == 403
    assert not ReportFeedback.objects.exists()


def test_feedback_that_helped_without_a_decision_is_refused_by_the_action(report, executive):
    with pytest.raises(ValidationError) as refused:
        actions.report_feedback_submit(
            report=report, author=executive, helped=True, decision=" ", missing=""
        )

    assert "decision" in refused.value.error_dict
    assert not ReportFeedback.objects.exists()


# --- Subscriptions --------------------------------------------------------------------------


def test_a_reader_not_subscribed_is_offered_the_report_s_own_rhythm(client, executive):
    report = ReportFactory(cadence="Monthly")
    client.force_login(executive)

    page = client.get(subscription_url(report))

    assert page.status_code == 200
    assert "You do not receive it by e-mail" in page.content.decode()
    assert page.context["form"].initial == {"frequency": "monthly"}


def test_a_reader_subscribes_changes_how_often_and_unsubscribes(client, report, executive):
    client.force_login(executive)

    subscribed = client.post(subscription_url(report), {"frequency": "weekly"})
    assert subscribed.status_code == 302
    assert Subscription.objects.get().frequency == "weekly"
    assert "You receive it weekly" in client.get(subscription_url(report)).content.decode()

    client.post(subscription_url(report), {"frequency": "monthly"})
    subscription = Subscription.objects.get()
    assert (subscription.subscriber, subscription.frequency) == (executive, "monthly")

    client.post(subscription_url(report), {"cancel": "1"})
    assert not Subscription.objects.exists()


def test_changing_how_often_keeps_when_it_was_last_sent(report, executive):
    first = actions.subscription_set(report=report, subscriber=executive, frequency="monthly")
    Subscription.objects.filter(pk=first.pk).update(last_sent_at="2026-11-01T06:00:00Z")

    changed = actions.subscription_set(report=report, subscriber=executive, frequency="weekly")

    assert changed.pk == first.pk
    assert changed.last_sent_at.isoformat() == "2026-11-01T06:00:00+00:00"


def test_an_unknown_frequency_is_refused_and_changes_nothing(client, report, executive):
    actions.subscription_set(report=report, subscriber=executive, frequency="weekly")
    client.force_login(executive)

    answer = client.post(subscription_url(report), {"frequency": "hourly"})

    assert answer.status_code == 400
    assert answer.context["form"].errors["frequency"]
    assert Subscription.objects.get().frequency == "weekly"


def test_someone_outside_the_audience_may_not_subscribe(client, report, employee):
    client.force_login(employee)

    assert client.get(subscription_url(report)).status_code == 404
    assert client.post(subscription_url(report), {"frequency": "weekly"}).status_code == 404
    assert not Subscription.objects.exists()


def test_a_signed_out_visitor_is_sent_to_sign_in(client, report):
    answer = client.post(subscription_url(report), {"frequency": "weekly"})

    assert answer.status_code == 302
    assert "next=" in answer["Location"]
    assert not Subscription.objects.exists()
