"""The registry of automated actions: one module per action under `actions/`.

An action declares its inputs and does one thing. It receives a `StepContext` and must be
idempotent by `context.key` (run + step): running it twice has the effect of running it
once, because a worker killed mid-step runs it again.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.models import ServiceRequest, StepRun


class TransientError(Exception):
    """Worth another try later (a timeout, a busy service); retried with backoff."""


class PermanentError(Exception):
    """Will not work by retrying (bad input, refused); the step goes to a person."""


class NotYet(Exception):
    """The step cannot happen before `until` (e.g. a start date): it sleeps until then.

    The beat sweep wakes it when due, so no broker countdown ever outlives the broker's
    visibility timeout.
    """

    def __init__(self, until: dt.datetime, reason: str = "") -> None:
        super().__init__(reason or f"waiting until {until.isoformat()}")
        self.until = until


# A handler returning {AWAITING_APPROVAL: <approval id>} has opened an approval: the step
# waits with people until it is decided (approved: done; rejected: the request ends).
AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class StepContext:
    """What an action runs with. `step_run` carries the step as its run snapshotted it
    (`step_key`, `name`, `department`, `params`): read those, never `step_run.step`, the
    plan step as it is now, which may have been edited or deleted since the run started."""

    step_run: StepRun
    service_request: ServiceRequest
    params: Mapping[str, Any]
    answers: Mapping[str, Any]

    @property
    def key(self) -> str:
        return self.step_run.idempotency_key

    def value(self, name: str, default: Any = None) -> Any:
        """An input: the step's params first, then the request's answer of that name.

        A param written as "answer:<key>" reads that form answer instead.
        """
        raw = self.params.get(name, default)
        if isinstance(raw, str) and raw.startswith("answer:"):
            return self.answers.get(raw.removeprefix("answer:"), default)
        if raw is None:
            return self.answers.get(name, default)
        return raw

    def require(self, name: str) -> Any:
        value = self.value(name)
        if value in (None, ""):
            raise PermanentError(
                f"The step needs '{name}', and neither the plan nor the form gives it."
            )
        return value


Handler = Callable[[StepContext], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    handler: Handler
    inputs: tuple[Input, ...] = field(default_factory=tuple)


_ACTIONS: dict[str, Action] = {}


def action(key: str, *, label: str, inputs: tuple[Input, ...] = ()) -> Callable[[Handler], Handler]:
    """Register the decorated function as the action `key`."""

    def register(handler: Handler) -> Handler:
        if key in _ACTIONS and _ACTIONS[key].handler is not handler:
            raise ValueError(f"Two actions are registered as {key!r}.")
        _ACTIONS[key] = Action(key, label, handler, inputs)
        return handler

    return register


@functools.cache
def _load() -> None:
    """Import every action module once, so each registers its actions (listing the
    package's modules reads the disk: a worker's steps would pay it each time)."""
    from services.automation import actions

    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"{actions.__name__}.{module.name}")


def get(key: str) -> Action:
    _load()
    try:
        return _ACTIONS[key]
    except KeyError:
        raise PermanentError(f"No automated action is called {key!r}.") from None


def all_actions() -> list[Action]:
    _load()
    return sorted(_ACTIONS.values(), key=lambda action: action.key)


def answers_of(service_request: ServiceRequest) -> dict[str, Any]:
    return {row["key"]: row["value"] for row in service_request.answers}
