from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from esm import audit, selectors
from esm.forms import AuditFilterForm, PasswordResetForm, SignInForm, audit_cursor
from esm.oidc import local_password_allowed, oidc_enabled, sign_out_response
from esm.permissions import can
from esm.workspace import workspace_sections


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied


def _sign_in_context() -> dict[str, Any]:
    """What the sign-in pages offer: single sign-on when configured, and whether local
    passwords are still for everyone."""
    return {
        "single_sign_on": oidc_enabled(),
        "provider_name": settings.OIDC_PROVIDER_NAME,
        "local_passwords": settings.LOCAL_PASSWORDS or not oidc_enabled(),
    }


class SignInView(auth_views.LoginView):
    """Django's, offering single sign-on where it is configured; while local passwords are
    switched off, the password form is only for the break-glass administrators."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | _sign_in_context()


class SignOutView(auth_views.LogoutView):
    """Ends the portal session and, for a person who signed in with the identity
    provider, sends them to end theirs there too."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        return sign_out_response(request, id_token) or response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with the link on the portal's public address (PORTAL_BASE_URL) like every
    other e-mail, rather than on the Host the form was posted to. While local passwords
    are switched off, only the break-glass administrators get a link."""

    form_class = PasswordResetForm

    @property
    def extra_email_context(self) -> dict[str, str]:
        return {"portal_base_url": settings.PORTAL_BASE_URL.rstrip("/")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | _sign_in_context()


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a link sent before local passwords were switched off no longer works for
    anyone but the break-glass administrators."""

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        if user is not None and not local_password_allowed(user.get_username()):
            return None
        return user


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's; nobody but the break-glass administrators keeps a password to change
    while local passwords are switched off."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not local_password_allowed(
            request.user.get_username()
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    _require(request, "esm.work_queues")
    return render(
        request,
        "esm/workspace.html",
        {
            "departments": selectors.departments_worked_by(request.user),
            "default_calendar": selectors.default_calendar(),
            "sections": workspace_sections(request.user),
        },
    )


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who changed what and when: requests, tasks, configuration, roles and rights."""
    _require(request, "esm.view_audit")
    form = AuditFilterForm(request.GET)
    rows, older = [], ""
    if form.is_valid():
        events, more = audit.audit_events(viewer=request.user, filters=form.filters())
        rows = audit.audit_rows(viewer=request.user, events=events)
        if more:
            query = request.GET.copy()
            query["before"] = audit_cursor(events[-1])
            older = f"?{query.urlencode()}"
    filtered = any(value for name, value in request.GET.items() if name != "before")
    return render(
        request,
        "esm/audit_log.html",
        {
            "form": form,
            "rows": rows,
            "older": older,
            "filtered": filtered,
            "first_page": not request.GET.get("before"),
        },
        status=200 if form.is_valid() else 400,
    )
