"""A person the directory deactivated leaves: their offboarding request is raised for them.

esm deactivates the person and, after commit, calls `offboarding_raise` (registered in
`ServicesConfig.ready` through `esm.provisioning.offboarding_handler_register`). The request
is the catalog item `settings.SCIM_OFFBOARDING_ITEM`, raised on the leaver's behalf by the
provisioning client's account, so its plan runs as for any leaver: accounts disabled, desk
released, laptop recovered.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from esm import clock
from esm.provisioning import Leaver
from services.actions import service_request_submit
from services.models import CatalogItem, FormField, ServiceRequest

logger = logging.getLogger(__name__)
User = get_user_model()

LEAVER, LAST_DAY, NOTES = "leaver", "last_day", "notes"


def _name(person: Any) -> str:
    return person.get_full_name() or person.get_username()


def _answers(item: CatalogItem, leaver: Any, raised_by: Any) -> list[dict[str, Any]] | None:
    """The item's form answered for a leaver, stored as a form stores it; None when the
    form asks something required that only a person can answer."""
    today = timezone.localdate(clock.now())
    note = f"Deactivated in the directory by {raised_by.first_name or 'provisioning'}."
    known = {
        LEAVER: {"value": leaver.pk, "display": _name(leaver)},
        LAST_DAY: {"value": today.isoformat(), "display": f"{today.day} {today:%B %Y}"},
        NOTES: {"value": note, "display": note},
    }
    rows = []
    for field in item.fields.all():
        answer = known.get(field.key)
        if answer is None or field.kind == FormField.Kind.ATTACHMENT:
            if field.required:
                return None
            continue
        rows.append({"key": field.key, "label": field.label, "kind": field.kind, **answer})
    return rows


def _has_open_offboarding(item: CatalogItem, leaver: Any) -> bool:
    # Open offboarding requests are few at any time; which one is about this leaver is in
    # their answers (a manager may have raised it before the directory caught up).
    for service_request in ServiceRequest.objects.filter(catalog_item=item).open():
        if service_request.requester_id == leaver.pk:
            return True
        if any(
            row.get("key") == LEAVER and row.get("value") == leaver.pk
            for row in service_request.answers
        ):
            return True
    return False


@transaction.atomic
def offboarding_raise(leaver: Leaver) -> ServiceRequest | None:
    """Raise the leaver's offboarding request, unless one is open already. Safe to run
    twice for one deactivation: the submission key is the deactivation's."""
    person = User.objects.select_for_update().get(pk=leaver.person_id)
    raised_by = User.objects.get(pk=leaver.raised_by_id)
    item = (
        CatalogItem.objects.filter(slug=settings.SCIM_OFFBOARDING_ITEM)
        .prefetch_related("fields")
        .first()
    )
    if item is None:
        logger.error(
            "No catalog item %r: %s left without an offboarding request.",
            settings.SCIM_OFFBOARDING_ITEM,
            person.get_username(),
        )
        return None
    if _has_open_offboarding(item, person):
        return None
    answers = _answers(item, person, raised_by)
    if answers is None:
        logger.error(
            "The item %r asks something only a person can answer: raise the offboarding of "
            "%s by hand.",
            item.slug,
            person.get_username(),
        )
        return None
    service_request, _ = service_request_submit(
        item=item,
        raised_by=raised_by,
        requester=person,
        subject=f"Leaver: {_name(person)}",
        answers=answers,
        submission_key=f"directory-leaver-{leaver.deactivation}",
    )
    return service_request
