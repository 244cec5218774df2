"""The load generator: a small asyncio client (httpx) that signs in through the sign-in form
and times a fixed number of requests per scenario, one at a time, then `concurrency` at once.

The portal runs with production settings, so its cookies are `Secure`: a client speaking
plain HTTP to loopback would not send them back. The bench keeps each account's session
and CSRF cookies itself and sends them in a `Cookie` header.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.scenarios import Scenario

# esm.bench's headers, read without Django.
QUERIES_HEADER, STREAMED_HEADER, ID_HEADER = "X-Bench-Queries", "X-Bench-Streamed", "X-Bench-Id"
SIGN_IN_PATH = "/account/sign-in/"
TIMEOUT_SECONDS = 120


@dataclass
class Session:
    cookies: dict[str, str]

    def headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}


@dataclass
class Timings:
    """One scenario at one concurrency: what each request took and what went wrong."""

    seconds: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    streamed: list[str] = field(default_factory=list)
    """Ids of streamed responses: their whole query count is read from the cache after."""
    errors: int = 0
    first_error: str = ""
    wall_seconds: float = 0.0


async def sign_in(client: httpx.AsyncClient, *, username: str, password: str) -> Session:
    # Cookies the client kept (a server whose cookies are not `Secure`) belong to whoever
    # signed in before: each session is in its own Session, never in the shared jar.
    client.cookies.clear()
    form = await client.get(SIGN_IN_PATH)
    form.raise_for_status()
    csrf = form.cookies["csrftoken"]
    answer = await client.post(
        SIGN_IN_PATH,
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Cookie": f"csrftoken={csrf}"},
    )
    if answer.status_code != 302 or "sessionid" not in answer.cookies:
        raise RuntimeError(f"{username} could not sign in (HTTP {answer.status_code}).")
    client.cookies.clear()
    # Signing in rotates the CSRF token.
    return Session(
        {
            "sessionid": answer.cookies["sessionid"],
            "csrftoken": answer.cookies.get("csrftoken", csrf),
        }
    )


async def _one(
    client: httpx.AsyncClient, scenario: Scenario, session: Session, timings: Timings
) -> None:
    request_id = uuid.uuid4().hex
    headers = session.headers() | {ID_HEADER: request_id}
    started = time.perf_counter()
    try:
        if scenario.data is None:
            response = await client.get(scenario.url, headers=headers)
        else:
            data = scenario.data() | {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
            response = await client.post(scenario.url, data=data, headers=headers)
    except httpx.HTTPError as failure:
        timings.seconds.append(time.perf_counter() - started)
        _failed(timings, f"{type(failure).__name__}: {failure}")
        return
    timings.seconds.append(time.perf_counter() - started)
    if STREAMED_HEADER in response.headers:
        timings.streamed.append(request_id)
    elif QUERIES_HEADER in response.headers:
        timings.queries.append(int(response.headers[QUERIES_HEADER]))
    location = response.headers.get("location", "")
    if response.status_code not in scenario.ok or location.startswith(SIGN_IN_PATH):
        _failed(timings, f"HTTP {response.status_code} {location}".strip())


def _failed(timings: Timings, what: str) -> None:
    timings.errors += 1
    timings.first_error = timings.first_error or what


async def run(
    client: httpx.AsyncClient,
    scenario: Scenario,
    session: Session,
    *,
    requests: int,
    concurrency: int,
    into: Timings | None = None,
) -> Timings:
    """`requests` requests of `scenario`, `concurrency` in flight at any time; added to
    `into` when given (a scenario timed in several rounds)."""
    timings = Timings() if into is None else into
    left = iter(range(requests))

    async def worker() -> None:
        for _ in left:
            await _one(client, scenario, session, timings)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    timings.wall_seconds += time.perf_counter() - started
    return timings


def client(base_url: str, *, concurrency: int) -> httpx.AsyncClient:
    # Redirects are answers too (a submission's 302): never followed, so a scenario times
    # one request.
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least `share` of them do not exceed."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def summary(timings: Timings) -> dict[str, Any]:
    seconds = timings.seconds or [0.0]
    return {
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
        "rps": round(len(timings.seconds) / timings.wall_seconds, 1)
        if timings.wall_seconds
        else 0.0,
        "errors": timings.errors,
        "queries_per_request": max(timings.queries) if timings.queries else None,
    }
