"""A service's portfolio entry, as its accountable owner, its department's managers and
admins keep it (`services.change_service_portfolio`). The portfolio page that reads the
entries beside the log's figures belongs to reporting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from esm.permissions import can
from services.actions import service_portfolio_update
from services.forms import ServicePortfolioForm
from services.models import Service


@login_required
@require_http_methods(["GET", "POST"])
def service_portfolio_edit(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(
        Service.objects.select_related("department", "owner").prefetch_related("value_claims"),
        slug=slug,
    )
    if not can(request.user, "services.change_service_portfolio", service):
        raise PermissionDenied("A service's owner and its department's managers keep its entry.")
    # Bound on every POST, even an empty one: `request.POST or None` would read an empty
    # POST as a first visit and save nothing without saying why.
    form = ServicePortfolioForm(
        request.POST if request.method == "POST" else None, instance=service
    )
    if request.method == "POST" and form.is_valid():
        try:
            service_portfolio_update(
                service=service, by=request.user, changes=form.changes(), claims=form.claims()
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            messages.success(request, f"The portfolio entry of {service.name} is saved.")
            return redirect("portfolio_service", slug=service.slug)
    return render(
        request, "services/service_portfolio_form.html", {"service": service, "form": form}
    )
