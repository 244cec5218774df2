"""A Redis cache that fails open, and figures kept in it until the rows they come from change.

The cache only ever makes pages faster. When Redis is unreachable every read is a miss and
every write is dropped (with a warning), so an outage degrades speed, not service.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

KEPT_SECONDS = 60 * 60
"""How long `kept_until_rewritten` keeps a result. A rewrite of its rows gives it a new key
at once, so this only bounds what the cache holds."""
_MISSING = object()


def kept_until_rewritten[T](
    version: Any, what: str, read: tuple[Any, ...], compute: Callable[[], T]
) -> T:
    """`compute()`, kept in the cache under a rollup's `version` and `read` (everything
    else the result depends on), and named by `what` (no spaces: it begins the key). A
    rollup gives its rows a new version in every transaction that rewrites them, so a
    result kept under the old one is never read again; with no version (rows never
    written) it is computed each time. For figures that every reader shares: anything that
    depends on the reader goes in `read`, or is asked apart."""
    if version is None:
        return compute()
    key = f"{what}:" + hashlib.sha256(repr((str(version), read)).encode()).hexdigest()
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, KEPT_SECONDS)
    return value


_OUTAGE = (RedisConnectionError, RedisTimeoutError)


class FailOpenRedisCache(RedisCache):
    def _fail_open(self, operation: str, default: Any, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except _OUTAGE as error:
            logger.warning("cache %s skipped, Redis unavailable: %s", operation, error)
            return default

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._fail_open("get", default, super().get, key, default, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._fail_open("get_many", {}, super().get_many, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._fail_open("has_key", False, super().has_key, key, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._fail_open("set", None, super().set, key, value, timeout, version)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._fail_open("add", False, super().add, key, value, timeout, version)

    def set_many(
        self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._fail_open("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._fail_open("touch", False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._fail_open("delete", False, super().delete, key, version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._fail_open("delete_many", None, super().delete_many, keys, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._fail_open("incr", delta, super().incr, key, delta, version)
