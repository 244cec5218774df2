"""What fulfilment automations create: a built-in directory, HR and Facilities records.

Every record an automated step creates carries the step run's idempotency key
(`created_by_key`, unique when set): a step that runs again after its worker died finds
what it made instead of making it twice. Records made by hand in the admin leave it empty.
`service_request` links a record to the request it was made for, so later steps of the
same run find it (the badge goes to the new hire whose record HR created).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from esm import clock
from esm.models import Location
from services.models.requests import ServiceRequest

KEY_LENGTH = 64


def _made_once_per_step(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["created_by_key"], condition=~Q(created_by_key=""), name=name
    )


def _key_field() -> models.CharField:
    return models.CharField(
        max_length=KEY_LENGTH,
        blank=True,
        editable=False,
        help_text="The automation step that made it (empty when made by hand).",
    )


def _request_field() -> models.ForeignKey:
    return models.ForeignKey(
        ServiceRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The request it was made for.",
    )


def _person_field(related_name: str, help_text: str = "") -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        help_text=help_text,
    )


# IT: the built-in directory ---------------------------------------------------------------


class DirectoryAccount(models.Model):
    """An account in the company directory (what people sign in to their tools with).

    Usernames are never reused, even after the account is disabled: audit trails in other
    systems name people by username.
    """

    person = _person_field(
        "directory_accounts", "The portal user, once the person has one (new hires may not)."
    )
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(blank=True)
    # A Django password hash, set by the person through a one-time link; never by IT.
    password = models.CharField(max_length=128, blank=True, editable=False)
    active = models.BooleanField(default=True)
    service_request = _request_field()
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            _made_once_per_step("directory_account_one_per_step"),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(active=True, person__isnull=False),
                name="one_active_directory_account_per_person",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough: there is nothing to
    # brute-force, and a stolen table gives no working link.
    return hashlib.sha256(token.encode()).hexdigest()


class OneTimeLink(models.Model):
    """A link that lets the holder set an account's password once, before it expires.

    Only the token's hash is stored; the token itself exists in the e-mail alone.
    """

    class Purpose(models.TextChoices):
        SET_PASSWORD = "set_password", "Choose the first password"
        RESET_PASSWORD = "reset_password", "Reset the password"

    class Invalid(Exception):
        """Unknown, already used, expired, or for a disabled account."""

    account = models.ForeignKey(
        DirectoryAccount, on_delete=models.CASCADE, related_name="one_time_links"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [_made_once_per_step("one_time_link_one_per_step")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.account}"

    @classmethod
    def issue(
        cls,
        *,
        account: DirectoryAccount,
        purpose: str,
        valid_for: dt.timedelta,
        key: str = "",
    ) -> tuple[OneTimeLink, str]:
        """Create a link; returns it with the raw token, which is not kept anywhere."""
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            account=account,
            purpose=purpose,
            token_hash=_token_hash(token),
            created_by_key=key,
            expires_at=clock.now() + valid_for,
        )
        return link, token

    @classmethod
    def find_usable(cls, token: str) -> OneTimeLink | None:
        """The link of `token` if it could still be used (without using it)."""
        return (
            cls.objects.select_related("account")
            .filter(
                token_hash=_token_hash(token),
                used_at__isnull=True,
                expires_at__gt=clock.now(),
                account__active=True,
            )
            .first()
        )

    @classmethod
    def redeem(cls, token: str, *, purpose: str | None = None) -> OneTimeLink:
        """Use the link of `token`: works once, before it expires, for an active account.

        Spent with a conditional UPDATE, so two concurrent redeems of one token cannot both
        succeed (the second one's UPDATE re-checks `used_at` after the first commits).
        """
        now = clock.now()
        unused = cls.objects.filter(
            token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=now
        )
        if purpose is not None:
            unused = unused.filter(purpose=purpose)
        if not unused.update(used_at=now):
            raise cls.Invalid("This link is unknown, already used, or expired.")
        link = cls.objects.select_related("account").get(token_hash=_token_hash(token))
        if not link.account.active:
            raise cls.Invalid("This account is disabled.")
        return link


class AppEntitlement(models.Model):
    """Access to one application, held by a directory account or (without one) a person."""

    account = models.ForeignKey(
        DirectoryAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="entitlements",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="app_entitlements",
    )
    application = models.CharField(max_length=100)
    service_request = _request_field()
    granted_by_key = models.CharField(
        max_length=KEY_LENGTH,
        blank=True,
        editable=False,
        help_text="The automation step that granted it (empty when granted by hand).",
    )
    granted_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["application"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(person__isnull=False),
                name="entitlement_has_a_holder",
            ),
            models.UniqueConstraint(
                fields=["account", "application"],
                condition=Q(account__isnull=False),
                name="one_entitlement_per_account_and_application",
            ),
            models.UniqueConstraint(
                fields=["person", "application"],
                condition=Q(person__isnull=False),
                name="one_entitlement_per_person_and_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} for {self.account or self.person}"


# HR -------------------------------------------------------------------------------------


class EmployeeRecord(models.Model):
    """HR's record of a hire, created before the person has any account."""

    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    start_date = models.DateField()
    role = models.CharField(max_length=150, blank=True)
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hiring_manager = _person_field("hires")
    person = _person_field("employee_records", "The portal user, once the person has one.")
    service_request = _request_field()
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-start_date", "last_name"]
        constraints = [_made_once_per_step("employee_record_one_per_step")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} (starts {self.start_date:%Y-%m-%d})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class OrientationEvent(models.Model):
    """A calendar entry: the new hire's orientation session."""

    title = models.CharField(max_length=200)
    employee_record = models.ForeignKey(
        EmployeeRecord,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orientation_events",
    )
    person = _person_field("orientation_events")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service_request = _request_field()
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            _made_once_per_step("orientation_event_one_per_step"),
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")),
                name="orientation_starts_before_it_ends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.starts_at:%Y-%m-%d %H:%M}"


class SentMessage(models.Model):
    """An e-mail an automation step sent: written with the step, so a rerun never resends.

    The body is not kept: it may hold a one-time link.
    """

    key = models.CharField(max_length=100, unique=True)
    template = models.CharField(max_length=100)
    recipients = models.TextField()
    service_request = _request_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipients}"


# Facilities -----------------------------------------------------------------------------


class Desk(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="desks")
    floor = models.CharField(max_length=20)
    code = models.CharField(max_length=20, help_text="As printed on the desk, e.g. 3-12.")
    active = models.BooleanField(default=True, help_text="Bookable.")

    class Meta:
        ordering = ["location", "floor", "code"]
        constraints = [
            models.UniqueConstraint(fields=["location", "code"], name="desk_code_per_location"),
        ]

    def __str__(self) -> str:
        return f"{self.location} {self.code}"


class DeskBooking(models.Model):
    """A desk assigned to someone from `starts_on`; open (the desk is taken) until it ends."""

    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="bookings")
    person = _person_field("desk_bookings")
    employee_record = models.ForeignKey(
        EmployeeRecord,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="desk_bookings",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    service_request = _request_field()
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            _made_once_per_step("desk_booking_one_per_step"),
            # The backstop against double booking: whatever the booking code does, the
            # database refuses a second open booking of one desk.
            models.UniqueConstraint(
                fields=["desk"], condition=Q(ends_on__isnull=True), name="one_open_booking_per_desk"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.desk} from {self.starts_on:%Y-%m-%d}"


class Badge(models.Model):
    number = models.CharField(max_length=20, unique=True)
    holder = _person_field("badges")
    employee_record = models.ForeignKey(
        EmployeeRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="badges"
    )
    active = models.BooleanField(default=True)
    service_request = _request_field()
    created_by_key = _key_field()
    issued_at = models.DateTimeField(default=clock.now, editable=False)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [_made_once_per_step("badge_one_per_step")]

    def __str__(self) -> str:
        return self.number


class ParkingReservation(models.Model):
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="parking_reservations"
    )
    plate = models.CharField(max_length=16, help_text="Registration plate, upper case.")
    person = _person_field("parking_reservations")
    employee_record = models.ForeignKey(
        EmployeeRecord,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parking_reservations",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    service_request = _request_field()
    created_by_key = _key_field()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [_made_once_per_step("parking_reservation_one_per_step")]

    def __str__(self) -> str:
        return f"{self.plate} at {self.location} from {self.starts_on:%Y-%m-%d}"


# Outbound webhooks ----------------------------------------------------------------------

MAX_WEBHOOK_TIMEOUT_S = 30


class WebhookEndpoint(models.Model):
    """Where `generic.webhook` steps POST, and the secret that signs what they send."""

    name = models.SlugField(max_length=100, unique=True, help_text="Plans name it.")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, help_text="Signs each body (HMAC-SHA256).")
    # The call runs while the step holds its request's row lock: keep it short.
    timeout_s = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WEBHOOK_TIMEOUT_S)],
        help_text=f"Seconds to wait for an answer (at most {MAX_WEBHOOK_TIMEOUT_S}).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(timeout_s__gte=1, timeout_s__lte=MAX_WEBHOOK_TIMEOUT_S),
                name="webhook_timeout_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One attempt to call an endpoint, whatever came of it: the delivery log."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retried while tries remain)"
        REFUSED = "refused", "Refused (the step goes to a person)"

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.PROTECT,
        related_name="deliveries",
        help_text="Deactivate an endpoint rather than delete it: these rows are its log.",
    )
    # The step's key, not a foreign key to the step run: failed attempts are written from
    # another connection while the step's transaction holds the step run's row lock, and a
    # foreign key check would wait for that lock (see services/automation/webhooks.py).
    step_key = models.CharField(max_length=KEY_LENGTH, db_index=True)
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempt = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.endpoint} {self.step_key} #{self.attempt}: {self.status_code or self.error}"
