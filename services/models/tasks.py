"""Department queues and the fulfilment tasks worked in them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Case, Q, Value, When

from esm import clock
from esm.models import Department
from esm.permissions import staff_department_ids
from services.models.catalog import Priority
from services.models.clocks import ClockState, clock_rank_sql, clock_state_sql
from services.models.requests import ServiceRequest

if TYPE_CHECKING:
    from services.models.consults import Consult


class Queue(models.Model):
    """A department's shared list of tasks; its members are the department's agents."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="queues")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(
        default=False, help_text="Where the department's new requests arrive."
    )

    class Meta:
        ordering = ["department__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=Q(is_default=True),
                name="one_default_queue_per_department",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def department_target_sql(*, now: dt.datetime, prefix: str = "") -> Case:
    """The state of a task's department target in SQL; `prefix` reaches the task through
    a relation (`tasks__`)."""
    return clock_state_sql(
        due_at=f"{prefix}resolution_due_at",
        at_risk_at=f"{prefix}at_risk_at",
        paused_at=f"{prefix}sla_paused_at",
        breached=f"{prefix}sla_breached",
        stopped=Q(**{f"{prefix}state__in": FulfilmentTask.STOPPED_STATES}),
        stopped_at=f"{prefix}done_at",
        void=Q(**{f"{prefix}state": FulfilmentTask.State.CANCELLED}),
        now=now,
        response_missed=Q(
            **{f"{prefix}responded_at__isnull": True, f"{prefix}response_due_at__lte": now}
        ),
    )


def end_to_end_target_sql(*, now: dt.datetime, prefix: str = "") -> Case:
    """The state of a request's end-to-end target in SQL; `prefix` reaches the request
    through a relation (`service_request__`)."""
    return clock_state_sql(
        due_at=f"{prefix}end_to_end_due_at",
        at_risk_at=f"{prefix}end_to_end_at_risk_at",
        paused_at=f"{prefix}end_to_end_paused_at",
        breached=f"{prefix}end_to_end_breached",
        stopped=Q(**{f"{prefix}state__in": ServiceRequest.DONE_STATES}),
        stopped_at=f"{prefix}resolved_at",
        void=Q(**{f"{prefix}state__in": ServiceRequest.VOID_STATES}),
        now=now,
    )


# Orderings of a queryset annotated by `with_sla_status`: by clock state, then due time.
DEPARTMENT_URGENCY = (
    "sla_rank",
    models.F("resolution_due_at").asc(nulls_last=True),
    "created_at",
    "id",
)
# What `with_sla_status` annotates, each also alone (`with_clock`).
CLOCK_ANNOTATIONS = (
    "sla_state",
    "sla_rank",
    "end_to_end_state",
    "end_to_end_due",
    "end_to_end_rank",
)
END_TO_END_URGENCY = (
    "end_to_end_rank",
    models.F("end_to_end_due").asc(nulls_last=True),
    "created_at",
    "id",
)


class FulfilmentTaskQuerySet(models.QuerySet["FulfilmentTask"]):
    def visible_to(self, user: Any) -> FulfilmentTaskQuerySet:
        """Tasks of the departments `user` is staff of (agents and managers)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        staff_of = staff_department_ids(user)
        return self.filter(department_id__in=staff_of)

    def with_case_hidden(self, user: Any) -> FulfilmentTaskQuerySet:
        """Annotate `case_hidden`: a consult about a confidential case, for a viewer who is
        not staff of the case's department (the twin of `services.view_task_case`)."""
        return self.with_case_hidden_outside(staff_department_ids(user))

    def with_case_hidden_outside(self, departments: Iterable[int]) -> FulfilmentTaskQuerySet:
        """`with_case_hidden` for a viewer who is staff of `departments`."""
        hidden = Q(consult__isnull=False, service_request__is_confidential=True) & ~Q(
            service_request__department_id__in=departments
        )
        return self.annotate(
            case_hidden=Case(
                When(hidden, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )

    def open(self) -> FulfilmentTaskQuerySet:
        return self.filter(state__in=FulfilmentTask.OPEN_STATES)

    def with_sla_status(self, now: Any = None) -> FulfilmentTaskQuerySet:
        """Annotate both clocks in SQL (`clock_state_sql`), so queues sort and count by
        urgency: `sla_state`/`sla_rank` for the task's department target,
        `end_to_end_state`/`end_to_end_rank` (and `end_to_end_due`) for its request's
        end-to-end target."""
        return self.with_clock(*CLOCK_ANNOTATIONS, now=now)

    def with_clock(self, *names: str, now: Any = None) -> FulfilmentTaskQuerySet:
        """The annotations of `with_sla_status` named (`CLOCK_ANNOTATIONS`), those the
        queryset lacks. Each state or rank is a CASE of seven conditions that Django takes
        milliseconds to build: a queue's page sorts by one rank, and reads a state only when
        a filter asks for it."""
        wanted = [name for name in names if name not in self.query.annotations]
        if not wanted:
            return self
        now = now or clock.now()
        hidden = "case_hidden" in self.query.annotations

        def end_to_end_state() -> Any:
            state = end_to_end_target_sql(now=now, prefix="service_request__")
            if not hidden:
                return state
            # The request's promise is part of a confidential case: rows whose case is
            # hidden read "no target", so no filter, order or count can reveal it.
            return Case(
                When(case_hidden=True, then=Value(ClockState.NONE.value)),
                default=state,
                output_field=models.CharField(),
            )

        def end_to_end_due() -> Any:
            due = models.F("service_request__end_to_end_due_at")
            if not hidden:
                return due
            return Case(
                When(case_hidden=True, then=Value(None)),
                default=due,
                output_field=models.DateTimeField(),
            )

        annotations: dict[str, Callable[[], Any]] = {
            "sla_state": lambda: department_target_sql(now=now),
            "sla_rank": lambda: clock_rank_sql(department_target_sql(now=now)),
            "end_to_end_state": end_to_end_state,
            "end_to_end_due": end_to_end_due,
            "end_to_end_rank": lambda: clock_rank_sql(end_to_end_state()),
        }
        return self.annotate(**{name: annotations[name]() for name in wanted})

    def by_urgency(self, now: Any = None) -> FulfilmentTaskQuerySet:
        """Most urgent first by the department target: breached, at risk, then due time."""
        return self.with_clock("sla_rank", now=now).order_by(*DEPARTMENT_URGENCY)


class FulfilmentTask(models.Model):
    """One unit of work for one request in one department queue."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING_ON_EMPLOYEE = "waiting_on_employee", "Waiting on employee"
        WAITING_ON_DEPARTMENT = "waiting_on_department", "Waiting on another department"
        HANDED_OFF = "handed_off", "Handed off"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATES = (
        State.QUEUED,
        State.IN_PROGRESS,
        State.WAITING_ON_EMPLOYEE,
        State.WAITING_ON_DEPARTMENT,
    )
    # The department's part ended: its target reads met or missed from `done_at`. (A
    # cancelled task's target means nothing.)
    STOPPED_STATES = (State.DONE, State.HANDED_OFF)

    service_request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="tasks"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tasks")
    # Copied from the queue: the permission and reporting filters read it without a join.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=32, choices=State.choices, default=State.QUEUED)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tasks",
    )
    handed_off_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handoffs",
        help_text="The task whose work was handed to this one.",
    )
    handoff_reason = models.TextField(blank=True)
    # The plan step this task works, if any: set when a step is given to people, and
    # carried to the task a handoff creates, so every event of the work names its step.
    automation_run = models.ForeignKey(
        "services.AutomationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    step_key = models.SlugField(max_length=50, blank=True)
    resolution = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = clock.UpdatedAtField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    # The department target, kept in business time of the department's calendar by
    # services.sla: it starts when the work reaches this queue and stops at `done_at`.
    responded_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    at_risk_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_total = models.DurationField(
        default=dt.timedelta, help_text="Business time spent waiting on the employee so far."
    )
    sla_breached = models.BooleanField(default=False)
    sla_breached_at = models.DateTimeField(null=True, blank=True)

    objects = FulfilmentTaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["queue", "state", "resolution_due_at"], name="task_queue_urgency"),
            # An agent's open tasks, and the ones they finished since a moment.
            models.Index(fields=["assignee", "state", "done_at"], name="task_by_assignee"),
            # A department's open tasks (its overview, its staff's dashboard).
            models.Index(fields=["department", "state"], name="task_by_department_state"),
            models.Index(
                fields=["resolution_due_at"],
                condition=Q(sla_breached=False, sla_paused_at__isnull=True),
                name="task_breach_watch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_request.reference}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def consult_answered(self) -> Consult | None:
        """The consult this task answers, None for an ordinary task. Templates read this
        rather than `consult`, which raises when there is none: a template's failed lookup
        lists the task's every attribute (`dir`) before it gives up, on every row."""
        try:
            return self.consult
        except FulfilmentTask.consult.RelatedObjectDoesNotExist:
            return None


class CannedReply(models.Model):
    """A department's ready-made reply; {name} and {reference} are filled in."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="canned_replies"
    )
    title = models.CharField(max_length=100)
    body = models.TextField(help_text="Placeholders: {name} (the requester) and {reference}.")

    class Meta:
        ordering = ["department", "title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title

    def render(self, service_request: ServiceRequest) -> str:
        name = service_request.requester.get_full_name() or service_request.requester.get_username()
        return self.body.replace("{name}", name).replace("{reference}", service_request.reference)
