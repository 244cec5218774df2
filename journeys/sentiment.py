"""Sentiment of short service feedback (an employee's comments on their request), by a word
lexicon shipped with the package (`journeys/data/sentiment.txt`).

Each word or short phrase of the lexicon scores -3 (strong complaint) to 3 (strong praise).
A text's sentiment is the mean score of the terms found in it over 3, so -1 to 1; `None`
when none of its words is scored. The longest phrase wins ("not working" is one term, not
"not" and "working"). A negation ("not", "never", "isn't", ...) up to three words before a
term turns its sign ("not good" reads as -2, "not bad" is a phrase of its own); a
negation's reach ends at punctuation.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MAX_SCORE = 3
NEGATION_REACH = 3
"""How many words before a term a negation still turns it."""

NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "hardly",
        "barely",
        "without",
        "cannot",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "wouldn't",
        "can't",
        "couldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "nor",
    }
)

_CLAUSE = re.compile(r"[.!?;:,()\n]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@cache
def lexicon() -> dict[tuple[str, ...], int]:
    """The shipped lexicon: the words of a term, and its score."""
    text = resources.files("journeys").joinpath("data/sentiment.txt").read_text("utf-8")
    terms: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        phrase, _, score = line.rpartition("\t")
        terms[tuple(_words(phrase))] = int(score)
    return terms


@cache
def _longest_term() -> int:
    return max(len(term) for term in lexicon())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def term_scores(text: str) -> list[int]:
    """The score of every term found in `text`, negation applied, in reading order."""
    terms = lexicon()
    scores = []
    for clause in _CLAUSE.split(text or ""):
        words = _words(clause)
        i = 0
        while i < len(words):
            for length in range(min(_longest_term(), len(words) - i), 0, -1):
                score = terms.get(tuple(words[i : i + length]))
                if score is not None:
                    break
            else:
                i += 1
                continue
            before = words[max(0, i - NEGATION_REACH) : i]
            if any(word in NEGATIONS for word in before):
                score = -score
            scores.append(score)
            i += length
    return scores


def sentiment(text: str) -> float | None:
    """-1 (complaint) to 1 (praise); None when no word of `text` is scored."""
    scores = term_scores(text)
    if not scores:
        return None
    return sum(scores) / len(scores) / MAX_SCORE
