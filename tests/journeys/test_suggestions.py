"""Suggestions just either side of their thresholds, and the findings they become."""

import datetime as dt

import pytest

from esm import clock
from journeys.metrics import Distribution, JourneyMetrics, Period, Score, TouchpointSignals
from journeys.models import Finding, Touchpoint
from journeys.suggestions import finding_value_after, findings_suggest, touchpoint_suggestions
from tests.journeys.factories import TouchpointFactory

S = Finding.Suggestion


def signals(touchpoint=None, **kwargs):
    kwargs.setdefault("cases", 20)
    kwargs.setdefault("resolution", Distribution(count=kwargs["cases"]))
    return TouchpointSignals(touchpoint=touchpoint or Touchpoint(name="Laptop"), **kwargs)


def suggested(**kwargs):
    return {s.suggestion for s in touchpoint_suggestions(signals(**kwargs))}


AUTOMATION = {"cases": 15, "answer_variation": 0.2, "human_step_share": 0.7}
KNOWLEDGE_GAP = {"cases": 15, "deflection_rate": 0.3, "missing_information_rate": 0.3}
WATERMELON = {"cases": 20, "department_target_attainment": 0.9, "low_rating_share": 0.3}
ABANDONED_FORM = {"cases": 0, "form_starts": 20, "abandonment_rate": 0.3}


@pytest.mark.parametrize(
    ("signal_values", "expected"),
    [
        # Automation candidate: 15 cases, variation <= 20%, human steps >= 70%.
        (AUTOMATION, {S.AUTOMATION_CANDIDATE}),
        ({**AUTOMATION, "cases": 14}, set()),
        ({**AUTOMATION, "answer_variation": 0.21}, set()),
        ({**AUTOMATION, "human_step_share": 0.69}, set()),
        ({**AUTOMATION, "answer_variation": None}, set()),
        # Knowledge gap: 15 cases, deflection <= 30% (or none read), missing info >= 0.3.
        (KNOWLEDGE_GAP, {S.KNOWLEDGE_GAP}),
        ({**KNOWLEDGE_GAP, "deflection_rate": None}, {S.KNOWLEDGE_GAP}),
        ({**KNOWLEDGE_GAP, "cases": 14}, set()),
        ({**KNOWLEDGE_GAP, "deflection_rate": 0.31}, set()),
        ({**KNOWLEDGE_GAP, "missing_information_rate": 0.29}, set()),
        # Handoff hotspot: bounces >= 0.5 or consults >= 1 per request, at least 5 cases.
        ({"cases": 5, "bounces_per_request": 0.5}, {S.HANDOFF_HOTSPOT}),
        ({"cases": 5, "bounces_per_request": 0.49}, set()),
        ({"cases": 5, "consults_per_request": 1.0}, {S.HANDOFF_HOTSPOT}),
        ({"cases": 5, "consults_per_request": 0.99}, set()),
        ({"cases": 4, "bounces_per_request": 2.0}, set()),
        # Watermelon: on target (attainment >= 90% or breaches <= 10%) and poor experience
        # (low ratings >= 30%, mean rating <= 3 or emotion <= -0.2).
        (WATERMELON, {S.WATERMELON}),
        ({**WATERMELON, "department_target_attainment": 0.89}, set()),
        ({**WATERMELON, "low_rating_share": 0.29}, set()),
        ({"breach_rate": 0.1, "rating_mean": 3.0}, {S.WATERMELON}),
        ({"breach_rate": 0.11, "rating_mean": 3.0}, set()),
        ({"breach_rate": 0.1, "rating_mean": 3.01}, set()),
        ({"breach_rate": 0.1, "emotion": Score(-0.2)}, {S.WATERMELON}),
        ({"breach_rate": 0.1, "emotion": Score(-0.19)}, set()),
        # Abandoned form: 20 form starts, abandonment >= 30%, whatever the cases.
        (ABANDONED_FORM, {S.ABANDONED_FORM}),
        ({**ABANDONED_FORM, "form_starts": 19}, set()),
        ({**ABANDONED_FORM, "abandonment_rate": 0.29}, set()),
    ],
)
def test_suggestions_at_and_just_past_their_thresholds(signal_values, expected):
    assert suggested(**signal_values) == expected


def test_hidden_signals_suggest_nothing():
    everything = {**AUTOMATION, **KNOWLEDGE_GAP, **WATERMELON, **ABANDONED_FORM, "cases": 20}
    everything["bounces_per_request"] = 1.0
    assert len(suggested(**everything)) == 5

    assert suggested(**everything, hidden=True) == set()


def test_a_suggestion_says_why_with_its_numbers():
    (automation,) = touchpoint_suggestions(signals(**AUTOMATION))

    assert automation.kind == Finding.Kind.OPPORTUNITY
    assert automation.signal == "human_step_share"
    assert automation.value == 0.7
    assert "15 requests" in automation.description
    assert "20%" in automation.description
    assert "70%" in automation.description


def test_a_watermelon_names_the_poor_experience_sign_and_its_value():
    (watermelon,) = touchpoint_suggestions(
        signals(breach_rate=0.05, rating_mean=2.5, emotion=Score(-0.4))
    )

    assert watermelon.kind == Finding.Kind.PAIN_POINT
    assert (watermelon.signal, watermelon.value) == ("rating_mean", 2.5)
    assert "5%" in watermelon.description
    assert "2.5 of 5" in watermelon.description
    assert "-0.40" in watermelon.description


# Findings ---------------------------------------------------------------------------------


def metrics_for(*touchpoint_signals):
    journey = touchpoint_signals[0].touchpoint.stage.journey
    period = Period(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    return JourneyMetrics(journey, period, list(touchpoint_signals), [])


@pytest.mark.django_db
def test_findings_suggest_creates_each_finding_once():
    laptop, badge = TouchpointFactory(), TouchpointFactory()
    metrics = metrics_for(
        signals(laptop, **AUTOMATION, bounces_per_request=0.6),
        signals(badge, **ABANDONED_FORM),
    )

    first = findings_suggest(metrics=metrics)
    second = findings_suggest(metrics=metrics)

    assert {(f.touchpoint, f.suggestion) for f in first} == {
        (laptop, S.AUTOMATION_CANDIDATE),
        (laptop, S.HANDOFF_HOTSPOT),
        (badge, S.ABANDONED_FORM),
    }
    assert second == []
    assert Finding.objects.count() == 3
    form = Finding.objects.get(suggestion=S.ABANDONED_FORM)
    assert form.status == Finding.Status.NEW
    assert form.kind == Finding.Kind.PAIN_POINT
    assert (form.signal, form.value_before) == ("abandonment_rate", 0.3)
    assert "20 form starts" in form.description


@pytest.mark.django_db
def test_an_accepted_finding_is_still_open():
    touchpoint = TouchpointFactory()
    metrics = metrics_for(signals(touchpoint, **AUTOMATION))
    (finding,) = findings_suggest(metrics=metrics)
    Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.ACCEPTED)

    assert findings_suggest(metrics=metrics) == []


@pytest.mark.django_db
def test_a_dismissed_finding_is_suggested_again():
    touchpoint = TouchpointFactory()
    metrics = metrics_for(signals(touchpoint, **AUTOMATION))
    (first,) = findings_suggest(metrics=metrics)
    Finding.objects.filter(pk=first.pk).update(status=Finding.Status.DISMISSED)

    (again,) = findings_suggest(metrics=metrics)
    assert findings_suggest(metrics=metrics) == []

    assert again.pk != first.pk
    assert again.status == Finding.Status.NEW
    assert Finding.objects.filter(touchpoint=touchpoint).count() == 2


@pytest.mark.django_db
def test_finding_value_after_records_the_signal_now():
    touchpoint = TouchpointFactory()
    (finding,) = findings_suggest(metrics=metrics_for(signals(touchpoint, **ABANDONED_FORM)))
    moment = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    with clock.travel(moment):
        finding_value_after(
            finding=finding,
            signals=signals(touchpoint, form_starts=40, abandonment_rate=0.1),
        )

    finding.refresh_from_db()
    assert finding.status == Finding.Status.DONE
    assert (finding.value_before, finding.value_after) == (0.3, 0.1)
    assert finding.done_at == moment


@pytest.mark.django_db
def test_finding_value_after_records_nothing_from_hidden_signals():
    touchpoint = TouchpointFactory()
    (finding,) = findings_suggest(metrics=metrics_for(signals(touchpoint, **ABANDONED_FORM)))

    finding_value_after(
        finding=finding, signals=signals(touchpoint, abandonment_rate=0.1, hidden=True)
    )

    finding.refresh_from_db()
    assert finding.value_after is None
    assert finding.done_at is not None


@pytest.mark.django_db
def test_finding_value_after_refuses_another_touchpoints_signals():
    touchpoint = TouchpointFactory()
    (finding,) = findings_suggest(metrics=metrics_for(signals(touchpoint, **ABANDONED_FORM)))

    with pytest.raises(ValueError, match="another touchpoint"):
        finding_value_after(finding=finding, signals=signals(TouchpointFactory()))
