"""Service requests and what hangs off them: approvals, comments, attachments, ratings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Subquery

from esm import clock
from esm.models import Department, DepartmentRole
from esm.permissions import department_roles, staff_department_ids
from services.models.catalog import CatalogItem, Priority

REFERENCE_PREFIX = "REQ-"
_REFERENCE = re.compile(r"^\s*REQ-?(\d{1,12})\s*$", re.IGNORECASE)


def reference_for(pk: int) -> str:
    return f"{REFERENCE_PREFIX}{pk:06d}"


def pk_from_reference(text: str) -> int | None:
    """The request id in 'REQ-000123' (or 'req123'), or None when it is not a reference."""
    match = _REFERENCE.match(text)
    return int(match.group(1)) if match else None


def approvals_for(user: Any) -> Q:
    """Approvals addressed to `user`: by name, or through a role they hold in a department."""
    return approvals_addressed(user.pk, department_roles(user))


def approvals_addressed(user_id: int, roles: Iterable[tuple[int, str]]) -> Q:
    """`approvals_for` the person with this id and these (department id, role) pairs."""
    return Q(approver_id=user_id) | _addressed_to_roles(roles)


def _addressed_to_roles(roles: Iterable[tuple[int, str]]) -> Q:
    """Approvals addressed to any of these (department id, role) pairs, not to a name."""
    condition = Q()
    for department_id, role in sorted(roles):
        condition |= Q(approver__isnull=True, department_id=department_id, role=role)
    return condition


class _IdAmong(Func):
    """`column` among the ids that `ids` (a queryset of one column) reads, as a condition.
    PostgreSQL reads the ids once, before the scan, as an array (`= ANY(ARRAY(...))`), so
    the condition is a lookup in the primary key's index that it may OR with other indexed
    conditions (a bitmap OR): `IN (subquery)` or `EXISTS` is tested on each row the other
    conditions' scan found instead. Elsewhere, `IN (subquery)`."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: QuerySet[Any]) -> None:
        super().__init__(F(column), Subquery(ids.order_by()))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        return self._compile(compiler, "{column} IN {ids}")

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        return self._compile(compiler, "{column} = ANY(ARRAY{ids})")

    def _compile(self, compiler: Any, template: str) -> tuple[str, tuple[Any, ...]]:
        column, ids = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        ids_sql, ids_params = compiler.compile(ids)
        return template.format(column=column_sql, ids=ids_sql), (*column_params, *ids_params)


def _approver_of(user: Any) -> Q:
    """The requests with an approval `approvals_for` `user`. Those addressed to them by
    name are few (a person's own approvals), read once as ids: an employee's sight of a
    stream's 19,000 cases then starts from their own few cases, not from every case.
    Those addressed to a role of theirs may be tens of thousands (every approval of a
    department's managers), so each request is asked whether it has one."""
    by_name = _IdAmong(
        "pk", Approval.objects.filter(approver_id=user.pk).values("service_request_id")
    )
    roles = department_roles(user)
    if not roles:
        return Q(by_name)
    to_roles = Approval.objects.filter(_addressed_to_roles(roles), service_request=OuterRef("pk"))
    return Q(by_name) | Exists(to_roles)


class ServiceRequestQuerySet(models.QuerySet["ServiceRequest"]):
    def visible_to(self, user: Any) -> ServiceRequestQuerySet:
        """What `user` may see: the SQL twin of the `services.view_service_request` rule.

        Requester and whoever raised it; approvers; staff of the fulfilling department.
        Confidential requests: only the requester and the fulfilling department's staff.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        staff_of = staff_department_ids(user)
        department_staff = Q(department_id__in=staff_of)
        open_case = Q(is_confidential=False) & (Q(raised_by=user) | _approver_of(user))
        return self.filter(Q(requester=user) | department_staff | open_case)

    def open(self) -> ServiceRequestQuerySet:
        """Not finished yet: the same as `ServiceRequest.is_open`."""
        return self.exclude(state__in=ServiceRequest.FINISHED_STATES)


class ServiceRequest(models.Model):
    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SUBMITTED = "submitted", "Submitted"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING_ON_EMPLOYEE = "waiting_on_employee", "Waiting on you"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATES = (
        State.AWAITING_APPROVAL,
        State.SUBMITTED,
        State.IN_PROGRESS,
        State.WAITING_ON_EMPLOYEE,
    )
    CLOSED_STATES = (State.CLOSED, State.REJECTED, State.CANCELLED)
    FINISHED_STATES = (State.RESOLVED, *CLOSED_STATES)
    # Finished with the work done: the end-to-end target reads met or missed at `resolved_at`.
    DONE_STATES = (State.RESOLVED, State.CLOSED)
    # Finished without the work: the end-to-end target means nothing any more.
    VOID_STATES = (State.REJECTED, State.CANCELLED)

    catalog_item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_requests",
        help_text="The person the request is for.",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_requests_raised",
        help_text="Who submitted it (differs from the requester when raised on their behalf).",
    )
    subject = models.CharField(max_length=200)
    answers = models.JSONField(
        default=list,
        blank=True,
        help_text="The form as answered: [{key, label, kind, value, display}], in form order.",
    )
    state = models.CharField(max_length=32, choices=State.choices, db_index=True)
    priority = models.CharField(max_length=16, choices=Priority.choices)
    # Copied from the item at submission so that later catalog edits never re-expose a case.
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="service_requests"
    )
    is_confidential = models.BooleanField(default=False)
    form_start = models.ForeignKey(
        "services.FormStart",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
        help_text="The opening of the form it was raised from (none through the API).",
    )
    submission_key = models.CharField(
        max_length=64, help_text="One per rendered form: a resend of the same form is ignored."
    )
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = clock.UpdatedAtField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    # The end-to-end target: the employee's promise, in business time of the company's
    # default calendar, kept by services.sla. It starts at submission (approval time
    # counts), pauses only while the request waits on the employee, is never reset by a
    # handoff, and stops at resolution; a reopen continues it.
    end_to_end_due_at = models.DateTimeField(null=True, blank=True)
    end_to_end_at_risk_at = models.DateTimeField(null=True, blank=True)
    end_to_end_paused_at = models.DateTimeField(null=True, blank=True)
    end_to_end_paused_total = models.DurationField(
        default=dt.timedelta,
        help_text="Business time the clock stood still so far (waiting on the employee, "
        "or resolved before a reopen).",
    )
    end_to_end_breached = models.BooleanField(default=False)
    end_to_end_breached_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["raised_by", "submission_key"], name="one_request_per_form_submission"
            ),
        ]
        indexes = [
            models.Index(fields=["requester", "-submitted_at"], name="request_by_requester"),
            # An item's recent requests (the portal's popular items).
            models.Index(fields=["catalog_item", "submitted_at"], name="request_by_item"),
            models.Index(fields=["department", "state"], name="request_by_department_state"),
            # An item's open requests: a value stream's work in progress counts those of its
            # items, where the state index alone reads every open request for each stream.
            # The states are OPEN_STATES' (Meta cannot read the class's names), in the same
            # words so that PostgreSQL sees a query for them may use the index.
            models.Index(
                fields=["catalog_item"],
                condition=Q(
                    state__in=[
                        "awaiting_approval",
                        "submitted",
                        "in_progress",
                        "waiting_on_employee",
                    ]
                ),
                name="open_request_by_item",
            ),
            models.Index(
                fields=["end_to_end_due_at"],
                condition=Q(end_to_end_breached=False),
                name="request_breach_watch",
            ),
            # The requests raised, or resolved, in a period: what every measure, the
            # portfolio's days and the value streams count. Without them each count reads
            # every request ever raised.
            models.Index(fields=["submitted_at"], name="request_by_submission"),
            models.Index(fields=["resolved_at"], name="request_by_resolution"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return reference_for(self.pk) if self.pk else ""

    @property
    def is_open(self) -> bool:
        return self.state not in self.FINISHED_STATES


class Approval(models.Model):
    """One approval step of one request; the approver is resolved when the step starts."""

    class State(models.TextChoices):
        WAITING = "waiting", "Not started"
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SKIPPED = "skipped", "Not needed"

    service_request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=150, help_text="Who approves, in words.")
    # Exactly one of: a named approver, or anyone holding `role` in `department`.
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True)
    role = models.CharField(max_length=16, choices=DepartmentRole.Role.choices, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    step_key = models.SlugField(
        max_length=50,
        blank=True,
        help_text="The plan step that asked for it; empty for the item's up-front approvals.",
    )
    requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When it reached its approver (became pending)."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["service_request", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_request", "position"], name="one_approval_per_step"
            ),
        ]
        indexes = [
            # The approvals addressed to a role of a department: every page's navigation
            # asks for a person's (through each role they hold).
            models.Index(fields=["department", "role", "state"], name="approval_by_role"),
        ]

    def __str__(self) -> str:
        return f"{self.service_request.reference} approval {self.position}: {self.label}"

    @property
    def event_payload(self) -> dict[str, Any]:
        """What every approval event carries about its approval (see docs/events.md)."""
        return {"approval": self.pk, "label": self.label, "step": self.step_key}


class Comment(models.Model):
    # The `to_value` of a comment's COMMENTED event, so timelines can leave internal ones out.
    INTERNAL, PUBLIC = "internal", "public"

    service_request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    is_internal = models.BooleanField(
        default=False, help_text="Staff-only note: never shown to the employee."
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.service_request.reference} by {self.author}"


def attachment_path(attachment: Attachment, filename: str) -> str:
    return f"attachments/{attachment.service_request_id}/{filename}"


class Attachment(models.Model):
    service_request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=255, help_text="The file name as uploaded.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    field_key = models.SlugField(max_length=50, blank=True, help_text="Form field it answers.")
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class ExperienceRating(models.Model):
    """How it felt, asked after resolution: the experience signal reports and journeys read."""

    service_request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="rating"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="rating_between_one_and_five"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_request.reference}: {self.score}/5"
