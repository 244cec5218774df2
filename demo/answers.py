"""Filling in an item's request form the way people do, from the samples in
`demo/data/history.toml`."""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
from decimal import Decimal
from typing import Any

from demo.data import load
from services.forms import RequestForm
from services.models import CatalogItem, FormField

logger = logging.getLogger(__name__)

Kind = FormField.Kind


class Unanswerable(Exception):
    """The item has a required field the samples cannot fill in."""


def _previous_month(day: dt.date) -> str:
    return (day.replace(day=1) - dt.timedelta(days=1)).isoformat()[:7]


def _text(rng: random.Random, item: CatalogItem, spec: FormField, day: dt.date) -> str:
    samples = load("history")
    if spec.pattern:
        pool = samples["pattern_samples"].get(spec.pattern)
        value = rng.choice(pool).replace("{previous_month}", _previous_month(day)) if pool else ""
        if not value or not re.fullmatch(spec.pattern, value):
            raise Unanswerable(f"{item.slug}.{spec.key}: no sample for pattern {spec.pattern!r}")
        return value
    if spec.key == "invoice_number":
        return f"INV-{rng.randrange(10000, 99999)}"
    if spec.key == "details":
        pool = samples["detail_samples"].get(item.slug)
    elif spec.kind == Kind.LONG_TEXT:
        pool = samples["long_samples"].get(spec.key)
    else:
        pool = samples["text_samples"].get(spec.key)
    value = rng.choice(pool) if pool else f"{spec.label.rstrip('?')}: as discussed with my team."
    minimum = int(spec.min_value or 0)
    while len(value) < minimum:
        value += " It matters for the work this quarter."
    return value[: int(spec.max_value)] if spec.max_value else value


def _number(rng: random.Random, spec: FormField) -> str:
    low = spec.min_value if spec.min_value is not None else Decimal(1)
    high = spec.max_value if spec.max_value is not None else low + 100
    # Skewed towards the low end: most claims are small, most courses short.
    value = low + (high - low) * Decimal(rng.random() ** 3)
    if "amount" in spec.key or "cost" in spec.key:
        return str(max(low, value.quantize(Decimal("0.01"))))
    return str(max(int(low), min(int(high), int(value))))


def _answer(
    rng: random.Random, item: CatalogItem, spec: FormField, day: dt.date, colleagues: list[str]
) -> Any:
    """A valid answer to one field (conditional fields too: the form drops unneeded ones)."""
    kind = spec.kind
    if kind in (Kind.TEXT, Kind.LONG_TEXT):
        return _text(rng, item, spec, day)
    if kind == Kind.NUMBER:
        return _number(rng, spec)
    if kind == Kind.DATE:
        past = any(word in spec.key for word in ("spent", "effective"))
        offset = -rng.randint(1, 20) if past else rng.randint(3, 30)
        return (day + dt.timedelta(days=offset)).isoformat()
    if kind == Kind.CHOICE:
        return rng.choice(spec.choice_list)
    if kind == Kind.MULTI_CHOICE:
        options = spec.choice_list
        low = max(1, int(spec.min_value or 1))
        high = min(len(options), int(spec.max_value or 2), max(low, 2))
        return rng.sample(options, rng.randint(low, high))
    if kind == Kind.YES_NO:
        return rng.choice(["yes", "no"])
    if kind == Kind.PERSON:
        return rng.choice(colleagues)
    raise Unanswerable(f"{item.slug}.{spec.key}: {kind} fields are not answered by the demo")


def form_data(
    rng: random.Random, item: CatalogItem, day: dt.date, colleagues: list[str]
) -> dict[str, Any]:
    data = {}
    for spec in item.fields.all():
        if spec.kind == Kind.ATTACHMENT and not spec.required:
            continue
        # Optional fields are answered about half the time, as people do.
        if spec.required or spec.show_when_field_id or rng.random() < 0.5:
            try:
                data[f"field_{spec.key}"] = _answer(rng, item, spec, day, colleagues)
            except Unanswerable:
                if spec.required or spec.show_when_field_id:
                    raise
    return data


def subject(rng: random.Random, item: CatalogItem, data: dict[str, Any]) -> str:
    template = rng.choice(load("history")["subjects"].get(item.slug) or [item.name])
    values = {key.removeprefix("field_"): value for key, value in data.items()}
    try:
        return template.format(**values)[:200]
    except (KeyError, IndexError):
        return item.name


def answerable(items: list[CatalogItem], colleagues: list[str], seed: int) -> list[CatalogItem]:
    """The items whose form the samples fill in validly (checked on a few draws)."""
    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    fit = []
    for item in items:
        try:
            for _ in range(3):
                data = form_data(rng, item, dt.date(2026, 6, 1), colleagues)
                data.update(subject="check", submission_key="check")
                if not RequestForm(data=data, item=item).is_valid():
                    raise Unanswerable(item.slug)
        except Unanswerable:
            logger.info("the demo history leaves out %s: its form cannot be answered", item.slug)
            continue
        fit.append(item)
    return fit
