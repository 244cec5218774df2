"""The service catalog: enterprise services, their requestable items, forms and rules."""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from esm.models import Department, DepartmentRole, Location, Profile
from esm.permissions import department_roles

# What "a working day" of `expected_days` means for the end-to-end target.
BUSINESS_DAY_HOURS = 8
# A year of working days: anything longer is a typing mistake, not a promise.
END_TO_END_HOURS_MAX = 8 * 250
# Three years between reviews of a service at most: longer is no review at all.
REVIEW_EVERY_MONTHS_MAX = 36


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ValueFactor(models.TextChoices):
    """The five ways a service or a measure can add business value."""

    REVENUE = "revenue", "Revenue"
    COST = "cost", "Cost"
    PRODUCTIVITY = "productivity", "Productivity"
    DIFFERENTIATION = "differentiation", "Differentiation"
    SATISFACTION = "satisfaction", "Customer or employee satisfaction"


class Service(models.Model):
    """Something a department provides to the enterprise, named for the outcome it delivers,
    and its entry in the service portfolio: where it is in its lifecycle, the business's
    work around the department's part, its fixed costs and the value it claims."""

    class Status(models.TextChoices):
        PIPELINE = "pipeline", "Pipeline"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"

    class Decision(models.TextChoices):
        INVEST = "invest", "Invest"
        CHANGE = "change", "Change"
        RETIRE = "retire", "Retire"

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=150, unique=True)
    outcome = models.TextField(
        help_text="The business outcome, in words an employee understands "
        "(e.g. 'A new hire is productive on day one')."
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="services")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services_owned",
        help_text="Accountable for the outcome; need not work in the owning department.",
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="services", null=True, blank=True
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE)
    activities_before = models.TextField(
        blank=True,
        help_text="What the business does before the department's part "
        "(e.g. 'the hiring manager agrees a start date with the candidate').",
    )
    activities_after = models.TextField(
        blank=True,
        help_text="What the business does with the result "
        "(e.g. 'the new hire's team plans their first week').",
    )
    fixed_yearly_cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text="What the owner pays each year whatever the demand: licences, contracts, "
        "rent. Staff time is counted from the log, not typed here.",
    )
    decision_pending = models.CharField(
        max_length=16,
        choices=Decision.choices,
        blank=True,
        help_text="The decision the portfolio waits for about this service, if any.",
    )
    decision_note = models.TextField(
        blank=True, help_text="What the decision turns on, for who makes it."
    )
    review_every_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(REVIEW_EVERY_MONTHS_MAX)],
        help_text="How often its accountable owner reviews it: the next review is due this "
        "many months after the last.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fixed_yearly_cost__gte=0), name="service_fixed_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="retired") | Q(decision_pending=""),
                name="retired_service_waits_for_no_decision",
            ),
            models.CheckConstraint(
                condition=Q(review_every_months__gte=1)
                & Q(review_every_months__lte=REVIEW_EVERY_MONTHS_MAX),
                name="service_review_interval_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.status == self.Status.RETIRED and self.decision_pending:
            raise ValidationError({"decision_pending": "A retired service waits for no decision."})


class ServiceValueClaim(models.Model):
    """What the service's owner claims it adds in one of the five value factors; the
    portfolio shows the log's figures beside each claim."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="value_claims")
    factor = models.CharField(max_length=16, choices=ValueFactor.choices)
    claim = models.TextField()

    class Meta:
        ordering = ["service", "factor"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "factor"], name="one_value_claim_per_service_factor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.get_factor_display()}"


class SlaPolicy(models.Model):
    """Response and resolution targets in business hours, per priority (see SlaTarget)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=16, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(help_text="Business minutes to first response.")
    resolution_minutes = models.PositiveIntegerField(help_text="Business minutes to resolution.")

    class Meta:
        ordering = ["policy", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "priority"], name="one_sla_target_per_priority"
            ),
            models.CheckConstraint(
                condition=Q(response_minutes__lte=models.F("resolution_minutes")),
                name="sla_response_within_resolution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.get_priority_display()}"


class CatalogItemQuerySet(models.QuerySet["CatalogItem"]):
    def requestable(self) -> CatalogItemQuerySet:
        return self.filter(is_published=True, service__status=Service.Status.LIVE)

    def entitled_to(self, user: Any) -> CatalogItemQuerySet:
        """Requestable items `user` may ask for: the SQL twin of `services.request_item`.

        Per criterion kind present on an item (department, location, role) the person must
        match one of its rows; an item with no rows is open to everyone.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        profile = getattr(user, "profile", None)
        roles = {role for _, role in department_roles(user)}
        if profile is not None and profile.is_executive:
            roles.add(Entitlement.Role.EXECUTIVE)
        sql, params = _entitled_items_sql(
            connections[self.db].vendor,
            user.pk,
            profile.department_id if profile else None,
            profile.location_id if profile else None,
            frozenset(roles),
        )
        # SQL that Django compiled from the query below; the values travel as parameters.
        return self.requestable().filter(pk__in=RawSQL(sql, params))  # noqa: S611


# Distinct people whose entitlement query a process keeps built: about 2 KB each, so at most
# 2 MB a process; those read least recently are built again.
ENTITLEMENT_QUERIES_KEPT = 1024


@functools.lru_cache(maxsize=ENTITLEMENT_QUERIES_KEPT)
def _entitled_items_sql(
    vendor: str,
    user_id: int,
    department_id: int | None,
    location_id: int | None,
    roles: frozenset[str],
) -> tuple[str, tuple[Any, ...]]:
    """The ids of the items these answers entitle to, as SQL and parameters, built once a
    process: Django takes 1 to 2 ms to build the three kinds' subqueries, and the portal's
    home reads the catalog through them three times. The key holds everything of the person
    the rules are matched on; the rules and items are read afresh each time."""
    rules = Entitlement.objects.filter(item=OuterRef("pk"))

    def kind_allows(kind: Q, match: Q | None) -> Q:
        unrestricted = ~Exists(rules.filter(kind))
        if match is None:
            return unrestricted
        return unrestricted | Exists(rules.filter(kind & match))

    role_match = Q(role__in=sorted(roles)) | (
        Q(role=Entitlement.Role.PEOPLE_MANAGER) & Exists(Profile.objects.filter(manager_id=user_id))
    )
    entitled = CatalogItem.objects.filter(
        kind_allows(
            Q(department__isnull=False),
            None if department_id is None else Q(department_id=department_id),
        ),
        kind_allows(
            Q(location__isnull=False),
            None if location_id is None else Q(location_id=location_id),
        ),
        kind_allows(~Q(role=""), role_match),
    ).values("pk")
    return entitled.query.sql_with_params()


POPULAR_WINDOW_DAYS = 90
"""The days an item's `recent_requests` counts back over."""


class CatalogItem(models.Model):
    """A requestable offering of a service, with its form, entitlement, approvals and SLA."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="items")
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=150, unique=True)
    summary = models.CharField(max_length=255, help_text="One line shown in lists and search.")
    description = models.TextField(blank=True, help_text="Markdown.")
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="catalog_items",
        help_text="The department that fulfils it.",
    )
    expected_days = models.PositiveSmallIntegerField(
        default=3, help_text="Expected fulfilment time, in working days."
    )
    end_to_end_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(END_TO_END_HOURS_MAX)],
        verbose_name="end-to-end target (business hours)",
        help_text="The promise to the employee: business hours of the company calendar from "
        "submission to resolution, approvals included, paused while waiting on the employee. "
        "Empty: the expected days at 8 business hours a day.",
    )
    default_priority = models.CharField(
        max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="catalog_items"
    )
    is_confidential = models.BooleanField(
        default=False,
        help_text="Requests are visible only to the requester and the fulfilling department's "
        "staff (HR grievances, medical leave).",
    )
    allow_on_behalf = models.BooleanField(
        default=False, help_text="May be raised on behalf of someone else."
    )
    is_published = models.BooleanField(default=True)
    # A copy made in another department as a starting point ("see the function as an
    # abstract"): kept to compare with the origin's later improvements. SET_NULL, because
    # retiring the origin must not take its copies with it.
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        help_text="The item this one was copied from, in another department.",
    )
    copied_at = models.DateTimeField(null=True, blank=True, editable=False)
    copied_snapshot = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The origin's form and plan when copied: what its later changes are read "
        "against, so the copy's own edits are not mistaken for the origin's improvements.",
    )

    recent_requests = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Requests raised in the last POPULAR_WINDOW_DAYS days, counted hourly "
        "(`catalog_items_count_recent`): what ranks the portal's popular items.",
    )

    objects = CatalogItemQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Raising a confidential case for someone else would show it to a third person.
            models.CheckConstraint(
                condition=~Q(is_confidential=True, allow_on_behalf=True),
                name="confidential_items_are_raised_by_the_person_concerned",
            ),
            models.CheckConstraint(
                condition=Q(end_to_end_hours__isnull=True)
                | Q(end_to_end_hours__gte=1, end_to_end_hours__lte=END_TO_END_HOURS_MAX),
                name="end_to_end_target_within_bounds",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A copy goes live only once its department has named its own queues, approvers and
        # actions: published early, it would route cases to the origin department's people.
        if self.is_published and self.pk is not None and self.open_parts.exists():
            raise ValidationError(
                {
                    "is_published": "This copy still has department-specific parts to "
                    "resolve: " + "; ".join(str(part) for part in self.open_parts.all()) + "."
                }
            )
        if self.is_confidential and self.pk is not None:
            outside = [
                str(step)
                for step in self.approval_steps.all()
                if not step.is_in_department_of(self)
            ]
            if outside:
                raise ValidationError(
                    {
                        "is_confidential": "Confidential items are approved only within their "
                        f"department; change these approval steps first: {', '.join(outside)}."
                    }
                )
        # Checked only for an explicit target: the one derived from `expected_days` is a
        # fallback for items nobody has set a promise on yet.
        target = self.department_resolution_minutes() if self.end_to_end_hours else None
        if target and self.end_to_end_target < dt.timedelta(minutes=target):
            raise ValidationError(
                {
                    "end_to_end_hours": "The promise to the employee cannot be shorter than "
                    f"the department's own target for this priority ({target // 60} h)."
                }
            )
        if self.is_confidential and self.allow_on_behalf:
            raise ValidationError(
                {
                    "allow_on_behalf": (
                        "A confidential item can only be raised by the person it concerns."
                    )
                }
            )

    @property
    def end_to_end_target(self) -> dt.timedelta:
        """The end-to-end target in business time (the explicit hours, else derived from
        the expected days)."""
        hours = self.end_to_end_hours or max(self.expected_days, 1) * BUSINESS_DAY_HOURS
        return dt.timedelta(hours=hours)

    def department_resolution_minutes(self) -> int | None:
        """The resolution target of the item's SLA policy at its default priority."""
        if self.sla_policy_id is None:
            return None
        return (
            SlaTarget.objects.filter(policy_id=self.sla_policy_id, priority=self.default_priority)
            .values_list("resolution_minutes", flat=True)
            .first()
        )


class Entitlement(models.Model):
    """Who may request an item. With no rows, everyone may.

    Rows of the same kind widen (any listed department); kinds narrow each other
    (a listed department *and* a listed location).
    """

    class Role(models.TextChoices):
        AGENT = DepartmentRole.Role.AGENT, "Agent of any department"
        MANAGER = DepartmentRole.Role.MANAGER, "Manager of any department"
        PEOPLE_MANAGER = "people_manager", "Has direct reports"
        EXECUTIVE = "executive", "Executive"

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="entitlements")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, null=True, blank=True)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(department__isnull=False, location__isnull=True, role="")
                    | Q(department__isnull=True, location__isnull=False, role="")
                    | (Q(department__isnull=True, location__isnull=True) & ~Q(role=""))
                ),
                name="entitlement_names_exactly_one_criterion",
            ),
        ]

    def __str__(self) -> str:
        return str(self.department or self.location or self.get_role_display())


class FormField(models.Model):
    """One question of an item's request form, defined as data."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        YES_NO = "yes_no", "Yes / no"
        PERSON = "person", "Person"
        ATTACHMENT = "attachment", "Attachment"

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=50, help_text="Stable name used in answers and automations.")
    label = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    choices = models.TextField(blank=True, help_text="For choice fields: one option per line.")
    min_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Number: smallest value. Text: fewest characters. Multiple choice: fewest picks.",
    )
    max_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Number: largest value. Text: most characters. Multiple choice: most picks.",
    )
    pattern = models.CharField(
        max_length=255,
        blank=True,
        help_text="Text: a regular expression the whole answer must match.",
    )
    pattern_message = models.CharField(max_length=255, blank=True)
    show_when_field = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependents",
        help_text="Only show this field when that field of the same item ...",
    )
    show_when_value = models.CharField(max_length=255, blank=True, help_text="... has this value.")

    class Meta:
        ordering = ["item", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "key"], name="form_field_key_unique_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.label}"

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self) -> None:
        errors = {}
        if self.kind in (self.Kind.CHOICE, self.Kind.MULTI_CHOICE) and not self.choice_list:
            errors["choices"] = "List at least one option."
        bounded = self.min_value is not None and self.max_value is not None
        if bounded and self.min_value > self.max_value:
            errors["max_value"] = "Must not be below the minimum."
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as error:
                errors["pattern"] = f"Not a valid regular expression: {error}"
        if self.show_when_field_id is not None:
            if self.show_when_field.item_id != self.item_id or self.show_when_field_id == self.pk:
                errors["show_when_field"] = "Pick another field of the same item."
            elif not self.show_when_value:
                errors["show_when_value"] = "Say which value shows this field."
        if errors:
            raise ValidationError(errors)


class ApprovalStep(models.Model):
    """One approval an item's requests must pass, in order; any rejection ends the request."""

    class Approver(models.TextChoices):
        REQUESTER_MANAGER = "requester_manager", "The requester's manager"
        DEPARTMENT_ROLE = "department_role", "Anyone with a role in a department"
        PERSON = "person", "A named person"

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="approval_steps")
    position = models.PositiveSmallIntegerField(default=0)
    approver = models.CharField(max_length=32, choices=Approver.choices)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True)
    role = models.CharField(
        max_length=16, choices=DepartmentRole.Role.choices, blank=True, default=""
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["item", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(approver="requester_manager")
                    | Q(approver="department_role", department__isnull=False) & ~Q(role="")
                    | Q(approver="person", person__isnull=False)
                ),
                name="approval_step_names_its_approver",
            ),
        ]

    def __str__(self) -> str:
        if self.approver == self.Approver.DEPARTMENT_ROLE:
            return f"{self.department} {self.get_role_display().lower()}"
        if self.approver == self.Approver.PERSON:
            return str(self.person)
        return self.get_approver_display()

    def is_in_department_of(self, item: CatalogItem) -> bool:
        return (
            self.approver == self.Approver.DEPARTMENT_ROLE
            and self.department_id == item.department_id
        )

    def clean(self) -> None:
        # A confidential case may only be seen by its department's staff and the requester,
        # so only that department's staff can approve it. (An admin inline validates steps
        # against the item being edited, which may not be saved yet: hence no `item_id`.)
        item = getattr(self, "item", None) if self.item_id is None else self.item
        if item is None or not item.is_confidential:
            return
        if not self.is_in_department_of(item):
            raise ValidationError(
                {
                    "approver": "Confidential items are approved only by a role in the "
                    "fulfilling department."
                }
            )


class OpenPart(models.Model):
    """A department-specific part of a copied item that its new department must still name.

    Copying leaves the origin's value in place as a placeholder (the constraints of the
    steps need one) and records it here; the copy cannot be published while any row is
    left. Resolving a part deletes its row; deleting the step deletes it too.
    """

    class Kind(models.TextChoices):
        QUEUE = "queue", "Queue of a human step"
        APPROVER = "approver", "Approver who is a person of the origin department"
        ACTION = "action", "Automated action bound to the origin department"

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="open_parts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    approval_step = models.ForeignKey(
        ApprovalStep, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    plan_step = models.ForeignKey(
        "services.PlanStep", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    origin_value = models.CharField(
        max_length=255, help_text="What the origin had, in words: the starting point to replace."
    )

    class Meta:
        ordering = ["item", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="approver", approval_step__isnull=False, plan_step__isnull=True)
                | Q(
                    kind__in=["queue", "action"],
                    approval_step__isnull=True,
                    plan_step__isnull=False,
                ),
                name="open_part_names_its_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.origin_value}"
