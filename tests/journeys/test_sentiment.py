"""The lexicon scorer on short feedback, worked out by hand from the shipped lexicon."""

import pytest

from journeys.sentiment import lexicon, sentiment, term_scores


def approx(value):
    return pytest.approx(value, abs=1e-9)


def test_the_lexicon_ships_with_the_package_and_stays_in_range():
    terms = lexicon()
    assert len(terms) >= 300
    assert all(-3 <= score <= 3 and score != 0 for score in terms.values())
    assert terms[("thank", "you")] == 2
    assert terms[("not", "working")] == -2


@pytest.mark.parametrize(
    ("text", "scores", "expected"),
    [
        ("Thank you, great job!", [2, 2], 2 / 3),
        ("This is terrible.", [-3], -1),
        ("Quick and helpful", [2, 2], 2 / 3),
        ("Slow, but fixed", [-1, 2], 1 / 6),
    ],
)
def test_mean_of_the_terms_over_the_strongest_score(text, scores, expected):
    assert term_scores(text) == scores
    assert sentiment(text) == approx(expected)


def test_a_negation_turns_the_terms_after_it():
    assert sentiment("not good") == approx(-2 / 3)
    assert sentiment("It wasn't helpful at all") == approx(-2 / 3)
    assert sentiment("I did not find it helpful") == approx(-2 / 3)
    # ...until the clause ends.
    assert sentiment("Not sure. Great service") == approx(2 / 3)


def test_a_phrase_is_one_term_with_its_own_negation():
    assert term_scores("Not bad") == [1]
    assert term_scores("The laptop is still not working") == [-2]
    assert term_scores("No problem, thanks") == [1, 2]


def test_nothing_to_score_is_none_not_neutral():
    assert sentiment("AB123456C") is None
    assert sentiment("") is None
    assert sentiment("The desk is on floor 3") is None
