from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from esm import selectors
from esm.permissions import can
from esm.workspace import workspace_sections


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with the link on the portal's public address (PORTAL_BASE_URL) like every
    other e-mail, rather than on the Host the form was posted to."""

    @property
    def extra_email_context(self) -> dict[str, str]:
        return {"portal_base_url": settings.PORTAL_BASE_URL.rstrip("/")}


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
