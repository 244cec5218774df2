"""Pain points and opportunities suggested from a touchpoint's signals, and the findings that
record them.

`touchpoint_suggestions()` reads one touchpoint's signals and says, in plain words with the
numbers that triggered it, what looks worth a person's attention. It is pure: it reads no
database. Signals held back by the small-group rule (`hidden`) suggest nothing, nor do
touchpoints with fewer than `MIN_CASES` cases (except an abandoned form, which is about form
starts, not cases).

The suggestions and their thresholds (a threshold is met when reached, ``>=`` or ``<=``):

- **Automation candidate** (opportunity): at least `HIGH_VOLUME_CASES` cases, answers that
  barely vary (`answer_variation` at most `AUTOMATION_MAX_ANSWER_VARIATION`), and mostly
  human steps (`human_step_share` at least `AUTOMATION_MIN_HUMAN_STEP_SHARE`).
- **Knowledge gap** (opportunity): at least `HIGH_VOLUME_CASES` cases, few requests deflected
  by articles (`deflection_rate` at most `KNOWLEDGE_GAP_MAX_DEFLECTION`, or no article read
  at all), and the same questions asked again and again (`missing_information_rate` at least
  `KNOWLEDGE_GAP_MIN_MISSING_INFORMATION`).
- **Handoff hotspot** (pain point): `bounces_per_request` at least `HOTSPOT_MIN_BOUNCES` or
  `consults_per_request` at least `HOTSPOT_MIN_CONSULTS`.
- **Watermelon** (pain point): green outside, red inside. On target (department targets met,
  `department_target_attainment` at least `WATERMELON_MIN_ATTAINMENT`, or end-to-end targets
  kept, `breach_rate` at most `WATERMELON_MAX_BREACH_RATE`) while the experience is poor
  (`low_rating_share` at least `WATERMELON_MIN_LOW_RATING_SHARE`, `rating_mean` at most
  `WATERMELON_MAX_RATING_MEAN`, or the emotion score at most `WATERMELON_MAX_EMOTION`).
- **Abandoned form** (pain point): at least `ABANDONED_FORM_MIN_STARTS` form starts and an
  `abandonment_rate` of at least `ABANDONED_FORM_MIN_RATE`.

`findings_suggest()` turns the suggestions into `Finding` rows, one open finding (new or
accepted) per suggestion and touchpoint; `finding_value_after()` records, once a finding is
done, the value its signal has now, beside the value that triggered it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from esm import clock
from journeys import selectors
from journeys.metrics import SMALL_GROUP, JourneyMetrics, Score, TouchpointSignals
from journeys.models import Finding, JourneyMap
from valuestreams.forms import day_period, local_today

__all__ = [
    "ABANDONED_FORM_MIN_RATE",
    "ABANDONED_FORM_MIN_STARTS",
    "AUTOMATION_MAX_ANSWER_VARIATION",
    "AUTOMATION_MIN_HUMAN_STEP_SHARE",
    "HIGH_VOLUME_CASES",
    "HOTSPOT_MIN_BOUNCES",
    "HOTSPOT_MIN_CONSULTS",
    "KNOWLEDGE_GAP_MAX_DEFLECTION",
    "KNOWLEDGE_GAP_MIN_MISSING_INFORMATION",
    "MIN_CASES",
    "OPEN_STATUSES",
    "WATERMELON_MAX_BREACH_RATE",
    "WATERMELON_MAX_EMOTION",
    "WATERMELON_MAX_RATING_MEAN",
    "WATERMELON_MIN_ATTAINMENT",
    "WATERMELON_MIN_LOW_RATING_SHARE",
    "Suggested",
    "finding_value_after",
    "findings_suggest",
    "signal_value",
    "touchpoint_suggestions",
]

MIN_CASES = SMALL_GROUP
"""Fewer cases than this suggest nothing about cases: too few to tell a pattern."""
HIGH_VOLUME_CASES = 15
"""Cases in the period from which a touchpoint counts as high volume: about two a week
over the eight weeks the suggestions read."""
AUTOMATION_MAX_ANSWER_VARIATION = 0.2
"""Distinct answer sets over requests at most this: the requests look alike."""
AUTOMATION_MIN_HUMAN_STEP_SHARE = 0.7
"""Share of steps done by people at least this: mostly by hand."""
KNOWLEDGE_GAP_MAX_DEFLECTION = 0.3
"""Suggested articles deflecting at most this share of their reads do not answer."""
KNOWLEDGE_GAP_MIN_MISSING_INFORMATION = 0.3
"""Asks for missing information per request from which questions count as repeated."""
HOTSPOT_MIN_BOUNCES = 0.5
"""Bounces per request from which work goes back and forth: one request in two."""
HOTSPOT_MIN_CONSULTS = 1.0
"""Consults per request from which the touchpoint cannot decide alone."""
WATERMELON_MIN_ATTAINMENT = 0.9
"""Share of tasks meeting their department target from which departments look green."""
WATERMELON_MAX_BREACH_RATE = 0.1
"""Share of end-to-end targets missed up to which the promise looks kept."""
WATERMELON_MIN_LOW_RATING_SHARE = 0.3
"""Share of ratings of 1-2 from which the experience counts as poor."""
WATERMELON_MAX_RATING_MEAN = 3.0
"""Mean rating (1-5) up to which the experience counts as poor."""
WATERMELON_MAX_EMOTION = -0.2
"""Emotion score (-1 to 1) up to which the experience counts as poor."""
ABANDONED_FORM_MIN_STARTS = 20
"""Form starts in the period from which abandonment is worth a look."""
ABANDONED_FORM_MIN_RATE = 0.3
"""Share of form starts left without a request from which the form counts as abandoned."""

OPEN_STATUSES = (Finding.Status.NEW, Finding.Status.ACCEPTED)
"""A suggested finding in one of these is still open: the same suggestion is not repeated."""


@dataclass(frozen=True)
class Suggested:
    """A finding the signals suggest, not yet saved."""

    suggestion: Finding.Suggestion
    kind: Finding.Kind
    title: str
    description: str
    signal: str
    """The `TouchpointSignals` field it is about; its value is compared once done."""
    value: float | None


def signal_value(signals: TouchpointSignals, name: str) -> float | None:
    """The value of one signal by field name (a score's value for ``emotion``/``friction``);
    ``None`` for no such signal, or when the small-group rule hides the figures."""
    if signals.hidden or not name:
        return None
    value = getattr(signals, name, None)
    if isinstance(value, Score):
        return value.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _at_least(value: float | None, threshold: float) -> bool:
    return value is not None and value >= threshold


def _at_most(value: float | None, threshold: float) -> bool:
    return value is not None and value <= threshold


def _automation(s: TouchpointSignals) -> Suggested | None:
    if not (
        s.cases >= HIGH_VOLUME_CASES
        and _at_most(s.answer_variation, AUTOMATION_MAX_ANSWER_VARIATION)
        and _at_least(s.human_step_share, AUTOMATION_MIN_HUMAN_STEP_SHARE)
    ):
        return None
    return Suggested(
        Finding.Suggestion.AUTOMATION_CANDIDATE,
        Finding.Kind.OPPORTUNITY,
        f"Automate {s.touchpoint.name}",
        f"{s.cases} requests in the period, almost all alike (distinct answers in "
        f"{_percent(s.answer_variation)} of them), and {_percent(s.human_step_share)} of the "
        "steps done by hand: a candidate for automation.",
        "human_step_share",
        s.human_step_share,
    )


def _knowledge_gap(s: TouchpointSignals) -> Suggested | None:
    deflection_low = s.deflection_rate is None or s.deflection_rate <= KNOWLEDGE_GAP_MAX_DEFLECTION
    if not (
        s.cases >= HIGH_VOLUME_CASES
        and deflection_low
        and _at_least(s.missing_information_rate, KNOWLEDGE_GAP_MIN_MISSING_INFORMATION)
    ):
        return None
    deflection = (
        "no suggested article was read"
        if s.deflection_rate is None
        else f"articles answered only {_percent(s.deflection_rate)} of their readers"
    )
    return Suggested(
        Finding.Suggestion.KNOWLEDGE_GAP,
        Finding.Kind.OPPORTUNITY,
        f"Knowledge gap at {s.touchpoint.name}",
        f"{s.cases} requests in the period, {deflection}, and teams asked for missing "
        f"information {s.missing_information_rate:.1f} times per request: the same questions "
        "come back, an article or a clearer form could answer them.",
        "missing_information_rate",
        s.missing_information_rate,
    )


def _handoff_hotspot(s: TouchpointSignals) -> Suggested | None:
    bounces = _at_least(s.bounces_per_request, HOTSPOT_MIN_BOUNCES)
    consults = _at_least(s.consults_per_request, HOTSPOT_MIN_CONSULTS)
    if not (bounces or consults):
        return None
    figures = []
    if s.bounces_per_request is not None:
        figures.append(f"{s.bounces_per_request:.1f} bounces per request")
    if s.consults_per_request is not None:
        figures.append(f"{s.consults_per_request:.1f} consults per request")
    signal = "bounces_per_request" if bounces else "consults_per_request"
    return Suggested(
        Finding.Suggestion.HANDOFF_HOTSPOT,
        Finding.Kind.PAIN_POINT,
        f"Handoff hotspot at {s.touchpoint.name}",
        f"Over {s.cases} requests, {' and '.join(figures)}: work goes back and forth "
        "between teams before it is done.",
        signal,
        getattr(s, signal),
    )


def _watermelon(s: TouchpointSignals) -> Suggested | None:
    green = []
    if _at_least(s.department_target_attainment, WATERMELON_MIN_ATTAINMENT):
        green.append(
            f"{_percent(s.department_target_attainment)} of tasks met their department target"
        )
    if _at_most(s.breach_rate, WATERMELON_MAX_BREACH_RATE):
        green.append(f"only {_percent(s.breach_rate)} of requests missed their end-to-end target")
    # The signal is the first poor-experience sign found, in this order.
    red = []
    if _at_least(s.low_rating_share, WATERMELON_MIN_LOW_RATING_SHARE):
        red.append(("low_rating_share", f"{_percent(s.low_rating_share)} of ratings are 1 or 2"))
    if _at_most(s.rating_mean, WATERMELON_MAX_RATING_MEAN):
        red.append(("rating_mean", f"the mean rating is {s.rating_mean:.1f} of 5"))
    if _at_most(s.emotion.value, WATERMELON_MAX_EMOTION):
        red.append(("emotion", f"the emotion score is {s.emotion.value:+.2f}"))
    if not (green and red):
        return None
    signal = red[0][0]
    return Suggested(
        Finding.Suggestion.WATERMELON,
        Finding.Kind.PAIN_POINT,
        f"Watermelon at {s.touchpoint.name}",
        f"Green outside: {' and '.join(green)}. Red inside: "
        f"{' and '.join(text for _name, text in red)}. The targets are met, the employees "
        "are not served.",
        signal,
        signal_value(s, signal),
    )


def _abandoned_form(s: TouchpointSignals) -> Suggested | None:
    if not (
        s.form_starts >= ABANDONED_FORM_MIN_STARTS
        and _at_least(s.abandonment_rate, ABANDONED_FORM_MIN_RATE)
    ):
        return None
    return Suggested(
        Finding.Suggestion.ABANDONED_FORM,
        Finding.Kind.PAIN_POINT,
        f"Form left unfinished at {s.touchpoint.name}",
        f"{s.form_starts} form starts in the period, {_percent(s.abandonment_rate)} of them "
        "left without a request: the form may ask too much or too early.",
        "abandonment_rate",
        s.abandonment_rate,
    )


def touchpoint_suggestions(signals: TouchpointSignals) -> list[Suggested]:
    """What the signals suggest about their touchpoint, by the thresholds above; nothing when
    the small-group rule hides them."""
    if signals.hidden:
        return []
    rules = [_abandoned_form]
    if signals.cases >= MIN_CASES:
        rules = [_automation, _knowledge_gap, _handoff_hotspot, _watermelon, *rules]
    return [suggested for rule in rules if (suggested := rule(signals)) is not None]


@transaction.atomic
def findings_suggest(*, metrics: JourneyMetrics) -> list[Finding]:
    """A new finding for each suggestion of each touchpoint of the journey, unless one of
    that suggestion is already open (new or accepted) for the touchpoint, as the partial
    unique constraint also insists. Safe to run again: it returns the findings it created,
    none the second time; a dismissed or done finding may be suggested anew."""
    created_findings = []
    for signals in metrics.touchpoints:
        for suggested in touchpoint_suggestions(signals):
            finding, created = Finding.objects.get_or_create(
                touchpoint=signals.touchpoint,
                suggestion=suggested.suggestion,
                status__in=OPEN_STATUSES,
                defaults={
                    "status": Finding.Status.NEW,
                    "kind": suggested.kind,
                    "title": suggested.title[: Finding._meta.get_field("title").max_length],
                    "description": suggested.description,
                    "signal": suggested.signal,
                    "value_before": suggested.value,
                },
            )
            if created:
                created_findings.append(finding)
    return created_findings


@transaction.atomic
def finding_value_after(*, finding: Finding, signals: TouchpointSignals) -> Finding:
    """Mark the finding done and record what its signal is now (`value_after`) beside what
    it was (`value_before`), so whether the improvement worked shows. `signals` are its
    touchpoint's, over a period after the change; the value is ``None`` when the finding names
    no signal or the small-group rule hides the figures."""
    if signals.touchpoint.pk != finding.touchpoint_id:
        raise ValueError("The signals are of another touchpoint than the finding's.")
    finding.status = Finding.Status.DONE
    finding.value_after = signal_value(signals, finding.signal)
    finding.done_at = clock.now()
    finding.save(update_fields=["status", "value_after", "done_at"])
    return finding


SUGGESTION_DAYS = 56
"""The suggestions read the signals of this many days up to today: eight weeks, so a
pattern rests on enough cases to act on."""


def journeys_suggest() -> list[Finding]:
    """Suggest findings on every live journey (`journey_suggest`)."""
    journeys = JourneyMap.objects.filter(status=JourneyMap.Status.LIVE).select_related("owner")
    return [finding for journey in journeys for finding in journey_suggest(journey)]


def journey_suggest(journey: JourneyMap) -> list[Finding]:
    """Suggest findings on `journey` from its last eight weeks, as its owner reads them (so
    a touchpoint the owner may not see in full keeps the small-group rule)."""
    today = local_today()
    period = day_period(today - dt.timedelta(days=SUGGESTION_DAYS - 1), today)
    metrics = selectors.journey_metrics(journey=journey, period=period, viewer=journey.owner)
    return findings_suggest(metrics=metrics)
