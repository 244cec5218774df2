"""The enterprise itself: departments, people and their roles, business calendars, events."""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from esm import clock


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Location(models.Model):
    """A site where people work (an office, a campus, or "Remote")."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BusinessCalendar(models.Model):
    """When a department works: weekly working periods, holidays, in one time zone.

    Exactly one calendar is the company default, used by departments without their own.
    """

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, choices=_time_zone_choices, default="UTC")
    is_default = models.BooleanField(
        default=False, help_text="Used by every department that has no calendar of its own."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="one_default_business_calendar",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkingPeriod(models.Model):
    """One stretch of working time on a weekday (a day may have several, e.g. around lunch)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="working_periods"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")),
                name="working_period_starts_before_it_ends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="one_holiday_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class Department(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="departments_headed",
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="departments",
        help_text="Leave empty to use the company default calendar.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """What the enterprise knows about a person beyond their sign-in account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="people"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="direct_reports",
    )
    job_title = models.CharField(max_length=150, blank=True)
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="people"
    )
    start_date = models.DateField(null=True, blank=True)
    is_executive = models.BooleanField(
        default=False, help_text="Executives read the enterprise-wide dashboards."
    )
    external_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The identity provider's id for this person (SCIM externalId).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(manager=models.F("user")), name="nobody_manages_themselves"
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class DepartmentRole(models.Model):
    """A person's role in a department's service work: agent (works its queues) or manager."""

    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        MANAGER = "manager", "Manager"

    class Source(models.TextChoices):
        BY_HAND = "by_hand", "Given by hand"
        SIGN_IN_GROUPS = "sign_in_groups", "From the identity provider's groups"
        DIRECTORY = "directory", "From a directory group (SCIM)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="department_roles"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Each way in reconciles only the roles it granted: single sign-on at every sign-in, the
    # directory (SCIM) at every group change; neither touches a role given by hand.
    source = models.CharField(
        max_length=16,
        choices=Source.choices,
        default=Source.BY_HAND,
        help_text="Roles from the identity provider's groups (at sign-in, or through its "
        "directory) are added and removed by it; roles given by hand are left alone.",
    )

    class Meta:
        ordering = ["department", "role", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"], name="one_role_of_a_kind_per_department"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} of {self.department}"


class SignInIdentity(models.Model):
    """The person an identity provider's subject (`sub`) signs in as.

    The subject is the provider's stable, never reassigned name for the person: once
    linked (by subject or e-mail, see `OIDC_LINK_CLAIM`), the person is found by it even
    after their e-mail address changes.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(default=clock.now, editable=False)
    last_signed_in_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["issuer", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_person_per_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="one_subject_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class ProvisioningClient(models.Model):
    """An identity provider that keeps the portal's people in step with its directory (SCIM).

    It signs in with a bearer token of its own; only the token's SHA-256 is stored, so a
    lost token is replaced (rotated in the admin), never read back. What it changes is
    recorded with `account`, a portal account that can never sign in, as the actor.
    """

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        editable=False,
        related_name="provisioning_client",
    )
    is_active = models.BooleanField(
        default=True, help_text="Untick to refuse its token at once, without rotating it."
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DirectoryGroup(models.Model):
    """A group of the identity provider's directory, and the department role it stands for.

    A group named `<department slug>:<role>` (`it:agent`) maps itself; any other is mapped
    here by hand, or stands for nothing. Its members hold the role only while
    `esm.provisioning.role_mapping_allowed` agrees: a confidential department needs
    `allows_confidential`, which only an admin can set.
    """

    display_name = models.CharField(max_length=255, unique=True)
    external_id = models.CharField(max_length=255, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="directory_groups",
    )
    role = models.CharField(max_length=16, choices=DepartmentRole.Role.choices, blank=True)
    allows_confidential = models.BooleanField(
        default=False,
        help_text="Grant the role even though the department handles confidential cases.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="directory_groups"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(department__isnull=True, role="")
                | Q(department__isnull=False) & ~Q(role=""),
                name="directory_group_maps_department_and_role_together",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class EventKind(models.TextChoices):
    """What happened. One kind means one thing per subject type; `docs/events.md` says which
    action writes each, and what its departments, values and payload carry."""

    # Requests
    SUBMITTED = "submitted", "Submitted"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    APPROVAL_SKIPPED = "approval_skipped", "Approval not needed"
    WORK_STARTED = "work_started", "Work started"
    # Requests and tasks
    QUEUED = "queued", "Queued"
    WAITING_ON_EMPLOYEE = "waiting_on_employee", "Waiting on the employee"
    RESUMED = "resumed", "Resumed"
    COMMENTED = "commented", "Commented"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    RATED = "rated", "Rated"
    SLA_BREACHED = "sla_breached", "Target breached"
    # Tasks
    CLAIMED = "claimed", "Claimed"
    ASSIGNED = "assigned", "Assigned"
    UNASSIGNED = "unassigned", "Unassigned"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    HANDED_OFF = "handed_off", "Handed off"
    SENT_BACK = "sent_back", "Sent back as incomplete"
    RETURNED = "returned", "Returned as incomplete"
    WAITING_ON_DEPARTMENT = "waiting_on_department", "Waiting on another department"
    DEPARTMENT_WAIT_ENDED = "department_wait_ended", "No longer waiting on another department"
    # Consults (one department asking another about a task)
    CONSULT_ASKED = "consult_asked", "Asked another department"
    CONSULT_ANSWERED = "consult_answered", "Consult answered"
    CONSULT_WITHDRAWN = "consult_withdrawn", "Consult withdrawn"
    # Plan runs and their step runs
    RUN_STARTED = "run_started", "Plan run started"
    RUN_FINISHED = "run_finished", "Plan run finished"
    STEP_PENDING = "step_pending", "Step queued for a worker"
    STEP_STARTED = "step_started", "Step started"
    STEP_SLEEPING = "step_sleeping", "Step sleeping until a date"
    STEP_RETRIED = "step_retried", "Step retried"
    STEP_FAILED = "step_failed", "Step failed"
    STEP_WITH_PEOPLE = "step_with_people", "Step given to people"
    STEP_SUCCEEDED = "step_succeeded", "Step succeeded"
    STEP_SKIPPED = "step_skipped", "Step not needed"
    STEP_CANCELLED = "step_cancelled", "Step cancelled"
    # People (the directory keeps them: SCIM provisioning)
    PERSON_CREATED = "person_created", "Person created"
    PERSON_UPDATED = "person_updated", "Person updated"
    PERSON_DEACTIVATED = "person_deactivated", "Person deactivated"
    PERSON_REACTIVATED = "person_reactivated", "Person reactivated"
    ROLE_GRANTED = "role_granted", "Role granted"
    ROLE_REVOKED = "role_revoked", "Role revoked"
    ADMIN_RIGHTS_CHANGED = "admin_rights_changed", "Administrator rights changed"
    BREAK_GLASS_SIGN_IN = "break_glass_sign_in", "Break-glass sign-in"
    # Configuration (catalog, plans, value streams, measures, ...), changed by hand
    CONFIG_CREATED = "config_created", "Created"
    CONFIG_CHANGED = "config_changed", "Changed"
    CONFIG_DELETED = "config_deleted", "Deleted"


CASELESS_KINDS = frozenset(
    {
        EventKind.PERSON_CREATED,
        EventKind.PERSON_UPDATED,
        EventKind.PERSON_DEACTIVATED,
        EventKind.PERSON_REACTIVATED,
        EventKind.ROLE_GRANTED,
        EventKind.ROLE_REVOKED,
        EventKind.ADMIN_RIGHTS_CHANGED,
        EventKind.BREAK_GLASS_SIGN_IN,
        EventKind.CONFIG_CREATED,
        EventKind.CONFIG_CHANGED,
        EventKind.CONFIG_DELETED,
    }
)
"""Kinds about people and the portal's configuration, not about a case: they carry no
reference, so no case's history, export or measure ever holds them."""


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove a recorded event."""


class EventQuerySet(models.QuerySet["Event"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Events are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Events are append-only: they cannot be deleted.")

    def for_subject(self, subject: models.Model) -> EventQuerySet:
        return self.filter(subject_type=subject._meta.label_lower, subject_id=subject.pk)


class Event(models.Model):
    """One immutable fact of the event log: who did what to which subject, when, where.

    Every number the portal shows is derived from these rows, so they are never changed:
    the model and queryset refuse updates and deletes, and on PostgreSQL a trigger refuses
    them in the database too. Record events with `esm.events.event_record`, inside the
    transaction of the change they describe.
    """

    occurred_at = models.DateTimeField(default=clock.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (automations, scheduled jobs).",
    )
    subject_type = models.CharField(max_length=100, help_text="app_label.model of the subject.")
    subject_id = models.PositiveBigIntegerField()
    reference = models.CharField(
        max_length=32,
        blank=True,
        help_text="The case this event belongs to (e.g. REQ-000123), across all its subjects.",
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_value = models.CharField(max_length=255, blank=True)
    to_value = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    is_confidential = models.BooleanField(
        default=False,
        help_text="About a confidential case: readable only by the department's staff "
        "and the person concerned, in every view of the log.",
    )

    objects: ClassVar[EventQuerySet] = EventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(
                fields=["subject_type", "subject_id", "occurred_at"], name="event_by_subject"
            ),
            models.Index(fields=["kind", "occurred_at"], name="event_by_kind_and_time"),
            # What happened since a moment: the measuring apps refresh their rollups by it.
            models.Index(fields=["occurred_at"], name="event_by_time"),
            models.Index(fields=["reference", "occurred_at"], name="event_by_reference"),
            models.Index(fields=["department", "occurred_at"], name="event_by_department"),
            # A period's handoffs between departments (the managers' dashboard counts them
            # by department): every column the count reads, so a few thousand handoffs
            # scattered over a month of the log are read from the index alone.
            models.Index(
                fields=["occurred_at", "kind", "from_department", "to_department", "id"],
                condition=Q(kind__in=[EventKind.HANDED_OFF, EventKind.SENT_BACK]),
                name="event_handoffs_by_time",
            ),
        ]
        constraints = [
            # Work starts once per subject: the first claim or automated step, never again.
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"],
                condition=Q(kind="work_started"),
                name="work_starts_once",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M} {self.kind} {self.subject_type}#{self.subject_id}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new event never brings its own id: one that does would overwrite a recorded one.
        if not self._state.adding or self.pk is not None:
            raise AppendOnlyError("Events are append-only: they cannot be updated.")
        super().save(*args, **{**kwargs, "force_insert": True})

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Events are append-only: they cannot be deleted.")
