"""The demo's reuse across departments (`demo/data/reuse.toml`): items a department copied
from another as a starting point, through the real actions (`services.actions.reuse`) at
their moment in the past (`esm.clock`); one made its own and published, one still waiting
for the parts its department must name; then an origin's improvement since, which the
copies' pages show.

Run after the history, so the history's random draws do not change. Keyed by (origin,
department) for copies and (item, key) for added fields: seeding again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from demo.data import load
from esm import clock
from esm.models import Department
from services.actions import ActionRefused, catalog_item_copy, catalog_item_publish
from services.models import CatalogItem, FormField, Service

User = get_user_model()

# Catalog work happens in office hours: a copy made at midnight would read oddly.
MADE_AT = dt.time(10, 30)
ITEM_EDITS = ("name", "summary", "description")


class DemoReuseError(RuntimeError):
    """The reuse data itself is wrong (e.g. a copy to publish that still has open parts)."""


def seed() -> None:
    data = load("reuse")
    for spec in data["copies"]:
        _copy(spec)
    for spec in data["improvements"]:
        _improve(spec)


def _moment(days_ago: int) -> dt.datetime:
    day = timezone.localdate(clock.now()) - dt.timedelta(days=days_ago)
    return min(dt.datetime.combine(day, MADE_AT, tzinfo=dt.UTC), clock.now())


def _copy(spec: dict[str, Any]) -> None:
    origin = CatalogItem.objects.get(slug=spec["origin"])
    department = Department.objects.get(slug=spec["into"])
    if CatalogItem.objects.filter(copied_from=origin, department=department).exists():
        return
    manager = User.objects.get(username=spec["by"])
    with clock.travel(_moment(spec["days_ago"])), transaction.atomic():
        copy = catalog_item_copy(
            item=origin,
            department=department,
            by=manager,
            service=Service.objects.get(slug=spec["service"], department=department),
        )
        _make_own(copy, spec)
        if spec["publish"]:
            try:
                catalog_item_publish(item=copy, by=manager)
            except ActionRefused as refusal:
                raise DemoReuseError(f"{copy.slug}: {refusal}") from None


def _make_own(copy: CatalogItem, spec: dict[str, Any]) -> None:
    """The copy's own words and choices, saved as the admin saves an item: validated."""
    edits = [name for name in ITEM_EDITS if name in spec]
    for name in edits:
        setattr(copy, name, spec[name])
    if edits:
        copy.full_clean()
        copy.save(update_fields=edits)
    for key, changes in spec.get("fields", {}).items():
        field = copy.fields.get(key=key)
        if "label" in changes:
            field.label = changes["label"]
        if "choices" in changes:
            field.choices = "\n".join(changes["choices"])
        field.full_clean()
        field.save(update_fields=["label", "choices"])


def _improve(spec: dict[str, Any]) -> None:
    # Catalog configuration keeps no dates: what makes this an improvement "since" is that
    # it comes after the copies were taken.
    item = CatalogItem.objects.get(slug=spec["item"])
    with transaction.atomic():
        last = max((field.position for field in item.fields.all()), default=0)
        for place, field_spec in enumerate(spec["add_fields"], start=1):
            if item.fields.filter(key=field_spec["key"]).exists():
                continue
            field = FormField(
                item=item,
                key=field_spec["key"],
                label=field_spec["label"],
                kind=field_spec.get("kind", FormField.Kind.TEXT),
                required=field_spec.get("required", False),
                help_text=field_spec.get("help", ""),
                position=last + place * 10,
            )
            field.full_clean()
            field.save()
