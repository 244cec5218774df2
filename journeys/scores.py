"""How a touchpoint's signals become its friction and emotion scores.

This module is the reference the journey pages link to: every formula below is the one the
code runs, and every constant it names is defined here.

Both scores are **weighted means of parts**. Each part is one signal of
`journeys.metrics.TouchpointSignals`, normalised to 0-1. A part whose signal has no value (no
case gave it one) is left out of the mean: it neither helps nor hurts. Each part is listed in
`Score.parts` with its normalised value (``None`` when left out) and its weight, so a page can
show what a score is made of. `Score.confidence` is the number of cases (resolved requests)
it rests on. When the small-group rule holds the figures back (`signals.hidden`), or no part
has a value, the score is ``None`` and lists no parts.

Weights
    `DEFAULT_WEIGHTS` below, by score and signal. Admins tune them with `FrictionWeight` rows
    (one per score and signal), which override the defaults; `score_weights()` reads them.
    A weight of 0 drops a part. A signal missing from the weights passed in keeps its default.

Friction score, 0 (smooth) to 1 (painful)
    ``friction = sum(weight * part) / sum(weight)`` over the parts that have a value, where
    each part is, 1 being the most painful:

    - ``wait_share``: the teams' waiting over the time to resolution, as is
    - ``bounces_per_request``: bounces per request, capped at `BOUNCES_CAP` (1)
    - ``consults_per_request``: consults per request / `CONSULTS_REFERENCE` (2), capped at 1
    - ``reopen_rate``: reopen rate / `REOPEN_RATE_REFERENCE` (20% is 1), capped
    - ``resolution``: p85 time to resolution / `RESOLUTION_REFERENCE_HOURS` (72 h,
      three days elapsed), capped at 1
    - ``approval_delay``: mean approval hours / `APPROVAL_REFERENCE_HOURS` (24 h), capped
    - ``missing_information_rate``: asks for missing information per request, capped at
      `MISSING_INFORMATION_CAP` (1)
    - ``breach_rate``: share of requests past their end-to-end target, as is
    - ``low_rating_share``: share of ratings of 1-2, as is
    - ``abandonment_rate``: share of form starts that no request came from, as is

Emotion score, -1 (bad) to 1 (good)
    Experience is inferred, not only surveyed. Ratings are sparse and skewed to the unhappy,
    so the score combines what employees say (ratings, the sentiment of their own comments)
    with what they do (reopen, get bounced around, wait past their target). Each part is
    normalised to 0-1, 1 being the best feeling:

    - ``rating_mean``: mean rating mapped 1..5 to 0..1: ``(mean - 1) / 4``
    - ``sentiment``: comment sentiment mapped -1..1 to 0..1: ``(s + 1) / 2``
    - ``reopen_rate``: ``1 - min(reopen rate / REOPEN_RATE_REFERENCE, 1)``
    - ``bounces_per_request``: ``1 - min(bounces per request / BOUNCES_CAP, 1)``
    - ``breach_rate``: ``1 - breach rate`` (waits past the end-to-end target)

    ``emotion = 2 * sum(weight * part) / sum(weight) - 1``, which is the same weighted mean
    taken on the -1..1 scale (a mean rating of 1 counts -1, of 3 counts 0, of 5 counts +1).

    **Sparse ratings weigh less.** The weight of ``rating_mean`` is multiplied by
    ``min(1, response_rate / RESPONSE_RATE_REFERENCE)``: at a response rate of 30% or more
    ratings carry their full weight; at 3% they carry a tenth of it, so a few angry ratings
    do not decide alone. When the response rate is unknown it is taken as ratings / cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from journeys.metrics import Score, ScorePart, TouchpointSignals
from journeys.models import FrictionWeight

__all__ = [
    "APPROVAL_REFERENCE_HOURS",
    "BOUNCES_CAP",
    "CONSULTS_REFERENCE",
    "DEFAULT_WEIGHTS",
    "MISSING_INFORMATION_CAP",
    "REOPEN_RATE_REFERENCE",
    "RESOLUTION_REFERENCE_HOURS",
    "RESPONSE_RATE_REFERENCE",
    "emotion_score",
    "friction_score",
    "rating_weight_factor",
    "score_weights",
    "touchpoint_scored",
]

BOUNCES_CAP = 1.0
"""Bounces per request at which the bounce part is at its worst (one bounce per request)."""
CONSULTS_REFERENCE = 2.0
"""Consults per request at which the consult part is at its worst. Consulting is often
healthy, so it takes two per request to count fully."""
REOPEN_RATE_REFERENCE = 0.2
"""A reopen rate of 20% counts as the worst: one request in five came back."""
RESOLUTION_REFERENCE_HOURS = 72.0
"""A p85 time to resolution of three days (elapsed) or more counts as the worst."""
APPROVAL_REFERENCE_HOURS = 24.0
"""A mean approval delay of a day or more counts as the worst."""
MISSING_INFORMATION_CAP = 1.0
"""Asks for missing information per request at which that part is at its worst."""
RESPONSE_RATE_REFERENCE = 0.3
"""The response rate (rated / resolved requests) from which ratings carry their full weight
in the emotion score; below it their weight shrinks in proportion."""

FRICTION = FrictionWeight.Score.FRICTION.value
EMOTION = FrictionWeight.Score.EMOTION.value

DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    FRICTION: {
        "wait_share": 2.0,
        "bounces_per_request": 2.0,
        "consults_per_request": 0.5,
        "reopen_rate": 2.0,
        "resolution": 1.0,
        "approval_delay": 0.5,
        "missing_information_rate": 1.0,
        "breach_rate": 1.5,
        "low_rating_share": 1.0,
        "abandonment_rate": 1.0,
    },
    EMOTION: {
        "rating_mean": 3.0,
        "sentiment": 2.0,
        "reopen_rate": 1.0,
        "bounces_per_request": 1.0,
        "breach_rate": 1.0,
    },
}
"""The weights of each score's parts unless a `FrictionWeight` row says otherwise."""


def score_weights() -> dict[str, dict[str, float]]:
    """The weights in force: `DEFAULT_WEIGHTS` overridden by the `FrictionWeight` rows, read
    in one query. A row for a signal the defaults do not name is kept (and unused)."""
    weights = {score: dict(parts) for score, parts in DEFAULT_WEIGHTS.items()}
    for score, signal, weight in FrictionWeight.objects.values_list("score", "signal", "weight"):
        weights.setdefault(score, {})[signal] = weight
    return weights


def _capped(value: float | None, reference: float) -> float | None:
    """`value / reference`, kept within 0-1."""
    if value is None:
        return None
    return _clamp(value / reference)


def _clamp(value: float | None, low: float = 0.0, high: float = 1.0) -> float | None:
    if value is None:
        return None
    return min(max(value, low), high)


def _inverse(value: float | None) -> float | None:
    return None if value is None else 1.0 - value


# The friction parts: signal name -> its normalisation to 0-1 (1 = most painful).
_FRICTION_PARTS: tuple[tuple[str, Callable[[TouchpointSignals], float | None]], ...] = (
    ("wait_share", lambda s: _clamp(s.wait_share)),
    ("bounces_per_request", lambda s: _capped(s.bounces_per_request, BOUNCES_CAP)),
    ("consults_per_request", lambda s: _capped(s.consults_per_request, CONSULTS_REFERENCE)),
    ("reopen_rate", lambda s: _capped(s.reopen_rate, REOPEN_RATE_REFERENCE)),
    ("resolution", lambda s: _capped(s.resolution.p85, RESOLUTION_REFERENCE_HOURS)),
    ("approval_delay", lambda s: _capped(s.approval_delay, APPROVAL_REFERENCE_HOURS)),
    (
        "missing_information_rate",
        lambda s: _capped(s.missing_information_rate, MISSING_INFORMATION_CAP),
    ),
    ("breach_rate", lambda s: _clamp(s.breach_rate)),
    ("low_rating_share", lambda s: _clamp(s.low_rating_share)),
    ("abandonment_rate", lambda s: _clamp(s.abandonment_rate)),
)

# The emotion parts: signal name -> its normalisation to 0-1 (1 = best feeling).
_EMOTION_PARTS: tuple[tuple[str, Callable[[TouchpointSignals], float | None]], ...] = (
    ("rating_mean", lambda s: _clamp(None if s.rating_mean is None else (s.rating_mean - 1) / 4)),
    ("sentiment", lambda s: _clamp(None if s.sentiment is None else (s.sentiment + 1) / 2)),
    ("reopen_rate", lambda s: _inverse(_capped(s.reopen_rate, REOPEN_RATE_REFERENCE))),
    ("bounces_per_request", lambda s: _inverse(_capped(s.bounces_per_request, BOUNCES_CAP))),
    ("breach_rate", lambda s: _inverse(_clamp(s.breach_rate))),
)


def _weighted_mean(parts: tuple[ScorePart, ...]) -> float | None:
    total = sum(part.weight for part in parts if part.value is not None)
    if total <= 0:
        return None
    return sum(part.weight * part.value for part in parts if part.value is not None) / total


def _weight(weights: Mapping[str, float], score: str, signal: str) -> float:
    return float(weights.get(signal, DEFAULT_WEIGHTS[score][signal]))


def friction_score(signals: TouchpointSignals, weights: Mapping[str, float]) -> Score:
    """0 (smooth) to 1 (painful): the weighted mean of the friction parts that have a value
    (see the module's documentation). `weights` are the friction weights, by signal."""
    if signals.hidden:
        return Score(None, confidence=signals.cases)
    parts = tuple(
        ScorePart(name, normalise(signals), _weight(weights, FRICTION, name))
        for name, normalise in _FRICTION_PARTS
    )
    value = _weighted_mean(parts)
    if value is None:
        return Score(None, confidence=signals.cases)
    return Score(value, parts, signals.cases)


def rating_weight_factor(signals: TouchpointSignals) -> float:
    """How much of their weight the ratings carry: ``min(1, response rate / reference)``,
    the response rate being ratings / cases when not given."""
    response_rate = signals.response_rate
    if response_rate is None:
        response_rate = signals.ratings / signals.cases if signals.cases else 0.0
    return min(1.0, max(response_rate, 0.0) / RESPONSE_RATE_REFERENCE)


def emotion_score(signals: TouchpointSignals, weights: Mapping[str, float]) -> Score:
    """-1 (bad) to 1 (good): ratings, comment sentiment and behaviour (reopens, bounces,
    breached targets) as one weighted mean, the ratings' weight shrunk when the response
    rate is low (see the module's documentation). `weights` are the emotion weights."""
    if signals.hidden:
        return Score(None, confidence=signals.cases)
    parts = []
    for name, normalise in _EMOTION_PARTS:
        weight = _weight(weights, EMOTION, name)
        if name == "rating_mean":
            weight *= rating_weight_factor(signals)
        parts.append(ScorePart(name, normalise(signals), weight))
    mean = _weighted_mean(tuple(parts))
    if mean is None:
        return Score(None, confidence=signals.cases)
    return Score(2 * mean - 1, tuple(parts), signals.cases)


def touchpoint_scored(
    signals: TouchpointSignals, weights: Mapping[str, Mapping[str, float]]
) -> TouchpointSignals:
    """The signals with their emotion and friction scores filled in. `weights` are by score
    then signal, as `score_weights()` returns them."""
    return dataclasses.replace(
        signals,
        emotion=emotion_score(signals, weights.get(EMOTION, {})),
        friction=friction_score(signals, weights.get(FRICTION, {})),
    )
