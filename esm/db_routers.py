"""Reads of the measuring pages go to a read replica, when there is one.

With `DATABASE_REPLICA_URL` set, the settings add a `replica` alias (a streaming replica of
the primary, read-only) and install `ReplicaRouter`. Writes always go to the primary.
A read goes to the replica only while `reading_from_replica()` is active and the primary
connection is not inside a transaction; everything else reads the primary.

Why a context, not a rule by model (app label): the heavy reads of the measuring pages are
reads of *services'* and *esm's* models (events, tasks, requests, ratings), the same models
every operational page and every action reads right after writing them. Routing by app
label would either send the queue pages' reads of `services` to a lagging copy (an agent
would not see the task they just claimed) or leave the measuring pages' heavy reads on the
primary. What decides is the page, not the model: value-stream maps, journey maps,
dashboards, the portfolio, the audit and the exports read figures that are minutes old by
design (rollups refreshed every few minutes), so a replica a second behind changes nothing
they show. `ReplicaReadsMiddleware` opens the context for them (GET and HEAD of a view in
`valuestreams`, `journeys` or `reporting`, editing pages excepted) and keeps it open while a
streamed export is read out.

Why never inside a transaction: a transaction on the primary that wrote (a rollup refresh,
an action, the "view recorded" write of a dashboard) must read what it wrote, and a read
of the replica inside it would also escape its snapshot. Rollup refreshes run on workers,
outside any context, so they read and write the primary only.

Sessions are always read from the primary: a session written at sign-in must be found at
the next request, however far the replica lags.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

REPLICA = "replica"

# Apps whose models are never read from the replica, whatever the page.
PRIMARY_ONLY_APPS = frozenset({"sessions"})

# The measuring apps: GET pages of their views read from the replica.
MEASURING_APPS = ("valuestreams", "journeys", "reporting")
# Views in these modules edit definitions: their forms must show what was just saved.
EDITING_MODULE = "editing"

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replica_reads", default=False
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Within the block, reads outside a transaction go to the replica (when configured).

    Safe to nest, and a no-op without a replica. Writes are never affected."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_alias() -> str:
    """The alias a read made now goes to (what the router answers for any model)."""
    if (
        _replica_reads.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


class PrimaryOnlyMigrations:
    """Migrations (and the checks that ask which databases hold a model) on the primary
    only: a physical replica follows the primary's schema, it is never migrated itself."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaRouter(PrimaryOnlyMigrations):
    """Reads to `read_alias()`; writes and migrations to the primary only."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the same rows: an object read from it relates to any other.
        return True


def is_measuring_view(view_func: Callable[..., Any]) -> bool:
    """A view of a measuring app that is not an editing page (class-based views included)."""
    module = getattr(view_func, "view_class", view_func).__module__
    app, _, rest = module.partition(".")
    return app in MEASURING_APPS and EDITING_MODULE not in rest.split(".")


def _streamed_from_replica(content: Iterator[bytes]) -> Iterator[bytes]:
    # A streamed export runs its queries while the server reads the response out, after
    # the view returned: the context is opened again around that reading.
    with reading_from_replica():
        yield from content


class ReplicaReadsMiddleware:
    """Runs the measuring apps' GET and HEAD views inside `reading_from_replica()`.

    The context opens once the view is known (after the middleware that signs the person
    in has read the primary) and closes when the response is complete, or, for a streamed
    export, once it has been read out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        finally:
            token = getattr(request, "_replica_reads_token", None)
            if token is not None:
                _replica_reads.reset(token)
        if token is not None and isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed_from_replica(response.streaming_content)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if request.method in ("GET", "HEAD") and is_measuring_view(view_func):
            request._replica_reads_token = _replica_reads.set(True)  # type: ignore[attr-defined]
