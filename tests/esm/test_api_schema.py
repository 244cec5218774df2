"""The API keeps the promises of its OpenAPI schema, checked by schemathesis.

Calls are generated from the schema the portal serves (drf-spectacular) and sent through
the real WSGI application, signed in with a real session, once as an employee and once as
an IT agent. Every call must: never answer 500; answer only a status the operation
documents, with a body of the documented shape; accept input the schema says is valid;
refuse input the schema says is invalid (a number where text is expected included); and
refuse the call without the session. SCIM (`/scim/v2/`) is not in this schema (it follows
RFC 7644, with bearer tokens of its own) and is tested in test_scim.py.

Bounded so CI stays fast: a few generated calls per operation and phase, from a fixed seed,
derandomized, with no example database, so every run sends the same calls.
"""

import json
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.renderers import JSONRenderer
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from esm.models import Event
from services import actions
from services.models import Comment, FormField, FulfilmentTask, Queue, ServiceRequest
from tests.services.factories import CatalogItemFactory, FormFieldFactory

MAX_EXAMPLES = 4
SEED = 20_261_101
CSRF_TOKEN = secrets.token_hex(16)


def _served_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, as JSON (what a client reads)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(JSONRenderer().render(generated))


def _browser_like(handler: WSGIHandler) -> Callable[[dict, Callable], Iterable[bytes]]:
    """Sends the CSRF cookie and header a browser-side client would, so a change is judged
    on its input rather than refused for want of a token."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        cookies = [environ.get("HTTP_COOKIE", ""), f"csrftoken={CSRF_TOKEN}"]
        environ["HTTP_COOKIE"] = "; ".join(cookie for cookie in cookies if cookie)
        environ["HTTP_X_CSRFTOKEN"] = CSRF_TOKEN
        return handler(environ, start_response)

    return app


def _schema(*, phases: dict[str, Any]) -> Any:
    loaded = schemathesis.openapi.from_dict(
        SERVED,
        config=SchemathesisConfig.from_dict(
            {
                "seed": SEED,
                "generation": {
                    "max-examples": MAX_EXAMPLES,
                    "deterministic": True,
                    "database": "none",
                },
                "phases": phases,
            }
        ),
    )
    loaded.app = _browser_like(WSGIHandler())
    return loaded


SERVED = _served_schema()
# The employee's run adds the coverage phase (boundary values, each wrong type, each
# missing field); the agent's runs generated calls only, where the agent's roles matter.
as_employee = _schema(phases={"stateful": {"enabled": False}})
as_agent = _schema(phases={"coverage": {"enabled": False}, "stateful": {"enabled": False}})


@pytest.fixture
def in_process(settings, db):
    """The WSGI app runs inside the test's transaction: the test client's way, the
    connection is not closed at the end of each request."""
    settings.ALLOWED_HOSTS = ["localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def open_work(it_department, employee):
    """Something in every list: an IT item anyone may ask for, and the employee's request
    for it waiting as a task in the IT queue."""
    Queue.objects.create(department=it_department, name="IT", slug="it-desk", is_default=True)
    item = CatalogItemFactory(name="Laptop", slug="laptop", department=it_department)
    FormFieldFactory(item=item, key="model", label="Model", kind=FormField.Kind.TEXT)
    actions.service_request_submit(
        item=item,
        raised_by=employee,
        subject="A laptop for the new starter",
        answers=[
            {"key": "model", "label": "Model", "kind": "text", "value": "Mac", "display": "Mac"}
        ],
        submission_key="schema-run",
    )


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Event, ServiceRequest, FulfilmentTask, Comment)
    }


def _call_as(user: Any, case: Any) -> None:
    client = Client()
    client.force_login(user)
    case.cookies = {**(case.cookies or {}), "sessionid": client.cookies["sessionid"].value}
    # Calls without the session are test_no_operation_answers_without_a_session's. A body
    # that fits the schema may still name a row that does not exist (a queue's slug is a
    # string to the schema): refused with the documented 400, not a broken promise.
    case.call_and_validate(excluded_checks=[ignored_auth, positive_data_acceptance])


# The fixtures are shared by a test's generated calls on purpose: they are the world the
# calls act on.
SHARED_FIXTURES = hypothesis_settings(suppress_health_check=list(HealthCheck))


@as_employee.parametrize()
@SHARED_FIXTURES
def test_the_api_keeps_its_schema_for_an_employee(case, in_process, open_work, employee):
    _call_as(employee, case)


@as_agent.parametrize()
@SHARED_FIXTURES
def test_the_api_keeps_its_schema_for_an_agent(case, in_process, open_work, it_agent):
    _call_as(it_agent, case)


OPERATIONS = [
    (method, path) for path, operations in SERVED["paths"].items() for method in operations
]


def test_no_operation_answers_without_a_session(open_work):
    """Every operation in the schema, with real keys in its path: refused, nothing changed."""
    service_request = ServiceRequest.objects.get()
    task = service_request.tasks.get()
    keys = {
        "slug": "laptop",
        "key": "requests-opened",
        "reference": service_request.reference,
        "task_id": task.pk,
        "consult_id": task.pk,
        "id": 1,
    }
    before = _counts()

    answers = {
        (method, path): getattr(Client(), method)(
            path.format(**keys), content_type="application/json", data={}
        )
        for method, path in OPERATIONS
    }

    refused = {"detail": "Authentication credentials were not provided."}
    assert {
        operation: response.status_code
        for operation, response in answers.items()
        if response.status_code != 403 or response.json() != refused
    } == {}
    assert _counts() == before
