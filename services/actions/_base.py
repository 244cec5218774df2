"""What every action module shares: refusals, locks, state changes with their events."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import router, transaction
from django.db.models import F

from esm import kept_queries
from esm.events import event_record
from services.models import Attachment, ServiceRequest
from services.uploads import attachment_content_type, upload_name_clean


class ActionRefused(Exception):
    """Not allowed in the current state; the message says why, in words for people."""


class StaleVersion(ActionRefused):
    """The object changed since the person loaded it; the message says who changed what."""


def request_event(service_request: ServiceRequest, kind: str, actor: Any, **details: Any) -> None:
    event_record(
        subject=service_request,
        kind=kind,
        actor=actor,
        department=service_request.department,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        **details,
    )


def request_lock(service_request: ServiceRequest) -> ServiceRequest:
    """The request read afresh under its row lock (FOR UPDATE), held until the transaction
    ends; call inside one. Its query is kept built: every action on a case takes it."""
    # Read where the ORM's select_for_update reads, as `instances_at` does.
    connection = transaction.get_connection(router.db_for_read(ServiceRequest))
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "request_lock holds a row lock: call it inside a transaction."
        )
    locked = kept_queries.instances_at(
        _request_lock_query(connection.vendor), keys={kept_queries.ID: service_request.pk}
    )
    if not locked:
        raise ServiceRequest.DoesNotExist(f"No request {service_request.pk}.")
    return locked[0]


@functools.lru_cache(maxsize=4)
def _request_lock_query(vendor: str) -> kept_queries.KeptInstances:
    """A request (`ID`), locked FOR UPDATE where the database has it."""
    return kept_queries.kept_instances(
        ServiceRequest.objects.select_for_update().filter(pk=kept_queries.ID), ()
    )


def request_set_state_for_update(
    service_request: ServiceRequest,
    state: str,
    actor: Any,
    kind: str,
    *,
    payload: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Move a request to `state`, bump its version and record the transition (`kind`, with
    the states in from/to).

    Call while holding the request's row lock (`request_lock`).
    """
    previous = service_request.state
    service_request.state = state
    service_request.version = F("version") + 1
    for name, value in fields.items():
        setattr(service_request, name, value)
    service_request.save(update_fields=["state", "version", "updated_at", *fields])
    service_request.refresh_from_db(fields=["version"])
    request_event(
        service_request, kind, actor, from_value=previous, to_value=state, payload=payload
    )


def attach(
    service_request: ServiceRequest, uploads: Iterable[tuple[str, UploadedFile]], by: Any
) -> None:
    """Keep the uploads (already checked by `validate_upload`) under clean names, typed by
    their checked extension rather than by what the sender declared."""
    for field_key, upload in uploads:
        upload.name = upload_name_clean(upload.name)
        Attachment.objects.create(
            service_request=service_request,
            uploaded_by=by,
            file=upload,
            name=upload.name,
            content_type=attachment_content_type(upload.name),
            size=upload.size,
            field_key=field_key,
        )
