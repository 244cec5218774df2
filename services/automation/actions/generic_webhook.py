"""Generic: call an outbound webhook with a signed JSON body (see automation/webhooks.py)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder

from services.automation import webhooks
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import WebhookEndpoint


@action(
    "generic.webhook",
    label="Call a webhook",
    inputs=(
        Input("endpoint", "Name of the webhook endpoint (admin: Webhook endpoints)"),
        Input("event", "The body's event name (default: step.<step key>)", required=False),
    ),
)
def call_webhook(context: StepContext) -> dict[str, Any]:
    name = str(context.require("endpoint"))
    endpoint = WebhookEndpoint.objects.filter(name=name, active=True).first()
    if endpoint is None:
        raise PermanentError(f"No active webhook endpoint is called {name!r}.")
    body = json.dumps(payload(context), cls=DjangoJSONEncoder, sort_keys=True).encode()
    delivery = webhooks.deliver(
        endpoint, body=body, step_key=context.key, attempt=context.step_run.attempts + 1
    )
    return {
        "endpoint": endpoint.name,
        "status_code": delivery.status_code,
        "delivery": str(delivery.delivery_id),
    }


def payload(context: StepContext) -> dict[str, Any]:
    service_request = context.service_request
    step_run = context.step_run
    return {
        "event": str(context.value("event") or f"step.{step_run.step_key}"),
        "reference": service_request.reference,
        "request": {
            "reference": service_request.reference,
            "subject": service_request.subject,
            "catalog_item": service_request.catalog_item.name,
            "department": service_request.department.slug,
            "state": service_request.state,
            "priority": service_request.priority,
            "requester": _person(service_request.requester),
            "raised_by": _person(service_request.raised_by),
            "submitted_at": service_request.submitted_at,
        },
        "step": {
            "key": step_run.step_key,
            "name": step_run.name,
            "idempotency_key": context.key,
        },
        "answers": dict(context.answers),
    }


def _person(user: AbstractBaseUser) -> dict[str, Any]:
    return {
        "username": user.get_username(),
        "name": user.get_full_name(),
        "email": user.email,
    }
