"""Replaying the past: stories advanced in time order under a simulated clock.

A story is a generator that yields the moment of its next step; the simulation moves
`esm.clock` there and resumes it, so every action stamps the moment it would have
happened at, and ids grow with time as they would in real life. Nothing is mocked.

While the past is replayed (`replaying_the_past()`):
- each action commits on its own (no surrounding transaction), so the work it publishes
  with `on_commit` runs at once, at the simulated moment, on Celery in eager mode;
- an automated step takes a few simulated seconds of its worker's time;
- e-mail goes to Django's dummy backend: nobody is told today about what "happened"
  weeks ago, and the messages are not even kept.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from celery.signals import task_prerun
from django.conf import settings
from django.db import connection

from esm import clock
from esm.celery import app as celery_app
from services import actions

logger = logging.getLogger(__name__)
TRACE_LOGGER = logging.getLogger("celery.app.trace")

# A story yields the moment of its next step; a part of one returns the moment it ended at.
Story = Generator[dt.datetime, None, None]
Part = Generator[dt.datetime, None, dt.datetime]

STEP_TASK = "services.tasks.run_step_task"
# How long an automated step keeps its worker busy, in seconds.
STEP_SECONDS = (3, 90)
DISCARD_MAIL = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


class Simulation:
    """Advances stories in time order, from their first moment until `real_now`."""

    def __init__(self, travel: clock.Travel, real_now: dt.datetime, seed: int) -> None:
        self.travel = travel
        self.real_now = real_now
        self.refused: list[str] = []
        self._pending: list[tuple[dt.datetime, int, Story]] = []
        self._order = itertools.count()
        self._rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets

    @property
    def now(self) -> dt.datetime:
        return self.travel.now

    def start(self, story: Story) -> None:
        """Add a story; its first step runs at the moment it yields first."""
        self._advance(next(self._order), story)

    def run(self) -> None:
        while self._pending:
            at, order, story = heapq.heappop(self._pending)
            # Never backwards: an automated step may have run a little past `at`.
            self.travel.to(max(at, self.now))
            self._advance(order, story)
        self.travel.to(self.real_now)

    def _advance(self, order: int, story: Story) -> None:
        try:
            at = next(story)
        except StopIteration:
            return
        except actions.ActionRefused as refusal:
            self.refused.append(str(refusal))
            return
        if at <= self.real_now:
            heapq.heappush(self._pending, (at, order, story))
        else:
            story.close()  # what it does next has not happened yet

    def step_takes_time(self, sender: Any = None, **kwargs: Any) -> None:
        """Celery's `task_prerun`: an automated step starts a few seconds after it was
        published (never after the real now)."""
        if getattr(sender, "name", "") != STEP_TASK:
            return
        later = self.now + dt.timedelta(seconds=self._rng.uniform(*STEP_SECONDS))
        self.travel.to(min(later, self.real_now))


@contextmanager
def replaying_the_past(
    start: dt.datetime, *, real_now: dt.datetime, seed: int
) -> Iterator[Simulation]:
    """A simulation from `start` to `real_now` (see the module docstring for what it sets).

    Precondition: no transaction is open, or the work published on commit would run only
    when it ends, at whatever moment the clock shows then.
    """
    if connection.in_atomic_block:
        logger.warning("The demo history runs inside a transaction: automated steps wait for it")
    conf = celery_app.conf
    eager, mailers = conf.task_always_eager, getattr(settings, "MAILERS", None)
    with clock.travel(start) as travel:
        simulation = Simulation(travel, real_now, seed)
        conf.task_always_eager = True
        settings.MAILERS = DISCARD_MAIL
        task_prerun.connect(simulation.step_takes_time, weak=False)
        # Celery logs every task it runs; eager, that is thousands of lines about the past.
        trace_level = TRACE_LOGGER.level
        TRACE_LOGGER.setLevel(logging.WARNING)
        try:
            with _fast_commits():
                yield simulation
        finally:
            TRACE_LOGGER.setLevel(trace_level)
            task_prerun.disconnect(simulation.step_takes_time)
            conf.task_always_eager = eager
            if mailers is None:
                del settings.MAILERS
            else:
                settings.MAILERS = mailers


@contextmanager
def _fast_commits() -> Iterator[None]:
    """On SQLite, thousands of small commits: let WAL skip the sync on each one (a crash
    can lose the last commits, never corrupt the file; the demo is seeded again)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {int(previous)}")
