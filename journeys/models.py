"""Employee journey maps: a persona's path through the organisation, stage by stage, with the
touchpoints where they meet it. Touchpoints link to what the portal measures (catalog
items, knowledge articles, value-stream stages), so their friction comes from the log.

Rollups (`TouchpointCase`, `TouchpointDay`) are written by `journeys.rollups` only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from esm import clock
from esm.models import Department
from services.models import Article, CatalogItem, ServiceRequest
from valuestreams.models import Stage as StreamStage


class JourneyMap(models.Model):
    class Persona(models.TextChoices):
        NEW_HIRE = "new_hire", "New hire"
        RELOCATING = "relocating", "Relocating employee"
        RETURNING_PARENT = "returning_parent", "Returning parent"
        LEAVER = "leaver", "Leaver"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"

    class Version(models.TextChoices):
        AS_IS = "as_is", "As is"
        TO_BE = "to_be", "To be"

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    persona = models.CharField(max_length=32, choices=Persona.choices)
    goal = models.CharField(
        max_length=255, help_text='What the employee wants, e.g. "productive in my first week".'
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="journeys_owned"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.CharField(max_length=8, choices=Version.choices, default=Version.AS_IS)
    as_is = models.OneToOneField(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="to_be",
        help_text="For a to-be map: the as-is map it improves on.",
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version="as_is", as_is__isnull=True)
                | models.Q(version="to_be", as_is__isnull=False),
                name="to_be_map_names_its_as_is",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JourneyStage(models.Model):
    """A stage of the journey (pre-boarding, first day, ...), in order."""

    journey = models.ForeignKey(JourneyMap, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["journey", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "name"], name="journey_stage_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.journey}: {self.name}"


class Touchpoint(models.Model):
    """What the employee does or meets at a stage. Linked to items, articles or stream
    stages, its signals are measured; without links it holds notes."""

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        EMAIL = "email", "E-mail"
        IN_PERSON = "in_person", "In person"
        CHAT = "chat", "Chat"

    stage = models.ForeignKey(JourneyStage, on_delete=models.CASCADE, related_name="touchpoints")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    items = models.ManyToManyField(CatalogItem, blank=True, related_name="touchpoints")
    articles = models.ManyToManyField(Article, blank=True, related_name="touchpoints")
    stream_stages = models.ManyToManyField(
        StreamStage,
        blank=True,
        related_name="touchpoints",
        help_text="Value-stream stages: their cases are this touchpoint's cases.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["stage", "position", "id"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.name}"


class Finding(models.Model):
    """A pain point or an opportunity pinned to a touchpoint, written by a person or
    suggested from the signals. Once done, the signal's value before and after shows
    whether the improvement worked."""

    class Kind(models.TextChoices):
        PAIN_POINT = "pain_point", "Pain point"
        OPPORTUNITY = "opportunity", "Opportunity"

    class Suggestion(models.TextChoices):
        AUTOMATION_CANDIDATE = "automation_candidate", "Automation candidate"
        KNOWLEDGE_GAP = "knowledge_gap", "Knowledge gap"
        HANDOFF_HOTSPOT = "handoff_hotspot", "Handoff hotspot"
        WATERMELON = "watermelon", "Watermelon"
        ABANDONED_FORM = "abandoned_form", "Abandoned form"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DISMISSED = "dismissed", "Dismissed"

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    suggestion = models.CharField(
        max_length=32,
        choices=Suggestion.choices,
        blank=True,
        help_text="Set when the system suggested it from the signals.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signal = models.CharField(
        max_length=40, blank=True, help_text="The signal it is about, e.g. abandonment_rate."
    )
    value_before = models.FloatField(null=True, blank=True)
    value_after = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["touchpoint", "-created_at", "id"]
        constraints = [
            # The system suggests one open finding of a kind per touchpoint at a time.
            models.UniqueConstraint(
                fields=["touchpoint", "suggestion"],
                condition=~models.Q(suggestion="") & models.Q(status__in=["new", "accepted"]),
                name="one_open_suggestion_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class FrictionWeight(models.Model):
    """The weight of one signal in the friction score (or one part of the emotion score),
    tunable by admins; `journeys.scores` documents the formula and the defaults."""

    class Score(models.TextChoices):
        FRICTION = "friction", "Friction score"
        EMOTION = "emotion", "Emotion score"

    score = models.CharField(max_length=16, choices=Score.choices)
    signal = models.CharField(max_length=40)
    weight = models.FloatField(validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["score", "signal"]
        constraints = [
            models.UniqueConstraint(fields=["score", "signal"], name="one_weight_per_signal"),
        ]

    def __str__(self) -> str:
        return f"{self.get_score_display()}: {self.signal}, weight {self.weight}"


# Rollups ---------------------------------------------------------------------------------


class TouchpointCase(models.Model):
    """One case (request) of a touchpoint, as its events tell it."""

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="cases")
    service_request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    is_confidential = models.BooleanField(default=False)
    submitted_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_minutes = models.FloatField(null=True, blank=True)
    team_wait_minutes = models.FloatField(default=0)
    handoffs = models.PositiveSmallIntegerField(default=0)
    bounces = models.PositiveSmallIntegerField(
        default=0, help_text="Work sent back, or handed back to a department it had left."
    )
    consults = models.PositiveSmallIntegerField(default=0)
    reopened = models.BooleanField(default=False)
    approval_minutes = models.FloatField(null=True, blank=True)
    missing_information = models.PositiveSmallIntegerField(default=0)
    end_to_end_breached = models.BooleanField(default=False)
    department_targets = models.PositiveSmallIntegerField(default=0)
    department_targets_met = models.PositiveSmallIntegerField(default=0)
    human_steps = models.PositiveSmallIntegerField(default=0)
    automated_steps = models.PositiveSmallIntegerField(default=0)
    answers_key = models.CharField(
        max_length=64, blank=True, help_text="A digest of the form's answers (variation)."
    )
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    sentiment = models.FloatField(
        null=True, blank=True, help_text="Of the employee's own comments, -1 to 1."
    )
    employee_comments = models.PositiveSmallIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["touchpoint", "service_request"], name="one_row_per_touchpoint_case"
            ),
        ]
        indexes = [models.Index(fields=["touchpoint", "resolved_at"], name="touchpoint_resolved")]

    def __str__(self) -> str:
        return f"{self.touchpoint}: {self.service_request_id}"


class TouchpointDay(models.Model):
    """What happened at a touchpoint on one day outside any case: forms started and left,
    suggested articles read and whether they deflected a request."""

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    form_starts = models.PositiveIntegerField(default=0)
    abandoned_forms = models.PositiveIntegerField(default=0)
    article_reads = models.PositiveIntegerField(default=0)
    deflections = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["touchpoint", "day"], name="one_row_per_touchpoint_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.touchpoint}: {self.day}"


class JourneyRollupWatermark(models.Model):
    journey = models.OneToOneField(JourneyMap, on_delete=models.CASCADE, related_name="rollup")
    refreshed_through = models.DateTimeField()
    version = models.UUIDField(
        default=uuid.uuid4,
        help_text="Changed in every transaction that writes the journey's case rows: "
        "figures read from them are cached under it.",
    )

    def __str__(self) -> str:
        return f"{self.journey}: through {self.refreshed_through:%Y-%m-%d %H:%M}"
