"""Forms of the sign-in pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms

from esm.oidc import local_password_allowed


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
