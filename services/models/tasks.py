"""Department queues and the fulfilment tasks worked in them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Case, IntegerField, Q, Value, When

from esm import clock
from esm.models import Department
from esm.permissions import staff_department_ids
from services.models.catalog import Priority
from services.models.requests import ServiceRequest


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


class SlaStatus(models.TextChoices):
    BREACHED = "breached", "Breached"
    AT_RISK = "at_risk", "At risk"
    PAUSED = "paused", "Paused"
    ON_TRACK = "on_track", "On track"
    NONE = "none", "No SLA"


# Sort order of the queue: breached first, then at risk, then the rest by due time.
SLA_RANK = {
    SlaStatus.BREACHED: 0,
    SlaStatus.AT_RISK: 1,
    SlaStatus.ON_TRACK: 2,
    SlaStatus.PAUSED: 3,
    SlaStatus.NONE: 4,
}


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
        hidden = Q(consult__isnull=False, service_request__is_confidential=True) & ~Q(
            service_request__department_id__in=staff_department_ids(user)
        )
        return self.annotate(
            case_hidden=Case(
                When(hidden, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )

    def open(self) -> FulfilmentTaskQuerySet:
        return self.filter(state__in=FulfilmentTask.OPEN_STATES)

    def with_sla_status(self, now: Any = None) -> FulfilmentTaskQuerySet:
        """Annotate `sla_state` and `sla_rank` in SQL, so queues sort by urgency."""
        now = now or clock.now()
        missed = Q(resolution_due_at__lte=now) | Q(
            responded_at__isnull=True, response_due_at__lte=now
        )
        status = Case(
            When(resolution_due_at__isnull=True, then=Value(SlaStatus.NONE.value)),
            When(sla_breached=True, then=Value(SlaStatus.BREACHED.value)),
            When(sla_paused_at__isnull=False, then=Value(SlaStatus.PAUSED.value)),
            When(missed, then=Value(SlaStatus.BREACHED.value)),
            When(at_risk_at__lte=now, then=Value(SlaStatus.AT_RISK.value)),
            default=Value(SlaStatus.ON_TRACK.value),
            output_field=models.CharField(),
        )
        rank = Case(
            *[When(sla_state=key.value, then=Value(order)) for key, order in SLA_RANK.items()],
            output_field=IntegerField(),
        )
        return self.annotate(sla_state=status).annotate(sla_rank=rank)

    def by_urgency(self) -> FulfilmentTaskQuerySet:
        return self.with_sla_status().order_by(
            "sla_rank", models.F("resolution_due_at").asc(nulls_last=True), "created_at"
        )


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

    # The SLA clock, kept in business time of the department's calendar by services.sla.
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
            models.Index(fields=["assignee", "state"], name="task_by_assignee"),
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
