"""Malformed input, over every write operation of the API (read from its OpenAPI schema) and
the portal's forms: a clear 4xx, never a 500, and nothing saved.

Each API operation is sent a body that is not JSON, JSON nested ten thousand levels deep,
JSON that is not an object, bytes that are not UTF-8, a type it does not take, and then a
valid-looking body with one field at a time made wrong, one value per kind of wrong: the
wrong type, a container where a scalar is expected, a NUL, text longer than allowed, a
number too big, a date that does not exist, a choice that is not one. Each is sent as the
person who may write there (the requester on their request, the agent holding the task,
the owner of the journey or stream), so the body reaches validation, not only the
permission check; who may not write is the permission matrix's to prove.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from esm.models import Event
from journeys import actions as journey_actions
from journeys.models import Finding, Touchpoint
from tests.security.world import World

pytestmark = pytest.mark.django_db

ALLOWED = {400, 403, 404, 405, 409, 413, 415, 422, 429}
WRITES = {"post", "put", "patch"}
NESTED = "[" * 10_000 + "]" * 10_000
HUGE = "x" * 20_001  # over every max_length the API declares


def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(_resolve(schema, part))
        return merged
    return node


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = _schema()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in WRITES:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            properties = {}
            if body:
                resolved = _resolve(schema, body["schema"])
                properties = {
                    name: _resolve(schema, prop)
                    for name, prop in resolved.get("properties", {}).items()
                    if not prop.get("readOnly")
                }
            if body:  # an operation without a body (take-next) reads none
                found.append((method, path, properties))
    return found


OPERATIONS = _operations()


def _valid(prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        return next(value for value in prop["enum"] if value not in (None, ""))
    kind = prop.get("type")
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if prop.get("format") == "date":
        return "2025-06-02"
    if prop.get("format") == "date-time":
        return "2025-06-02T09:00:00+00:00"
    return "something ordinary"


def _wrong_values(prop: dict[str, Any]) -> list[Any]:
    """One value per kind of wrong for the field: each kind meets its own check."""
    kind = prop.get("type")
    if "enum" in prop:
        return ["not-one-of-the-choices", 42]
    if kind in ("integer", "number"):
        return ["forty-two", 2**70]
    if kind == "boolean":
        return ["maybe", ["yes"]]
    if kind in ("array", "object"):
        return ["text", NESTED_VALUE]
    too_long = "y" * (prop["maxLength"] + 1) if "maxLength" in prop else HUGE
    wrong: list[Any] = [12345, ["text"], "\x00", too_long]
    if prop.get("format") in ("date", "date-time"):
        wrong.append("2025-02-30")
    return wrong


NESTED_VALUE = json.loads("[" * 200 + "]" * 200)


@pytest.fixture(scope="module")
def api(world: World, django_db_blocker) -> dict[str, Any]:
    """What fills the schema's paths, from the shared world: the IT request and its task
    (claimed by the IT agent), the consult HR asked IT and its task, a finding on the
    journey."""
    with django_db_blocker.unblock():
        touchpoint = Touchpoint.objects.get(stage__journey__slug=world.journey_slug)
        finding = journey_actions.finding_save(
            touchpoint=touchpoint,
            by=world.people["it_manager"],
            kind=Finding.Kind.PAIN_POINT,
            title="Slow",
            description="",
        )
    return {
        "reference": world.it_case.service_request.reference,
        "task_id": world.it_case.task.pk,
        "consult_id": world.consult.pk,
        "id": finding.pk,
        "journeys": world.journey_slug,
        "streams": world.stream_slug,
        "queues": world.it_queue.slug,
    }


def _writer(path: str, world: World, api: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Who may write at `path` (so the body reaches validation), and the path's values."""
    if path.startswith("/api/v1/requests/"):
        return "employee", api
    if path.endswith("/answer/"):  # the consult's own task, in the consulted department
        return "it_agent", api | {"task_id": world.consult.consult_task_id}
    if "/consults/{consult_id}/" in path:  # the asking task, in HR
        return "hr_agent", api | {"task_id": world.hr_case.task.pk}
    if path.startswith("/api/v1/tasks/"):
        return "it_agent", api
    return "it_manager", api  # the owner of the journey and of the stream


def _url(path: str, values: dict[str, Any]) -> str:
    parts = path.strip("/").split("/")
    filled = []
    for position, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            value = values[parts[position - 1]] if name == "slug" else values[name]
            filled.append(str(value))
        else:
            filled.append(part)
    return "/" + "/".join(filled) + "/"


def _counts() -> dict[str, int]:
    counted = [
        model
        for model in apps.get_models()
        if model._meta.app_label in {"esm", "services", "journeys", "valuestreams", "reporting"}
    ]
    return {model._meta.label: model.objects.count() for model in counted} | {
        "events": Event.objects.count()
    }


def _bodies(properties: dict[str, dict[str, Any]]) -> list[tuple[str, bytes, str]]:
    raw = [
        ("not JSON", b'{"subject": "unterminated', "application/json"),
        ("nested", NESTED.encode(), "application/json"),
        ("a list", b"[1, 2, 3]", "application/json"),
        ("not UTF-8", b'{"subject": "\xff\xfe"}', "application/json"),
        ("unknown type", b"<subject>x</subject>", "application/xml"),
    ]
    base = {name: _valid(prop) for name, prop in properties.items()}
    for name, prop in properties.items():
        for number, wrong in enumerate(_wrong_values(prop)):
            body = json.dumps({**base, name: wrong}).encode()
            raw.append((f"{name}#{number}", body, "application/json"))
    return raw


@pytest.mark.parametrize(
    ("method", "path", "properties"),
    OPERATIONS,
    ids=[f"{method.upper()} {path}" for method, path, _ in OPERATIONS],
)
def test_malformed_api_input_is_a_clear_4xx_and_saves_nothing(world, api, method, path, properties):
    persona, values = _writer(path, world, api)
    client = world.clients[persona]
    url = _url(path, values)
    before = _counts()
    answers = []
    for case, body, content_type in _bodies(properties):
        response = client.generic(method.upper(), url, body, content_type=content_type)
        answers.append((case, response.status_code))
        if response.status_code < 300:
            raise AssertionError(f"{persona} {case}: accepted {response.content!r}")

    assert [answer for answer in answers if answer[1] not in ALLOWED] == []
    assert _counts() == before


def test_the_schema_names_every_write_operation():
    paths = {path for _, path, _ in OPERATIONS}

    assert "/api/v1/requests/" in paths
    assert "/api/v1/tasks/{task_id}/hand-off/" in paths
    assert len(OPERATIONS) >= 15


def test_a_page_post_without_its_csrf_token_is_403_and_saves_nothing(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.people["employee"])
    before = _counts()

    response = client.post(
        reverse("catalog_item", args=["laptop"]),
        {"subject": "Laptop", "submission_key": uuid.uuid4().hex},
    )

    assert response.status_code == 403
    assert _counts() == before
