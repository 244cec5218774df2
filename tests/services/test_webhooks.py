"""Outbound webhooks against a real HTTP server on 127.0.0.1: signing, outcomes, the log.

Failed attempts are logged from a connection of their own, so that the row outlives the
step's rollback (see services/automation/webhooks.py). That connection sees only committed
rows, so the tests of failures run with `transaction=True`.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from esm.sqlite import transaction_deferred
from services import actions
from services.automation import registry, webhooks
from services.models import PlanStep, StepRun, WebhookDelivery, WebhookEndpoint
from tests.esm.factories import BusinessCalendarFactory
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

State = StepRun.State
SECRET = "s3cret-for-tests"


class Receiver:
    """What the test server got, and what it answers next: (status, body, delay, headers)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Message, bytes]] = []
        self.script: list[tuple[int, str, float, dict[str, str]]] = []
        self.url = ""

    def answer(self, status, body="", *, delay=0.0, headers=None, times=1):
        self.script.extend([(status, body, delay, headers or {})] * times)

    def next(self):
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def receiver():
    state = Receiver()
    state.answer(200, "ok")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append((self.headers, body))  # looked up case-insensitively
            status, text, delay, headers = state.next()
            time.sleep(delay)
            payload = text.encode()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/esm"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _company_calendar(db):
    BusinessCalendarFactory(name="Company", is_default=True)


def _endpoint(url, **extra):
    return WebhookEndpoint.objects.create(
        name=extra.pop("name", "payroll"), url=url, secret=SECRET, **extra
    )


def _submit(employee, *, params=None):
    """A request whose plan is one webhook step; returns its step run.

    In a transaction=True test the first attempt runs (eagerly) when the submission commits.
    """
    item = CatalogItemFactory()
    PlanStep.objects.create(
        item=item,
        key="notify-payroll",
        name="Tell payroll",
        kind=PlanStep.Kind.AUTOMATED,
        department=item.department,
        action="generic.webhook",
        params={"endpoint": "payroll", **(params or {})},
    )
    actions.service_request_submit(
        item=item,
        raised_by=employee,
        subject="New starter",
        answers=[
            {
                "key": "start_date",
                "label": "Start",
                "kind": "date",
                "value": "2030-01-07",
                "display": "7 January 2030",
            }
        ],
        submission_key=uuid.uuid4().hex,
    )
    return StepRun.objects.get(run__service_request__subject="New starter")


def _call_once(step_run):
    """Call the action once as the engine does: inside a transaction that its error undoes."""
    step_run = StepRun.objects.select_related("run__service_request").get(pk=step_run.pk)
    service_request = step_run.run.service_request
    context = registry.StepContext(
        step_run=step_run,
        service_request=service_request,
        params=step_run.params,
        answers=registry.answers_of(service_request),
    )
    with transaction_deferred(), transaction.atomic():
        return registry.get("generic.webhook").handler(context)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_body_is_signed_with_the_endpoint_secret_and_carries_the_step(employee, receiver):
    _endpoint(receiver.url)
    step_run = _submit(employee, params={"event": "new_starter"})

    assert actions.step_run_execute(step_run.pk) == "succeeded"

    [(headers, body)] = receiver.calls
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-ESM-Signature"], f"sha256={expected}")
    assert headers["X-ESM-Idempotency-Key"] == step_run.idempotency_key
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["event"] == "new_starter"
    assert sent["reference"] == sent["request"]["reference"]
    assert sent["request"]["requester"]["username"] == "employee"
    assert sent["step"] == {
        "key": "notify-payroll",
        "name": "Tell payroll",
        "idempotency_key": step_run.idempotency_key,
    }
    assert sent["answers"] == {"start_date": "2030-01-07"}
    delivery = WebhookDelivery.objects.get()
    assert headers["X-ESM-Delivery"] == str(delivery.delivery_id)
    assert (delivery.outcome, delivery.status_code, delivery.attempt) == ("delivered", 200, 1)
    assert delivery.response_excerpt == "ok"
    step_run.refresh_from_db()
    assert step_run.result["status_code"] == 200


def test_a_signature_made_with_another_secret_does_not_verify():
    body = b'{"event": "x"}'

    assert webhooks.signature(SECRET, body) != webhooks.signature("other", body)
    assert webhooks.signature(SECRET, body) != webhooks.signature(SECRET, body + b" ")


@pytest.mark.django_db(transaction=True)
def test_a_5xx_is_transient_and_its_attempt_is_logged_despite_the_rollback(employee, receiver):
    receiver.script[:] = []
    receiver.answer(503, "down for maintenance")
    _endpoint(receiver.url)
    step_run = _submit(employee)  # the first attempt ran at submission
    WebhookDelivery.objects.all().delete()

    with pytest.raises(registry.TransientError, match="HTTP 503: down for maintenance"):
        _call_once(step_run)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code) == ("failed", 503)
    assert delivery.step_key == step_run.idempotency_key


@pytest.mark.django_db(transaction=True)
def test_a_timeout_is_transient_and_logged(employee, receiver):
    receiver.script[:] = []
    receiver.answer(200, "too late", delay=2)
    _endpoint(receiver.url, timeout_s=1)
    item_step = _submit(employee)
    WebhookDelivery.objects.all().delete()

    with pytest.raises(registry.TransientError, match="no answer within 1s"):
        _call_once(item_step)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code) == ("failed", None)
    assert 900 <= delivery.duration_ms < 2000


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_is_transient_and_logged(employee):
    _endpoint(f"http://127.0.0.1:{_free_port()}/nobody-listens")
    step_run = _submit(employee)
    WebhookDelivery.objects.all().delete()

    with pytest.raises(registry.TransientError, match="connection failed"):
        _call_once(step_run)

    assert WebhookDelivery.objects.get().error.startswith("connection failed")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("status", "headers"),
    [(422, {}), (404, {}), (302, {"Location": "http://127.0.0.1:9/elsewhere"})],
)
def test_a_4xx_or_a_redirect_is_permanent_and_logged(employee, receiver, status, headers):
    receiver.script[:] = []
    receiver.answer(status, "no such employee", headers=headers)
    _endpoint(receiver.url)
    step_run = _submit(employee)
    WebhookDelivery.objects.all().delete()

    with pytest.raises(registry.PermanentError, match=f"refused the call \\(HTTP {status}"):
        _call_once(step_run)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code) == ("refused", status)
    assert len(receiver.calls) == 2  # the submission's attempt and ours: no redirect followed


@pytest.mark.django_db(transaction=True)
def test_a_busy_receiver_is_retried_with_growing_backoff_then_handed_to_a_person(
    employee, receiver
):
    receiver.script[:] = []
    receiver.answer(503, "busy")
    _endpoint(receiver.url)
    step_run = _submit(employee)  # attempt 1, at submission
    delays = []

    while True:
        step_run.refresh_from_db()
        if step_run.state != State.PENDING:
            break
        delays.append((step_run.due_at - step_run.enqueued_at).total_seconds())
        StepRun.objects.filter(pk=step_run.pk).update(due_at=None)  # time passes
        actions.step_run_execute(step_run.pk)

    assert [round(delay) for delay in delays] == [2, 4, 8, 16]
    assert step_run.state == State.WITH_PEOPLE
    assert "Gave up after 5 tries" in step_run.last_error
    assert "HTTP 503: busy" in step_run.task.handoff_reason
    log = WebhookDelivery.objects.order_by("created_at", "id")
    assert list(log.values_list("attempt", "outcome", "status_code")) == [
        (attempt, "failed", 503) for attempt in range(1, 6)
    ]
    assert len({delivery.delivery_id for delivery in log}) == 5
    keys = {headers["X-ESM-Idempotency-Key"] for headers, _ in receiver.calls}
    assert keys == {step_run.idempotency_key}


@pytest.mark.django_db(transaction=True)
def test_a_retry_that_gets_through_completes_the_step_with_one_delivered_row(employee, receiver):
    receiver.script[:] = []
    receiver.answer(500, "oops")
    receiver.answer(204)
    _endpoint(receiver.url)
    step_run = _submit(employee)
    StepRun.objects.filter(pk=step_run.pk).update(due_at=None)

    assert actions.step_run_execute(step_run.pk) == "succeeded"

    log = WebhookDelivery.objects.order_by("created_at", "id")
    assert list(log.values_list("attempt", "outcome", "status_code")) == [
        (1, "failed", 500),
        (2, "delivered", 204),
    ]
    step_run.refresh_from_db()
    assert (step_run.state, step_run.attempts) == (State.SUCCEEDED, 2)


def test_an_unknown_or_inactive_endpoint_goes_to_a_person(employee, receiver):
    _endpoint(receiver.url, active=False)
    step_run = _submit(employee)

    with pytest.raises(registry.PermanentError, match="No active webhook endpoint"):
        _call_once(step_run)
    assert receiver.calls == []


def test_only_http_addresses_are_called(employee):
    _endpoint("ftp://127.0.0.1/upload")
    step_run = _submit(employee)

    with pytest.raises(registry.PermanentError, match="no http"):
        _call_once(step_run)
    assert not WebhookDelivery.objects.exists()
