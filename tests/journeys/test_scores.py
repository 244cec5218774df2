"""Friction and emotion scores on hand-built signals, each answer worked out by hand."""

import pytest

from journeys.metrics import Distribution, TouchpointSignals
from journeys.models import FrictionWeight, Touchpoint
from journeys.scores import (
    DEFAULT_WEIGHTS,
    emotion_score,
    friction_score,
    score_weights,
    touchpoint_scored,
)

FRICTION = DEFAULT_WEIGHTS["friction"]
EMOTION = DEFAULT_WEIGHTS["emotion"]


def signals(**kwargs):
    kwargs.setdefault("cases", 10)
    kwargs.setdefault("resolution", Distribution(count=kwargs["cases"]))
    return TouchpointSignals(touchpoint=Touchpoint(name="Laptop request"), **kwargs)


def parts(score):
    return {part.name: (part.value, part.weight) for part in score.parts}


# Friction ---------------------------------------------------------------------------------


def test_friction_is_the_weighted_mean_of_the_parts_that_have_a_value():
    # wait 0.4 (weight 2), bounces 0.5 (2), reopens 10% of 20% = 0.5 (2), p85 36 h of 72 = 0.5
    # (1): (0.8 + 1.0 + 1.0 + 0.5) / 7 = 3.3 / 7.
    score = friction_score(
        signals(
            wait_share=0.4,
            bounces_per_request=0.5,
            reopen_rate=0.1,
            resolution=Distribution(count=10, p85=36.0),
        ),
        FRICTION,
    )

    assert score.value == pytest.approx(3.3 / 7)
    assert score.confidence == 10
    assert parts(score)["wait_share"] == (pytest.approx(0.4), 2.0)
    assert parts(score)["reopen_rate"] == (pytest.approx(0.5), 2.0)
    assert parts(score)["resolution"] == (pytest.approx(0.5), 1.0)
    assert parts(score)["abandonment_rate"] == (None, 1.0)


def test_friction_parts_are_capped_at_one():
    score = friction_score(
        signals(
            bounces_per_request=1.5,
            reopen_rate=0.3,
            resolution=Distribution(count=10, p85=100.0),
            consults_per_request=1.0,
            approval_delay=48.0,
            missing_information_rate=2.0,
        ),
        FRICTION,
    )

    values = {name: value for name, (value, _weight) in parts(score).items()}
    assert values["bounces_per_request"] == 1.0
    assert values["reopen_rate"] == 1.0
    assert values["resolution"] == 1.0
    assert values["consults_per_request"] == pytest.approx(0.5)
    assert values["approval_delay"] == 1.0
    assert values["missing_information_rate"] == 1.0
    # (2 + 2 + 1 + 0.5 * 0.5 + 0.5 + 1) / (2 + 2 + 1 + 0.5 + 0.5 + 1)
    assert score.value == pytest.approx(6.75 / 7)


def test_a_smooth_touchpoint_scores_zero_friction():
    score = friction_score(signals(wait_share=0.0, breach_rate=0.0), FRICTION)

    assert score.value == 0.0


def test_friction_is_none_without_any_part():
    score = friction_score(signals(cases=0), FRICTION)

    assert score.value is None
    assert score.parts == ()


def test_friction_is_none_when_the_small_group_rule_hides_the_signals():
    score = friction_score(signals(cases=3, wait_share=0.9, hidden=True), FRICTION)

    assert score.value is None
    assert score.parts == ()
    assert score.confidence == 3


def test_a_weight_of_zero_drops_a_part():
    # As the first example without the wait: (1.0 + 1.0 + 0.5) / 5.
    score = friction_score(
        signals(
            wait_share=0.4,
            bounces_per_request=0.5,
            reopen_rate=0.1,
            resolution=Distribution(count=10, p85=36.0),
        ),
        {"wait_share": 0.0},
    )

    assert score.value == pytest.approx(0.5)


# Weights ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_weights_are_the_defaults_without_rows(django_assert_num_queries):
    with django_assert_num_queries(1):
        weights = score_weights()

    assert weights == DEFAULT_WEIGHTS
    assert weights is not DEFAULT_WEIGHTS


@pytest.mark.django_db
def test_weight_rows_override_the_defaults_in_one_query(django_assert_num_queries):
    FrictionWeight.objects.create(score="friction", signal="wait_share", weight=0)
    FrictionWeight.objects.create(score="emotion", signal="rating_mean", weight=1)

    with django_assert_num_queries(1):
        weights = score_weights()

    assert weights["friction"]["wait_share"] == 0
    assert weights["friction"]["bounces_per_request"] == FRICTION["bounces_per_request"]
    assert weights["emotion"]["rating_mean"] == 1
    assert DEFAULT_WEIGHTS["friction"]["wait_share"] == 2.0

    scored = touchpoint_scored(
        signals(
            wait_share=0.4,
            bounces_per_request=0.5,
            reopen_rate=0.1,
            resolution=Distribution(count=10, p85=36.0),
        ),
        weights,
    )
    assert scored.friction.value == pytest.approx(0.5)


# Emotion ----------------------------------------------------------------------------------


def test_emotion_combines_ratings_words_and_behaviour():
    # rating 2 -> 0.25 (weight 3, response rate at the reference), sentiment -0.5 -> 0.25 (2),
    # reopens 10% -> 0.5 (1), bounces 0.5 -> 0.5 (1), breaches 20% -> 0.8 (1):
    # mean 3.05 / 8 = 0.38125, emotion 2 * 0.38125 - 1 = -0.2375.
    score = emotion_score(
        signals(
            ratings=3,
            response_rate=0.3,
            rating_mean=2.0,
            sentiment=-0.5,
            reopen_rate=0.1,
            bounces_per_request=0.5,
            breach_rate=0.2,
        ),
        EMOTION,
    )

    assert score.value == pytest.approx(-0.2375)
    assert score.confidence == 10
    assert parts(score)["rating_mean"] == (pytest.approx(0.25), pytest.approx(3.0))
    assert parts(score)["sentiment"] == (pytest.approx(0.25), 2.0)
    assert parts(score)["breach_rate"] == (pytest.approx(0.8), 1.0)


def test_mean_ratings_map_one_to_five_onto_minus_one_to_one():
    for rating, expected in [(1.0, -1.0), (3.0, 0.0), (5.0, 1.0)]:
        score = emotion_score(signals(response_rate=0.5, rating_mean=rating), EMOTION)
        assert score.value == pytest.approx(expected)


def test_sparse_ratings_weigh_less():
    behaviour = {"sentiment": 0.0, "reopen_rate": 0.0, "bounces_per_request": 0.0}
    behaviour["breach_rate"] = 0.0
    # Ratings all 1 (part 0); sentiment 0 -> 0.5 (weight 2); behaviour spotless -> 1 (1 each).
    # Well answered: (0 + 1 + 3) / (3 + 2 + 3) = 0.5 -> emotion 0.
    answered = emotion_score(signals(response_rate=0.3, rating_mean=1.0, **behaviour), EMOTION)
    # 3% answered: the ratings weigh 3 * 0.03 / 0.3 = 0.3: 4 / 5.3 -> 2 * 4 / 5.3 - 1.
    sparse = emotion_score(signals(response_rate=0.03, rating_mean=1.0, **behaviour), EMOTION)

    assert answered.value == pytest.approx(0.0)
    assert sparse.value == pytest.approx(2 * 4 / 5.3 - 1)
    assert parts(sparse)["rating_mean"][1] == pytest.approx(0.3)


def test_an_unknown_response_rate_is_taken_as_ratings_over_cases():
    score = emotion_score(signals(cases=20, ratings=3, rating_mean=5.0), EMOTION)

    # 3 / 20 = 15%, half the reference: weight 1.5.
    assert parts(score)["rating_mean"][1] == pytest.approx(1.5)


def test_emotion_is_none_without_any_part_or_when_hidden():
    assert emotion_score(signals(cases=0), EMOTION).value is None
    hidden = emotion_score(signals(cases=2, rating_mean=1.0, hidden=True), EMOTION)
    assert hidden.value is None
    assert hidden.parts == ()
    assert hidden.confidence == 2


def test_touchpoint_scored_fills_both_scores_and_keeps_the_rest():
    original = signals(wait_share=0.5, sentiment=1.0)

    scored = touchpoint_scored(original, DEFAULT_WEIGHTS)

    assert scored.friction.value == pytest.approx(0.5)
    assert scored.emotion.value == pytest.approx(1.0)
    assert scored.wait_share == 0.5
    assert scored.touchpoint is original.touchpoint
    assert original.friction.value is None
