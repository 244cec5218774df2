"""Reports first, then measurement: who reads what (audiences), why (objectives), what is
measured and which decision it supports (measures), and the daily snapshots dashboards read.

A measure's number always comes from a function registered in `reporting.measures` under
its key, never from a typed value; this app owns only definitions and snapshots.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from esm import clock
from esm.models import Department, EventKind
from services.models import Service, ServiceRequest, ValueFactor
from valuestreams.models import ValueStream


class Audience(models.Model):
    """A group that reads reports, and what it does with them."""

    class Members(models.TextChoices):
        EMPLOYEES = "employees", "Every employee"
        DEPARTMENT_STAFF = "department_staff", "Department staff (agents)"
        DEPARTMENT_MANAGERS = "department_managers", "Department managers"
        LINE_MANAGERS = "line_managers", "Line managers (people with reports)"
        EXECUTIVES = "executives", "Executives"
        CUSTOM = "custom", "Chosen people"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.CharField(max_length=32, choices=Members.choices)
    departments = models.ManyToManyField(
        Department, blank=True, related_name="+", help_text="Only staff of these, if any."
    )
    people = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", help_text="For chosen people."
    )
    wants_to_know = models.TextField(help_text="What it wants to know.")
    why = models.TextField(help_text="Why it needs to know it.")
    acts_by = models.TextField(help_text="What it does with the answer.")
    cadence = models.CharField(max_length=40, help_text='How often, e.g. "weekly".')
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audiences_owned",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Objective(models.Model):
    """The organisation's mission, vision, goals and objectives, as a small tree (MVGO)."""

    class Level(models.TextChoices):
        MISSION = "mission", "Mission"
        VISION = "vision", "Vision"
        GOAL = "goal", "Goal"
        OBJECTIVE = "objective", "Objective"

    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    level = models.CharField(max_length=16, choices=Level.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="objectives_owned",
    )

    class Meta:
        ordering = ["level", "title"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.title}"


class Measure(models.Model):
    """A named, computed number, with the decision it supports and who makes it."""

    class Kind(models.TextChoices):
        OUTCOME = "outcome", "Outcome"
        OUTPUT = "output", "Output"
        EXPERIENCE = "experience", "Experience"
        EFFICIENCY = "efficiency", "Efficiency"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    # The same five factors a service's value claims name (the portfolio reads both).
    ValueFactor = ValueFactor

    key = models.SlugField(
        max_length=60, unique=True, help_text="The function in reporting.measures that computes it."
    )
    name = models.CharField(max_length=150)
    definition = models.TextField(help_text="In plain words: what is counted, and how.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    unit = models.CharField(max_length=20, help_text='e.g. "%", "hours", "requests".')
    target = models.FloatField(null=True, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    decision = models.TextField(blank=True, help_text="The decision it supports.")
    decision_maker = models.CharField(
        max_length=100, blank=True, help_text='The role that decides, e.g. "IT manager".'
    )
    threshold = models.CharField(
        max_length=200, blank=True, help_text="When the decision maker acts, in words."
    )
    act_at = models.FloatField(
        null=True,
        blank=True,
        help_text="The value at which the decision maker acts: between the target and this a "
        "measure is watched; past it, acted on.",
    )
    cadence = models.CharField(max_length=40, blank=True)
    objective = models.ForeignKey(
        Objective, on_delete=models.SET_NULL, null=True, blank=True, related_name="measures"
    )
    value_factor = models.CharField(max_length=16, choices=ValueFactor.choices, blank=True)
    data_source = models.CharField(
        max_length=200, help_text="Where its data comes from (the event log, ratings, ...)."
    )
    source_controlled = models.BooleanField(
        default=True,
        help_text="The portal holds the data; otherwise the measure says so instead of a number.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measures_owned",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    """A story for one audience: its measures in order and a short narrative."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="reports")
    narrative = models.TextField(blank=True)
    cadence = models.CharField(max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_owned"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportMeasure(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="lines")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="report_lines")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["report", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "measure"], name="measure_once_per_report"),
        ]

    def __str__(self) -> str:
        return f"{self.report}: {self.measure}"


class ServiceReview(models.Model):
    """The accountable customer of a service reviews it: users are not customers, so this is
    reported apart from requester ratings."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_on = models.DateField()
    needs_met = models.PositiveSmallIntegerField(help_text="1 (not at all) to 5 (fully).")
    value = models.TextField(help_text="What value the service brought.")
    changes = models.TextField(blank=True, help_text="What should change.")

    class Meta:
        ordering = ["-reviewed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(needs_met__gte=1, needs_met__lte=5), name="needs_met_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} reviewed {self.reviewed_on}"


class Snapshot(models.Model):
    """A measure's value over one day, for the whole enterprise (no department, service or
    stream), a department, a service or a value stream: what dashboards read, a fixed number
    of rows."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    value_stream = models.ForeignKey(
        ValueStream, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope = models.CharField(
        max_length=40,
        help_text='"all", "department:<id>", "service:<id>" or "stream:<id>": one row each.',
    )
    value = models.FloatField(null=True, blank=True)
    cases = models.PositiveIntegerField(default=0, help_text="How many cases it rests on.")
    refreshed_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "day", "scope"], name="one_snapshot_per_measure_day_scope"
            ),
        ]
        indexes = [models.Index(fields=["measure", "day"], name="snapshot_by_measure_day")]

    def __str__(self) -> str:
        return f"{self.measure} on {self.day}: {self.value}"


class ServiceDay(models.Model):
    """One service's figures of one day, the portal's local date: what the portfolio sums
    over its window (`reporting.portfolio`). Written by `reporting.rollups` only, a row for
    every service on every day it computed, so a row of zeros is a quiet day and a missing
    row a day never computed.

    Each figure keeps the live definition: `raised` by the request's submission day;
    `resolved`, `met`, `missed` (its end-to-end target, by the one clock function) and the
    ratings by its resolution day."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    raised = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    met = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    ratings = models.PositiveIntegerField(default=0)
    rating_total = models.PositiveIntegerField(
        default=0, help_text="The ratings' scores summed: the mean over days is exact."
    )
    refreshed_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "day"], name="one_service_day"),
        ]
        # The portfolio's window starts at the first day held; a refresh replaces days.
        indexes = [models.Index(fields=["day"], name="service_day_by_day")]

    def __str__(self) -> str:
        return f"{self.service} on {self.day}"


class ServiceDayDepartment(models.Model):
    """One department's part in one service's day, when it had one: the staff hours of the
    service's requests resolved that day (`reporting.measures.worked_hours`, in the
    department's working hours), and the plan steps of the department that automation
    alone finished that day. Stored as hours and steps, not money, so a changed hourly
    rate prices the whole window at once."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    hours = models.FloatField(default=0.0)
    automated_steps = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day", "department"], name="one_service_day_department"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="service_day_department_by_day")]

    def __str__(self) -> str:
        return f"{self.service} on {self.day}, {self.department}"


class ServiceDaysVersion(models.Model):
    """The portfolio's daily rollup's version (one row): figures summed from `ServiceDay`
    and `ServiceDayDepartment` are cached under it (`esm.cache.kept_until_rewritten`)."""

    version = models.UUIDField(
        default=uuid.uuid4,
        help_text="Changed in every transaction that writes the portfolio's days.",
    )

    def __str__(self) -> str:
        return f"Portfolio days, version {self.version}"


class Crossing(models.Model):
    """One piece of work that crossed from one department to another: a handoff or a consult
    (its `handed_off` or `consult_asked` event), with what answered it, as the collaboration
    map counts it (`reporting.collaboration`). Written by `reporting.crossings` only, from
    the log; a crossing's row is replaced whenever its case has new events."""

    class Kind(models.TextChoices):
        # The kind of the event the row is of, named once in the log's own kinds.
        HANDOFF = EventKind.HANDED_OFF.value, "Handoff"
        CONSULT = EventKind.CONSULT_ASKED.value, "Consult"

    event_id = models.BigIntegerField(unique=True, help_text="The handoff's or question's event.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    from_department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    to_department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    picked_at = models.DateTimeField(
        null=True, help_text="The receiving task's first claim, or the consult's answer."
    )
    sent_back = models.BooleanField(default=False, help_text="Handoffs: the work came back.")
    refreshed_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["occurred_at"], name="crossing_by_time"),
            models.Index(
                fields=["from_department", "to_department", "occurred_at"], name="crossing_by_edge"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.from_department} → {self.to_department}"


class CrossingWatermark(models.Model):
    """When the crossings were last refreshed from the log (one row): the next refresh
    reads the cases with events since, and the map says as of when its figures are."""

    refreshed_through = models.DateTimeField()
    version = models.UUIDField(
        default=uuid.uuid4,
        help_text="Changed in every transaction that writes crossings: figures read from "
        "them are cached under it.",
    )

    def __str__(self) -> str:
        return f"Crossings through {self.refreshed_through:%Y-%m-%d %H:%M}"


class SharingFigures(models.Model):
    """A department's or a person's knowledge sharing over [since, until), the last
    `services.knowledge_sharing.RECENT_DAYS` days up to a refresh, exactly as
    `services.knowledge_sharing` defines and computes each figure: what the department
    managers' dashboard reads. Written by `reporting.sharing` only: every department has a
    row, a person one only while they shared something (they are among the department's
    staff who are thanked)."""

    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    since = models.DateTimeField()
    until = models.DateTimeField(help_text="When the figures were computed.")
    articles_written = models.PositiveIntegerField(default=0)
    deflections = models.PositiveIntegerField(default=0)
    consults_answered = models.PositiveIntegerField(default=0)
    colleagues_helped = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=False, person__isnull=True)
                | models.Q(department__isnull=True, person__isnull=False),
                name="sharing_figures_of_a_department_or_a_person",
            ),
            # Nulls are distinct: a person's row never conflicts with a department's.
            models.UniqueConstraint(fields=["department"], name="one_sharing_row_a_department"),
            models.UniqueConstraint(fields=["person"], name="one_sharing_row_a_person"),
        ]

    def __str__(self) -> str:
        of = self.department or self.person
        return f"Knowledge sharing of {of} until {self.until:%Y-%m-%d %H:%M}"


class ReportView(models.Model):
    """Who opened a report and when they last did: the audit asks which reports nobody reads."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="views")
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_viewed_at = models.DateTimeField(default=clock.now)
    last_viewed_at = models.DateTimeField(default=clock.now)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "viewer"], name="one_view_row_per_reader"),
        ]
        indexes = [models.Index(fields=["report", "last_viewed_at"], name="report_view_last")]

    def __str__(self) -> str:
        return f"{self.viewer} read {self.report}"


class ReportFeedback(models.Model):
    """The audience answering "did this help you decide something, and what is missing?"."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    helped = models.BooleanField(help_text="Did the report help a decision?")
    decision = models.TextField(blank=True, help_text="What was decided with it.")
    missing = models.TextField(blank=True, help_text="What is missing.")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.author} on {self.report}"


class Subscription(models.Model):
    """A reader receiving a report by e-mail (an HTML summary with a CSV attached)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="subscriptions")
    subscriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    created_at = models.DateTimeField(default=clock.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["report", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "subscriber"], name="one_subscription_per_reader"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} gets {self.report} {self.frequency}"


class CostRate(models.Model):
    """What an hour of a department's staff costs: the cost-per-request measure."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="+")
    hourly_rate = models.DecimalField(
        max_digits=8, decimal_places=2, help_text="Fully loaded cost of one staff hour."
    )

    class Meta:
        ordering = ["department__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hourly_rate__gt=0), name="hourly_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department}: {self.hourly_rate}/hour"


class ReadinessAssessment(models.Model):
    """An owner's answer to one of the nine readiness signs for a department, where the
    portal has no data to answer it (`reporting.readiness`). Every answer is a row of its
    own: the latest counts, the earlier ones show how the department moved."""

    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    sign = models.CharField(max_length=40, help_text="A key of `reporting.readiness.SIGNS`.")
    answer = models.CharField(max_length=8, choices=Answer.choices)
    evidence = models.TextField(help_text="What the answer rests on.")
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_on = models.DateField()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["department", "sign", "-assessed_on", "-created_at"]
        indexes = [
            models.Index(fields=["department", "sign", "assessed_on"], name="assessment_by_sign")
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.sign}: {self.answer} ({self.assessed_on})"


class TribalGroup(models.Model):
    """One recording of a group of the organisation (the tribal audit): the tools and
    channels it prefers and how open it is to working with others. A group is recorded
    anew each time, never edited, so its change over time shows; the rows share `name`."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    preferred_tools = models.CharField(max_length=300, blank=True)
    preferred_channels = models.CharField(max_length=300, blank=True)
    openness = models.PositiveSmallIntegerField(
        help_text="1 (keeps to itself) to 5 (seeks out collaboration)."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_on = models.DateField()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["name", "-recorded_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(openness__gte=1, openness__lte=5), name="openness_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.recorded_on})"


class RolloutStep(models.Model):
    """One step of the ESM roll-out plan, value stream by value stream: an ordered list the
    ESM lead keeps, with what each finished step taught."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    position = models.PositiveIntegerField(default=0)
    value_stream = models.ForeignKey(
        ValueStream, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    lessons_learned = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"
