"""The one source of "now" for actions, selectors and models.

Everything that stamps or compares a moment asks `clock.now()`. In production it is the
real time. The demo's history and tests move it with `clock.travel()`, so what they record
is stamped exactly as it would have been, without patching Django or the standard library.

The moment lives in a context variable: a simulated time set in one thread (the demo
loader, a test) never leaks into another (a live server, a worker).
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import models
from django.utils import timezone

_simulated: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "esm_clock_simulated", default=None
)


def now() -> dt.datetime:
    """The current moment (aware, UTC): simulated inside `travel()`, real otherwise."""
    moment = _simulated.get()
    return moment if moment is not None else timezone.now()


class Travel:
    """A simulated clock, moved explicitly; it never runs on by itself."""

    def __init__(self, moment: dt.datetime) -> None:
        self.to(moment)

    def to(self, moment: dt.datetime) -> None:
        if timezone.is_naive(moment):
            raise ValueError("The clock only takes aware datetimes.")
        _simulated.set(moment.astimezone(dt.UTC))

    @property
    def now(self) -> dt.datetime:
        return now()


@contextmanager
def travel(moment: dt.datetime) -> Iterator[Travel]:
    """Within the block, `now()` is `moment` until moved with the returned `Travel.to()`."""
    token = _simulated.set(None)
    try:
        yield Travel(moment)
    finally:
        _simulated.reset(token)


class UpdatedAtField(models.DateTimeField):
    """`auto_now` read from this clock: stamped with `now()` on every save."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def pre_save(self, model_instance: models.Model, add: bool) -> dt.datetime:
        moment = now()
        setattr(model_instance, self.attname, moment)
        return moment
