"""Outbound webhooks: one signed POST per attempt, and a delivery log that outlives rollbacks.

Why the log is written the way it is. An action runs inside its step's transaction (which
holds the request's row lock), and the engine rolls that transaction back when the action
raises: `TransientError` to retry, `PermanentError` to hand the step to a person. A log row
written through the step's connection would vanish exactly when it matters, on a failure,
and `transaction.on_commit` callbacks are discarded on rollback too. So:

- a delivered call's row is written in the step's transaction: it commits exactly once,
  with the step (if that commit fails, the step runs again and logs its new attempt);
- a failed call's row is written by a short-lived thread, which Django gives a connection
  of its own, in autocommit: the row commits on its own before the step rolls back.

The thread's INSERT must not wait on anything the step's transaction holds, or each would
wait for the other. Hence the row has no foreign key to the step run (the step holds that
row's lock, and a key check needs a share lock on it), only to the endpoint, which nothing
locks. On SQLite, where a writer needs the database's write lock, the action writes nothing
before the call, and the engine begins the step's transaction deferred
(`esm.sqlite.transaction_deferred`): it is still a reader when the thread writes.

The call itself is plain `urllib.request` (no new dependency). Redirects are not followed:
urllib would replay a POST as a bodiless GET and report its 200 as a success.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import connections

from services.automation.registry import PermanentError, TransientError
from services.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ESM-Signature"
IDEMPOTENCY_HEADER = "X-ESM-Idempotency-Key"
DELIVERY_HEADER = "X-ESM-Delivery"
USER_AGENT = "ESM-Portal-Webhooks/1"
EXCERPT_BYTES = 2000
# Statuses that say "later", not "no": a timeout or overload at the receiver.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# How long a failed attempt waits for its log row to be written before giving up on it.
LOG_WRITE_TIMEOUT_S = 10

Outcome = WebhookDelivery.Outcome


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header: HMAC-SHA256 of the raw body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx comes back as an HTTPError, refused below


_opener = urllib.request.build_opener(_NoRedirects)


def deliver(
    endpoint: WebhookEndpoint, *, body: bytes, step_key: str, attempt: int
) -> WebhookDelivery:
    """POST `body` to `endpoint` and log the attempt; raise for the engine unless delivered.

    2xx: delivered. Timeouts, connection errors, 5xx, 408, 425, 429: `TransientError`
    (the engine retries with backoff). Anything else (4xx, a redirect): `PermanentError`.
    Every attempt has its own delivery id; the idempotency key is the step's, the same on
    every attempt, so the receiver can drop repeats.
    """
    if urlsplit(endpoint.url).scheme not in {"http", "https"}:
        raise PermanentError(f"The webhook {endpoint.name!r} has no http(s) address.")
    delivery_id = uuid.uuid4()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(endpoint.secret, body),
        IDEMPOTENCY_HEADER: step_key,
        DELIVERY_HEADER: str(delivery_id),
    }
    answer = _post(endpoint, body, headers)
    delivery = WebhookDelivery(
        endpoint=endpoint,
        step_key=step_key,
        delivery_id=delivery_id,
        attempt=attempt,
        outcome=_outcome(answer),
        status_code=answer.status_code,
        response_excerpt=answer.excerpt,
        error=answer.error,
        duration_ms=answer.duration_ms,
    )
    if delivery.outcome == Outcome.DELIVERED:
        delivery.save(force_insert=True)
        return delivery
    _log_outside_the_step(delivery)
    what = f"HTTP {answer.status_code}" if answer.status_code else answer.error
    if answer.excerpt:
        what = f"{what}: {answer.excerpt[:300]}"
    if delivery.outcome == Outcome.FAILED:
        raise TransientError(f"The webhook {endpoint.name!r} failed ({what}).")
    raise PermanentError(f"The webhook {endpoint.name!r} refused the call ({what}).")


def _post(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> _Answer:
    # The scheme was checked by the caller: only http(s), never file: or ftp:.
    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")  # noqa: S310
    started = time.monotonic()
    status, excerpt, error = None, "", ""
    try:
        with _opener.open(request, timeout=endpoint.timeout_s) as response:
            status, excerpt = response.status, _excerpt(response)
    except urllib.error.HTTPError as refusal:
        status, excerpt = refusal.code, _excerpt(refusal)
        refusal.close()
    except urllib.error.URLError as failure:
        error = _describe(failure.reason, endpoint)
    except (TimeoutError, OSError, http.client.HTTPException) as failure:
        error = _describe(failure, endpoint)
    return _Answer(status, excerpt, error, round((time.monotonic() - started) * 1000))


def _excerpt(response: object) -> str:
    try:
        raw = response.read(EXCERPT_BYTES)  # type: ignore[attr-defined]
    except (OSError, http.client.HTTPException):
        return ""
    return raw.decode("utf-8", "replace").strip()


def _describe(failure: object, endpoint: WebhookEndpoint) -> str:
    if isinstance(failure, TimeoutError):
        return f"no answer within {endpoint.timeout_s}s"
    return f"connection failed: {failure}"


def _outcome(answer: _Answer) -> str:
    status = answer.status_code
    if status is not None and 200 <= status < 300:
        return Outcome.DELIVERED
    if status is None or status >= 500 or status in RETRYABLE_STATUSES:
        return Outcome.FAILED
    return Outcome.REFUSED


def _log_outside_the_step(delivery: WebhookDelivery) -> None:
    """Write `delivery` so that it survives the step's rollback (see the module docstring)."""

    def write() -> None:
        try:
            delivery.save(force_insert=True)
        except Exception:
            # The log must never turn a retryable failure into a worse one.
            logger.exception("Could not log webhook delivery %s", delivery.delivery_id)
        finally:
            connections.close_all()  # this thread's connections only

    writer = threading.Thread(target=write, name="webhook-delivery-log", daemon=True)
    writer.start()
    writer.join(LOG_WRITE_TIMEOUT_S)
    if writer.is_alive():
        logger.warning("Webhook delivery %s: log write still waiting", delivery.delivery_id)
