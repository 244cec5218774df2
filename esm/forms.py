"""Forms of the sign-in pages and the audit page's filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from esm import audit
from esm.models import EventKind
from esm.oidc import local_password_allowed

# The most a free-text box takes when its model sets no limit (a TextField has none): a page
# form refuses a megabyte pasted in, as the API does, rather than storing it.
TEXT_MAX_CHARS = 10_000


def bounded_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """A model form's field, long text given TEXT_MAX_CHARS (`Meta.formfield_callback`)."""
    if isinstance(db_field, models.TextField):
        kwargs.setdefault("max_length", TEXT_MAX_CHARS)
    return db_field.formfield(**kwargs)


class SignInForm(auth_forms.AuthenticationForm):
    """Django's, refusing in words anyone but the break-glass administrators while local
    passwords are switched off (the backend refuses them too, without saying why)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username and not local_password_allowed(username):
            raise forms.ValidationError(
                "Passwords are switched off: sign in with %(provider)s. This form is only for "
                "the break-glass administrator.",
                code="local_passwords_off",
                params={"provider": settings.OIDC_PROVIDER_NAME},
            )
        return super().clean()


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, sending a link only to people who may still use a password."""

    def get_users(self, email: str) -> Any:
        return (
            user for user in super().get_users(email) if local_password_allowed(user.get_username())
        )


class AuditFilterForm(forms.Form):
    """The audit page's filters; every field optional. Days are the portal's time zone's."""

    who = forms.CharField(required=False, max_length=150, label="Who (username)")
    category = forms.ChoiceField(required=False, label="What")
    kind = forms.ChoiceField(required=False, label="Kind")
    subject = forms.ChoiceField(required=False, label="Record")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    flagged = forms.BooleanField(required=False, label="Flagged only")
    before = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "Everything"), *audit.CATEGORIES.items()]
        self.fields["kind"].choices = [("", "Any kind"), *EventKind.choices]
        self.fields["subject"].choices = [("", "Any record"), *audit.subject_type_choices()]

    def clean_who(self) -> Any:
        username = self.cleaned_data["who"].strip()
        if not username:
            return None
        person = get_user_model().objects.filter(username__iexact=username).first()
        if person is None:
            raise forms.ValidationError("Nobody has this username.")
        return person

    def clean_before(self) -> tuple[dt.datetime, int] | None:
        cursor = self.cleaned_data["before"]
        if not cursor:
            return None
        at, _, pk = cursor.rpartition("~")
        try:
            return dt.datetime.fromisoformat(at), int(pk)
        except ValueError:
            raise forms.ValidationError("This page link is broken: start again.") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day comes after the first.")
        return data

    def filters(self) -> audit.AuditFilters:
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def midnight(day: dt.date | None, days: int = 0) -> dt.datetime | None:
            if day is None:
                return None
            return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=zone)

        return audit.AuditFilters(
            actor=data.get("who"),
            category=data.get("category") or "",
            kind=data.get("kind") or "",
            subject_type=data.get("subject") or "",
            start=midnight(data.get("start")),
            end=midnight(data.get("end"), days=1),
            flagged_only=bool(data.get("flagged")),
            cursor=data.get("before"),
        )


def audit_cursor(event: Any) -> str:
    """The link to the page after `event` (the last row of this one)."""
    return f"{event.occurred_at.isoformat()}~{event.pk}"
