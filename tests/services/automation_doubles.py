"""Stand-in automated actions for plan tests, and helpers to build plans from them.

The actions are registered for one test at a time by the `test_actions` fixture
(tests/conftest.py), which takes them out of the global registry again afterwards: the
registry the admin and the worker read never keeps them.
"""

import datetime as dt

from esm import clock
from services import actions
from services.automation import registry
from services.models import PlanStep

CALLS: list[str] = []


def record(context: registry.StepContext) -> dict:
    CALLS.append(context.key)
    return {"called": context.value("label", "")}


def always_busy(context: registry.StepContext) -> dict:
    raise registry.TransientError("service busy")


def always_refused(context: registry.StepContext) -> dict:
    raise registry.PermanentError("account name taken")


def buggy(context: registry.StepContext) -> dict:
    return {"oops": 1 / 0}


def sleep_a_day(context: registry.StepContext) -> dict:
    raise registry.NotYet(clock.now() + dt.timedelta(days=1))


TEST_ACTIONS = {
    action.key: action
    for action in (
        registry.Action("test.record", "Record the call (tests)", record),
        registry.Action("test.transient", "Always busy (tests)", always_busy),
        registry.Action("test.permanent", "Always refused (tests)", always_refused),
        registry.Action("test.buggy", "Has a bug (tests)", buggy),
        registry.Action("test.sleep", "Sleeps a day (tests)", sleep_a_day),
    )
}


def plan_step(item, key, *, kind="automated", action="test.record", after=(), **extra):
    step = PlanStep.objects.create(
        item=item,
        key=key,
        name=key.replace("-", " ").capitalize(),
        kind=kind,
        department=extra.pop("department", item.department),
        action=action if kind == "automated" else "",
        position=extra.pop("position", PlanStep.objects.filter(item=item).count()),
        **extra,
    )
    step.after.set(after)
    return step


def submit(item, user, answers=None):
    rows = [
        {"key": key, "label": key, "kind": "text", "value": value, "display": value}
        for key, value in (answers or {}).items()
    ]
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=user, subject="Onboard Kim", answers=rows, submission_key="k"
    )
    return service_request
