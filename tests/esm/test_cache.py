"""The Redis cache fails open: an outage costs speed, never a page or a submission."""

import logging
import os
import socket
import uuid

import pytest

from esm.cache import FailOpenRedisCache, kept_until_rewritten


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_cache(closed_port):
    return FailOpenRedisCache(f"redis://127.0.0.1:{closed_port}/0", {})


def test_get_during_an_outage_returns_the_default(unreachable_cache):
    assert unreachable_cache.get("queue:it") is None
    assert unreachable_cache.get("queue:it", "fallback") == "fallback"


def test_add_during_an_outage_reports_nothing_added(unreachable_cache):
    assert unreachable_cache.add("queue:it", 1) is False


def test_get_many_during_an_outage_finds_nothing(unreachable_cache):
    assert unreachable_cache.get_many(["queue:it", "queue:hr"]) == {}


def test_has_key_during_an_outage_is_false(unreachable_cache):
    assert unreachable_cache.has_key("queue:it") is False


def test_get_or_set_during_an_outage_returns_the_computed_value(unreachable_cache):
    assert unreachable_cache.get_or_set("queue:it", lambda: 42) == 42


def test_writes_during_an_outage_are_dropped_without_raising(unreachable_cache):
    unreachable_cache.set("queue:it", 1)
    unreachable_cache.set_many({"queue:it": 1, "queue:hr": 2})
    unreachable_cache.touch("queue:it")
    unreachable_cache.incr("queue:it")
    assert unreachable_cache.delete("queue:it") is False
    unreachable_cache.delete_many(["queue:it", "queue:hr"])


def test_an_outage_is_logged_as_a_warning(unreachable_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="esm.cache"):
        unreachable_cache.get("queue:it")

    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "Redis unavailable" in caplog.records[0].getMessage()


@pytest.fixture
def real_redis():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set: no real Redis to round-trip through")
    # A prefix of its own, so parallel runs sharing the Redis never see each other's keys.
    return FailOpenRedisCache(url, {"KEY_PREFIX": f"esm-test-cache-{uuid.uuid4().hex}"})


def test_a_round_trip_through_the_real_redis_works(real_redis):
    real_redis.set("greeting", {"hello": "world"}, timeout=60)
    try:
        assert real_redis.get("greeting") == {"hello": "world"}
        assert real_redis.add("greeting", "other") is False
        assert real_redis.get_many(["greeting", "missing"]) == {"greeting": {"hello": "world"}}
    finally:
        real_redis.delete("greeting")

    assert real_redis.get("greeting", "gone") == "gone"


class Counted:
    """A computation that says how often it ran."""

    def __init__(self, value):
        self.value, self.runs = value, 0

    def __call__(self):
        self.runs += 1
        return self.value


@pytest.mark.usefixtures("own_cache")
def test_a_result_is_kept_under_its_version_and_what_it_read():
    version = uuid.uuid4()
    figures = Counted({"cases": 3})

    assert kept_until_rewritten(version, "figures", ("May",), figures) == {"cases": 3}
    assert kept_until_rewritten(version, "figures", ("May",), figures) == {"cases": 3}
    assert figures.runs == 1
    # Read of something else, or named otherwise: computed on its own.
    kept_until_rewritten(version, "figures", ("June",), figures)
    kept_until_rewritten(version, "other-figures", ("May",), figures)
    assert figures.runs == 3


@pytest.mark.usefixtures("own_cache")
def test_a_new_version_is_computed_again():
    figures = Counted({"cases": 3})
    kept_until_rewritten(uuid.uuid4(), "figures", ("May",), figures)
    figures.value = {"cases": 4}

    assert kept_until_rewritten(uuid.uuid4(), "figures", ("May",), figures) == {"cases": 4}


@pytest.mark.usefixtures("own_cache")
def test_without_a_version_nothing_is_kept():
    figures = Counted(0)  # a falsy result is kept like any other, given a version

    for _ in range(2):
        assert kept_until_rewritten(None, "figures", ("May",), figures) == 0
    assert figures.runs == 2
    version = uuid.uuid4()
    for _ in range(2):
        kept_until_rewritten(version, "figures", ("May",), figures)
    assert figures.runs == 3
