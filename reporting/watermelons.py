"""Green outside, red inside: the rule that calls a service a watermelon.

A service is a watermelon when its end-to-end target attainment meets the attainment
target while its experience rating is below the point at which its decision maker acts,
on at least `SMALL_GROUP` ratings (fewer say too little to call it). Both thresholds are
the measures' own, edited in the portal: the `end_to_end_attainment` measure's `target`
and the `experience_rating` measure's `act_at`; where a measure is missing or has none,
the settings `WATERMELON_ATTAINMENT_TARGET` and `WATERMELON_RATING_BELOW` stand in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from reporting.models import Measure
from valuestreams.metrics import SMALL_GROUP

ATTAINMENT = "end_to_end_attainment"
RATING = "experience_rating"


@dataclass(frozen=True)
class Thresholds:
    attainment_target: float
    """Attainment from which the service looks green (a share, 0-1)."""
    rating_below: float
    """Mean rating (1-5) under which the experience is red."""


def watermelon_thresholds() -> Thresholds:
    """The two thresholds, read from the measures (one query)."""
    measures = {m.key: m for m in Measure.objects.filter(key__in=[ATTAINMENT, RATING])}
    attainment = measures.get(ATTAINMENT)
    rating = measures.get(RATING)
    return Thresholds(
        attainment_target=(
            attainment.target
            if attainment and attainment.target is not None
            else settings.WATERMELON_ATTAINMENT_TARGET
        ),
        rating_below=(
            rating.act_at
            if rating and rating.act_at is not None
            else settings.WATERMELON_RATING_BELOW
        ),
    )


def is_watermelon(
    *, attainment: float | None, rating: float | None, ratings: int, thresholds: Thresholds
) -> bool:
    """Whether targets are met (`attainment`) while the experience (`rating`, the mean of
    `ratings` ratings) is below its threshold."""
    if attainment is None or rating is None or ratings < SMALL_GROUP:
        return False
    return attainment >= thresholds.attainment_target and rating < thresholds.rating_below
