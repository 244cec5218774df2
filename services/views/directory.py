"""The built-in directory's one page: choose a password through a one-time link.

The link's token is the only credential, so the page needs no sign-in; it answers the same
"not usable" page for an unknown, used or expired link, telling an attacker nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from services.models import OneTimeLink


class ChoosePasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    confirm = forms.CharField(
        label="The same password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, account: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The similarity check compares the password with the account's names.
        self.account = account

    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("password")
        if password and password != cleaned.get("confirm"):
            self.add_error("confirm", "The two passwords differ.")
        elif password:
            try:
                password_validation.validate_password(password, user=self.account)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def one_time_link(request: HttpRequest, token: str) -> HttpResponse:
    link = OneTimeLink.find_usable(token)
    if link is None:
        return render(request, "services/directory/link_unusable.html", status=404)
    form = ChoosePasswordForm(request.POST or None, account=link.account)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            try:
                link = OneTimeLink.redeem(token)
            except OneTimeLink.Invalid:
                return render(request, "services/directory/link_unusable.html", status=404)
            link.account.set_password(form.cleaned_data["password"])
            link.account.save(update_fields=["password"])
        return render(request, "services/directory/password_set.html", {"account": link.account})
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "services/directory/choose_password.html",
        {"form": form, "account": link.account, "link": link},
        status=status,
    )
