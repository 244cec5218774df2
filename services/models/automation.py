"""Fulfilment plans and their runs.

A plan is a catalog item's steps (human tasks in a queue, or automated actions) with
dependencies and conditions on the form's answers. Approving a request starts a run: one
step run per step. The step-run rows are the outbox of the automation: a step is done
when its row says so, whatever happened to the message that asked a worker to do it.

A run keeps a snapshot of its plan, taken when it starts: the run's `plan` (every step,
its condition included) and, on each step run, what that step executes (its name, kind,
owner, queue, action, params and dependencies). The automation runs from the snapshot, so
editing or deleting a plan's steps later changes new runs only, never a past run or the
events it recorded.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from esm import clock
from esm.models import Department
from services.models.catalog import CatalogItem
from services.models.requests import ServiceRequest
from services.models.tasks import FulfilmentTask, Queue


class PlanStep(models.Model):
    class Kind(models.TextChoices):
        HUMAN = "human", "Human task"
        AUTOMATED = "automated", "Automated action"

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="plan_steps")
    key = models.SlugField(max_length=50, help_text="Stable name, unique within the plan.")
    name = models.CharField(max_length=150, help_text="In plain words, as the employee reads it.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="plan_steps",
        help_text="Who owns the step: works it, or takes it over when the automation fails.",
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plan_steps",
        help_text="Human steps: the queue their task goes to (the department's default if empty).",
    )
    action = models.CharField(
        max_length=64,
        blank=True,
        help_text="Automated steps: the action to run (see the registry).",
    )
    params = models.JSONField(
        default=dict, blank=True, help_text="Automated steps: the action's inputs."
    )
    after = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="before",
        help_text="Steps that must be done (or skipped) before this one starts.",
    )
    condition_field = models.SlugField(
        max_length=50, blank=True, help_text="Only run when this form answer ..."
    )
    condition_value = models.CharField(max_length=255, blank=True, help_text="... equals this.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["item", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "key"], name="plan_step_key_unique_per_item"),
            models.CheckConstraint(
                condition=Q(kind="human") | ~Q(action=""),
                name="automated_step_names_its_action",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.name}"

    def clean(self) -> None:
        errors = {}
        if self.queue_id and self.department_id and self.queue.department_id != self.department_id:
            errors["queue"] = "Pick a queue of the step's department."
        # A confidential case is seen only by its department's staff and the requester.
        item = self.item if self.item_id else None
        if item and item.is_confidential and self.department_id != item.department_id:
            errors["department"] = "A confidential item's steps stay in its own department."
        if errors:
            raise ValidationError(errors)


class AutomationRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    service_request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="automation_run"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    plan = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The plan as it was when the run started: steps, owners, dependencies, "
        "conditions.",
    )

    def __str__(self) -> str:
        return f"Run of {self.service_request.reference}"


class StepRun(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for earlier steps"
        PENDING = "pending", "Queued for a worker"
        RUNNING = "running", "Running"
        WITH_PEOPLE = "with_people", "With a person"
        SUCCEEDED = "succeeded", "Done"
        SKIPPED = "skipped", "Not needed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED_STATES = (State.SUCCEEDED, State.SKIPPED, State.CANCELLED)

    run = models.ForeignKey(AutomationRun, on_delete=models.CASCADE, related_name="steps")
    # Where the step came from, for navigation only: editing or deleting the plan step
    # never touches a run. What the step executes is the snapshot below.
    step = models.ForeignKey(
        PlanStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    step_key = models.SlugField(max_length=50)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=PlanStep.Kind.choices)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True)
    after = models.JSONField(
        default=list, blank=True, help_text="Keys of the steps of the run this one waits for."
    )
    position = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    idempotency_key = models.CharField(
        max_length=64, unique=True, help_text="run:step: effects of the step are keyed by it."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Tries that ran to an end.")
    deliveries = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker picked it up (a worker killed mid-step counts too)."
    )
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    task = models.OneToOneField(
        FulfilmentTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="step_run",
        help_text="The human task working this step (a human step, or a failed automation).",
    )
    enqueued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="Not to run before this (retries, waits)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "id"]
        indexes = [
            models.Index(
                fields=["state", "enqueued_at"],
                condition=Q(state__in=["pending", "running"]),
                name="step_run_sweep",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.service_request.reference}: {self.name} ({self.state})"


def plan_cycle(after: dict[int, set[int]]) -> list[int]:
    """Steps caught in a dependency loop (each waits, through others, for itself), or [].

    `after` maps each step to the steps it comes after. A plan with a loop would never
    finish: its steps wait for each other forever.
    """
    remaining = {step: set(earlier) & after.keys() for step, earlier in after.items()}
    while True:
        ready = [step for step, earlier in remaining.items() if not earlier]
        if not ready:
            return sorted(remaining)
        for step in ready:
            del remaining[step]
        for earlier in remaining.values():
            earlier.difference_update(ready)
