"""Malformed input, over every write operation of the API (read from its OpenAPI schema) and
the portal's forms: a clear 4xx, never a 500, and nothing saved.

Each API operation is sent a body that is not JSON, JSON nested ten thousand levels deep,
JSON that is not an object, a type it does not take, and then a valid-looking body with one
field at a time made wrong: the wrong type (a number where text is expected), text longer
than allowed, a date that does not exist, a choice that is not one. Each is sent as the
requester, an agent of the request's department and a superuser, so the body reaches the
validation of those who may write, not only the permission check of those who may not.
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
from rest_framework.test import APIClient

from esm.models import Event
from services import actions
from services.models import FulfilmentTask
from tests.journeys.factories import JourneyMapFactory
from tests.services.factories import CatalogItemFactory, FormFieldFactory, QueueFactory
from tests.valuestreams.factories import ValueStreamFactory

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
    kind = prop.get("type")
    if "enum" in prop:
        return ["not-one-of-the-choices", 42, ["a"]]
    if kind in ("integer", "number"):
        return ["forty-two", 2**70, True, {"n": 1}]
    if kind == "boolean":
        return ["maybe", 7, ["yes"]]
    if kind in ("array", "object"):
        return ["text", 5, NESTED_VALUE]
    wrong: list[Any] = [12345, 3.5, True, ["text"], {"text": 1}, "\x00", HUGE]
    if "maxLength" in prop:
        wrong.append("y" * (prop["maxLength"] + 1))
    if prop.get("format") in ("date", "date-time"):
        wrong += ["2025-02-30", "yesterday", "9999-99-99T99:99"]
    return wrong


NESTED_VALUE = json.loads("[" * 200 + "]" * 200)


@pytest.fixture
def world(employee, it_agent, it_department, superuser):
    """One open request by the employee, its task claimed by the IT agent; a journey and a
    value stream whose slugs fill the schema's paths."""
    item = CatalogItemFactory(slug="laptop", service__department=it_department)
    FormFieldFactory(item=item, key="model", label="Model")
    QueueFactory(department=it_department, slug="it-desk")
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject="Laptop", answers=[], submission_key=uuid.uuid4().hex
    )
    task = FulfilmentTask.objects.filter(service_request=service_request).first()
    if task is not None:
        actions.task_claim(task=task, agent=it_agent)
    return {
        "reference": service_request.reference,
        "task_id": task.pk if task else 1,
        "consult_id": 1,
        "id": 1,
        "journeys": JourneyMapFactory().slug,
        "streams": ValueStreamFactory().slug,
        "queues": "it-desk",
        "people": [employee, it_agent, superuser],
    }


def _url(path: str, world: dict[str, Any]) -> str:
    parts = path.strip("/").split("/")
    filled = []
    for position, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            value = world[parts[position - 1]] if name == "slug" else world[name]
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
        ("nested in a field", ('{"subject": ' + NESTED + "}").encode(), "application/json"),
        ("a list", b"[1, 2, 3]", "application/json"),
        ("a string", b'"text"', "application/json"),
        ("not UTF-8", b'{"subject": "\xff\xfe"}', "application/json"),
        ("unknown type", b"subject=x", "text/plain"),
        ("XML", b"<subject>x</subject>", "application/xml"),
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
def test_malformed_api_input_is_a_clear_4xx_and_saves_nothing(world, method, path, properties):
    url = _url(path, world)
    before = _counts()
    answers = []
    for person in world["people"]:
        client = APIClient()
        client.force_login(person)
        for case, body, content_type in _bodies(properties):
            response = client.generic(method.upper(), url, body, content_type=content_type)
            answers.append((person.username, case, response.status_code))
            if response.status_code < 300:
                raise AssertionError(f"{person.username} {case}: accepted {response.content!r}")

    assert [answer for answer in answers if answer[2] not in ALLOWED] == []
    assert _counts() == before


def test_the_schema_names_every_write_operation():
    paths = {path for _, path, _ in OPERATIONS}

    assert "/api/v1/requests/" in paths
    assert "/api/v1/tasks/{task_id}/hand-off/" in paths
    assert len(OPERATIONS) >= 15


def test_a_page_post_without_its_csrf_token_is_403_and_saves_nothing(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["people"][0])
    before = _counts()

    response = client.post(
        reverse("catalog_item", args=["laptop"]),
        {"subject": "Laptop", "submission_key": uuid.uuid4().hex, "field_model": "X1"},
    )

    assert response.status_code == 403
    assert _counts() == before
