"""Value streams: the work that delivers one outcome across departments, in stages.

A stream is modelled here and measured from the event log: each stage names the plan steps
it is made of (declared on this side, so `services` never knows about streams), and the
events of those steps and their tasks carry the steps' keys. A plan step belongs to at most
one stage; a plan with no stream still runs.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from esm import clock
from esm.models import Department
from services.models import CatalogItem, PlanStep, ServiceRequest


class ValueStream(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    outcome = models.CharField(
        max_length=255, help_text='What it delivers, e.g. "a new hire productive on day one".'
    )
    customer = models.CharField(
        max_length=150, help_text="For whom: who receives the outcome (the C of COPIS)."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="value_streams_owned",
        help_text="Accountable for the whole stream, whatever department they are in.",
    )
    items = models.ManyToManyField(
        CatalogItem,
        related_name="value_streams",
        help_text="The catalog items whose requests run this stream.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One stage of a stream, owned by one department. Stages sharing a parallel group run
    side by side; groups run in the order of their numbers."""

    stream = models.ForeignKey(ValueStream, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=150)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="value_stream_stages"
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the stream.")
    parallel_group = models.PositiveSmallIntegerField(
        default=1, help_text="Stages with the same number run side by side."
    )
    expected_process_minutes = models.PositiveIntegerField(
        default=0, help_text="Hands-on time the stage is expected to take, in business minutes."
    )

    class Meta:
        ordering = ["stream", "parallel_group", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "name"], name="stage_name_unique_in_stream"),
        ]

    def __str__(self) -> str:
        return f"{self.stream}: {self.name}"


class StageStep(models.Model):
    """A plan step that is part of a stage: the link between the model and the log."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="steps")
    plan_step = models.OneToOneField(
        PlanStep,
        on_delete=models.CASCADE,
        related_name="stage_link",
        help_text="A plan step belongs to at most one stage.",
    )

    class Meta:
        ordering = ["stage", "plan_step__position"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.plan_step.key}"

    def clean(self) -> None:
        if not (self.stage_id and self.plan_step_id):
            return
        if not self.stage.stream.items.filter(pk=self.plan_step.item_id).exists():
            raise ValidationError(
                {"plan_step": "Pick a step of a plan of an item that runs this stream."}
            )


class HandoffTarget(models.Model):
    """The pick-up time allowed where the work crosses from one stage's department to
    another's: from the upstream stage done to the downstream one picked up."""

    stream = models.ForeignKey(
        ValueStream, on_delete=models.CASCADE, related_name="handoff_targets"
    )
    from_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="handoffs_out")
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="handoffs_in")
    pickup_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="In business minutes."
    )

    class Meta:
        ordering = ["stream", "from_stage__parallel_group", "to_stage__parallel_group"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_stage", "to_stage"], name="one_target_per_transition"
            ),
            models.CheckConstraint(
                condition=~Q(from_stage=F("to_stage")), name="handoff_between_two_stages"
            ),
            models.CheckConstraint(condition=Q(pickup_minutes__gte=1), name="pickup_target_set"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage.name} → {self.to_stage.name}"

    def clean(self) -> None:
        if not (self.from_stage_id and self.to_stage_id):
            return
        errors = {}
        if {self.from_stage.stream_id, self.to_stage.stream_id} != {self.stream_id}:
            errors["to_stage"] = "Both stages must belong to this stream."
        elif self.from_stage.department_id == self.to_stage.department_id:
            errors["to_stage"] = "A handoff target sits at a department boundary."
        elif self.from_stage.parallel_group >= self.to_stage.parallel_group:
            errors["to_stage"] = "The work must flow forward: pick a later stage."
        if errors:
            raise ValidationError(errors)


# Rollups: what the log says about each case of a stream, recomputed from events by
# `valuestreams.rollups` and read by the pages, so a page's cost does not grow with the
# history. Never edited by hand; a refresh replaces a case's rows whole.


class CaseFlow(models.Model):
    """One case (service request) of a stream, as its events tell it."""

    stream = models.ForeignKey(ValueStream, on_delete=models.CASCADE, related_name="cases")
    service_request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(max_length=20)
    is_confidential = models.BooleanField(default=False)
    submitted_at = models.DateTimeField()
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="The last resolution; empty while open or ended otherwise."
    )
    lead_minutes = models.FloatField(null=True, blank=True)
    critical_process_minutes = models.FloatField(
        default=0, help_text="Process time of the stages on the case's critical path."
    )
    employee_wait_minutes = models.FloatField(default=0)
    variant = models.CharField(
        max_length=255, blank=True, help_text="Stage ids in the order the case ran them."
    )
    conformance = models.CharField(max_length=40, default="conforming")
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "service_request"], name="one_case_row_per_stream"
            ),
        ]
        indexes = [models.Index(fields=["stream", "resolved_at"], name="case_flow_resolved")]

    def __str__(self) -> str:
        return f"{self.stream}: {self.reference}"


class CaseStage(models.Model):
    """One stage of one case: its times by kind, in minutes of elapsed time."""

    case = models.ForeignKey(CaseFlow, on_delete=models.CASCADE, related_name="stages")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(help_text="The stage's first event: its work arrived.")
    picked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    process_minutes = models.FloatField(default=0)
    queue_wait_minutes = models.FloatField(default=0)
    department_wait_minutes = models.FloatField(default=0)
    automation_wait_minutes = models.FloatField(default=0)
    employee_wait_minutes = models.FloatField(default=0)
    received = models.PositiveIntegerField(default=0, help_text="Tasks the stage received.")
    flawed = models.PositiveIntegerField(
        default=0, help_text="Of those, sent back, short of information, or reopened."
    )
    repeated = models.BooleanField(default=False)
    on_critical_path = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "stage"], name="one_row_per_case_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.stage.name}"


class CaseHandoff(models.Model):
    """One transition between stages in one case: upstream done to downstream picked up."""

    case = models.ForeignKey(CaseFlow, on_delete=models.CASCADE, related_name="handoffs")
    from_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    ready_at = models.DateTimeField()
    picked_at = models.DateTimeField()
    delay_minutes = models.FloatField(help_text="Business minutes, the receiving calendar's.")
    target_minutes = models.PositiveIntegerField(null=True, blank=True)
    breached = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "from_stage", "to_stage"], name="one_row_per_case_handoff"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.from_stage.name} → {self.to_stage.name}"


class RollupWatermark(models.Model):
    """How far a stream's case rows are refreshed: the moment the last refresh began."""

    stream = models.OneToOneField(ValueStream, on_delete=models.CASCADE, related_name="rollup")
    refreshed_through = models.DateTimeField()
    version = models.UUIDField(
        default=uuid.uuid4,
        help_text="Changed in every transaction that writes the stream's case rows: "
        "figures read from them are cached under it.",
    )

    def __str__(self) -> str:
        return f"{self.stream}: through {self.refreshed_through:%Y-%m-%d %H:%M}"
