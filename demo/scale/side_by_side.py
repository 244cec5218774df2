"""Named parts of work run by a few forked processes at once: each process is handed the
first part left that may start when it is done with one, so that the processes finish close
together and a part that reads another's rows starts once those are written."""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from django.db import connections

Part = tuple[str, Callable[[], Any]]
"""A name (several parts may share one) and the work."""


@dataclass
class Outcome:
    took: dict[str, float] = field(default_factory=dict)
    """Seconds by name, its parts' added up: the names whose parts all succeeded."""
    failures: dict[str, str] = field(default_factory=dict)
    """Why, by name: a part's traceback, its process's exit code, or why it never ran."""


def side_by_side(
    parts: list[Part],
    *,
    after: Mapping[str, str],
    processes: int,
    context: Callable[[], AbstractContextManager[Any]],
) -> Outcome:
    """Run `parts` in `processes` forked processes, each inside `context()`, in order but
    for `after` (a name -> the name whose parts must all be done before any of its parts
    starts; when one of those fails, its parts never run, nor those that wait for them). A
    part that fails does not stop the others. A forked process starts with this one's
    settings and code and opens its own database connection: this one's are closed first."""
    outcome = Outcome()
    left = Counter(name for name, _ in parts)  # parts not finished, by name
    waiting = list(range(len(parts)))
    connections.close_all()
    fork = multiprocessing.get_context("fork")
    started: dict[Connection, multiprocessing.process.BaseProcess] = {}
    underway: dict[Connection, int | None] = {}  # each live process's part, or None: idle
    ended_during_part: set[Connection] = set()
    for _ in range(min(processes, len(parts))):
        orders, theirs = fork.Pipe()
        process = fork.Process(target=_take_parts, args=(parts, theirs, context))
        process.start()
        theirs.close()
        started[orders] = process
        underway[orders] = None

    def failed(name: str, why: str) -> None:
        outcome.failures[name] = (
            f"{outcome.failures[name]}\n{why}" if name in outcome.failures else why
        )

    def finished(name: str, seconds: float = 0.0, failure: str | None = None) -> None:
        left[name] -= 1
        if failure is None:
            outcome.took[name] = outcome.took.get(name, 0.0) + seconds
            return
        failed(name, failure)
        for index in [index for index in waiting if after.get(parts[index][0]) == name]:
            waiting.remove(index)
            finished(parts[index][0], failure=f"not run: {name} failed")

    def hand_out() -> None:
        for orders in [orders for orders, index in underway.items() if index is None]:
            index = next((i for i in waiting if not left[after.get(parts[i][0], "")]), None)
            if index is None and waiting and any(i is not None for i in underway.values()):
                continue  # the parts left wait for one that is underway
            try:
                orders.send(index)  # None: no part left (or none that can ever start)
            except OSError:  # the process ended while idle: its exit code says how
                del underway[orders]
                continue
            if index is None:
                del underway[orders]
            else:
                waiting.remove(index)
                underway[orders] = index

    hand_out()
    while underway:
        # Idle processes are watched too: one that ends while idle is seen at once.
        for orders in wait(list(underway)):
            index = underway.pop(orders)
            try:
                result, detail = orders.recv()
            except EOFError:
                if index is not None:
                    ended_during_part.add(orders)
                    started[orders].join()
                    code = started[orders].exitcode
                    finished(
                        parts[index][0], failure=f"its process ended during it, exit code {code}"
                    )
                continue
            underway[orders] = None
            name = parts[index][0]
            if result == "failed":
                finished(name, failure=detail)
            else:
                finished(name, seconds=detail)
        hand_out()
    for index in waiting:  # every process ended, or what is left waits for what never ran
        failed(parts[index][0], "not run: no process was left to run it")
    for orders, process in started.items():
        process.join()
        orders.close()
        if process.exitcode and orders not in ended_during_part:
            failed("a process", f"it ended with exit code {process.exitcode}")
    for name in outcome.failures:
        outcome.took.pop(name, None)
    return outcome


def _take_parts(
    parts: list[Part], orders: Connection, context: Callable[[], AbstractContextManager[Any]]
) -> None:
    """In a forked process: the parts whose index `orders` hands out, until it hands out
    None; sends back each one's seconds, or its traceback when it failed."""
    try:
        with context():
            while (index := orders.recv()) is not None:
                began = time.monotonic()
                try:
                    parts[index][1]()
                except Exception:
                    orders.send(("failed", traceback.format_exc()))
                    connections.close_all()  # the next part starts on a fresh connection
                else:
                    orders.send(("done", time.monotonic() - began))
    finally:
        connections.close_all()
        orders.close()
