"""The bench's load generator and how it spreads a scenario's requests: no server needed."""

import asyncio

import httpx

from bench import load
from bench.scenarios import Scenario
from bench.web import round_shares


def test_a_scenarios_requests_are_spread_evenly_over_the_rounds():
    assert round_shares(30) == [6, 6, 6, 6, 6]
    assert round_shares(32) == [7, 7, 6, 6, 6]
    assert round_shares(2) == [1, 1]
    assert sum(round_shares(101)) == 101


def test_rounds_of_a_scenario_add_up_in_one_timing():
    answered = []

    def answer(request: httpx.Request) -> httpx.Response:
        answered.append(request.url.path)
        return httpx.Response(200, headers={"X-Bench-Queries": "3"})

    async def two_rounds() -> load.Timings:
        async with httpx.AsyncClient(
            base_url="http://bench.test", transport=httpx.MockTransport(answer)
        ) as client:
            scenario = Scenario(name="page", role="employee", url="/page/")
            session = load.Session({"sessionid": "s", "csrftoken": "t"})
            timings = await load.run(client, scenario, session, requests=2, concurrency=1)
            return await load.run(
                client, scenario, session, requests=3, concurrency=1, into=timings
            )

    timings = asyncio.run(two_rounds())

    assert answered == ["/page/"] * 5
    assert len(timings.seconds) == 5
    assert timings.queries == [3] * 5
    assert timings.errors == 0
    assert timings.wall_seconds >= sum(timings.seconds)  # both rounds
