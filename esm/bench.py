"""What `make bench` needs from the web process, switched on by `BENCH=1` only.

Neither is installed otherwise: production never serves the no-op page nor says how many
queries a page ran.

- `QueryCountMiddleware` counts the SQL statements a request runs, from the session
  lookup to the last template tag, and answers the count in the `X-Bench-Queries` header.
  A streamed response (an export) sends its headers before its rows are read: the header
  then counts the queries up to the first byte, `X-Bench-Streamed: 1` says so, and the
  whole count is left in the cache under the request's `X-Bench-Id` once the last row is
  sent (`streamed_count_key`).
- `noop` is the cheapest signed-in page: the session, the person and an empty answer. Its
  time is the framework's own cost, the floor every page is measured against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

QUERIES_HEADER = "X-Bench-Queries"
STREAMED_HEADER = "X-Bench-Streamed"
ID_HEADER = "X-Bench-Id"
STREAMED_COUNT_SECONDS = 3600


def streamed_count_key(request_id: str) -> str:
    return f"bench-streamed-queries:{request_id}"


class QueryCountMiddleware:
    """Outermost, so the session and the person are counted too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = _Counter()
        with _wrapped_everywhere(count):
            response = self.get_response(request)
        response[QUERIES_HEADER] = str(count.queries)
        if isinstance(response, StreamingHttpResponse):
            response[STREAMED_HEADER] = "1"
            if request_id := request.headers.get(ID_HEADER, ""):
                response.streaming_content = _counted(response.streaming_content, count, request_id)
        return response


def _counted(chunks: Any, count: _Counter, request_id: str) -> Iterator[Any]:
    with _wrapped_everywhere(count):
        yield from chunks
    cache.set(streamed_count_key(request_id), count.queries, STREAMED_COUNT_SECONDS)


class _Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ):
        self.queries += 1
        return execute(sql, params, many, context)


class _wrapped_everywhere:
    """`execute_wrapper` on every database alias (a read replica included)."""

    def __init__(self, wrapper: _Counter) -> None:
        self.managers = [connection.execute_wrapper(wrapper) for connection in connections.all()]

    def __enter__(self) -> None:
        for manager in self.managers:
            manager.__enter__()

    def __exit__(self, *exc: object) -> None:
        for manager in reversed(self.managers):
            manager.__exit__(*exc)


@require_GET
def noop(request: HttpRequest) -> HttpResponse:
    # Reading the person makes the session and user lookups happen, as on every page.
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")
