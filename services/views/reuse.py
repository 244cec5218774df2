"""Reuse across departments, for department managers: copy an item into their department,
name its department-specific parts, follow what its origin improves since.

Only managers of the department a copy goes into (and admins) may make or change it; the
origin must be an item they can see (`services.reuse`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from esm.models import Department
from esm.permissions import can
from services import reuse
from services.actions import (
    ActionRefused,
    catalog_item_copy,
    catalog_item_publish,
    open_parts_resolve,
)
from services.models import CatalogItem, OpenPart, Service

COPIES_PER_PAGE = 25
DECIDE_LATER = ("", "Decide later")


class CopyStartForm(forms.Form):
    item = forms.ModelChoiceField(
        queryset=CatalogItem.objects.none(), to_field_name="slug", label="Item to copy"
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), to_field_name="slug", label="Into"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = reuse.items_visible_for_reuse(user).order_by(
            "department__name", "name"
        )
        self.fields["item"].label_from_instance = lambda item: f"{item.department}: {item.name}"
        departments = reuse.departments_to_copy_into(user)
        self.fields["department"].queryset = departments
        if len(departments) == 1:
            self.fields["department"].initial = departments[0]


class OpenPartsForm(forms.Form):
    """One choice per department-specific part; `parts` are (field name, label, kind,
    what the origin had) tuples. Left blank, a part stays open."""

    def __init__(
        self, *args: Any, parts: list[tuple[str, str, str, str]], department: Department, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        # One query per kind of part, however many parts there are.
        choices: dict[str, list[tuple[str, str]]] = {}
        for name, label, kind, origin_value in parts:
            if kind not in choices:
                choices[kind] = reuse.resolution_choices(kind, department)
            self.fields[name] = forms.ChoiceField(
                label=f"{label}: {OpenPart.Kind(kind).label.lower()}",
                help_text=f"The origin has: {origin_value}.",
                choices=[DECIDE_LATER, *choices[kind]],
                required=False,
            )


class CopyForm(OpenPartsForm):
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), help_text="The service of your department it offers."
    )

    def __init__(self, *args: Any, department: Department, **kw: Any) -> None:
        super().__init__(*args, department=department, **kw)
        services = department.services.filter(status=Service.Status.LIVE)
        self.fields["service"].queryset = services
        if len(services) == 1:
            self.fields["service"].initial = services[0]
        self.order_fields(["service"])


def _part_label(part: reuse.SpecificPart | OpenPart) -> str:
    step = (
        part.step
        if isinstance(part, reuse.SpecificPart)
        else (part.plan_step or part.approval_step)
    )
    return reuse.step_label(step)


def _require_manager(user: Any, department: Department) -> None:
    if not can(user, "services.copy_item_into", department):
        raise PermissionDenied


def _home(request: HttpRequest, form: CopyStartForm, *, status: int = 200) -> HttpResponse:
    copies = reuse.copies_visible_to(request.user).order_by("department__name", "name")
    return render(
        request,
        "services/reuse_home.html",
        {
            "form": form,
            "page": Paginator(copies, COPIES_PER_PAGE).get_page(request.GET.get("page")),
        },
        status=status,
    )


@login_required
@require_GET
def reuse_home(request: HttpRequest) -> HttpResponse:
    if not reuse.departments_to_copy_into(request.user).exists():
        raise PermissionDenied
    return _home(request, CopyStartForm(user=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def reuse_copy(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    if request.method == "GET":
        # The choice made on the reuse page: a missing or unknown one is said beside it.
        if not reuse.departments_to_copy_into(request.user).exists():
            raise PermissionDenied
        start = CopyStartForm(request.GET, user=request.user)
        if not start.is_valid():
            return _home(request, start, status=400)
    department = get_object_or_404(Department, slug=params.get("department", ""))
    _require_manager(request.user, department)
    item = get_object_or_404(
        reuse.items_visible_for_reuse(request.user), slug=params.get("item", "")
    )
    specific = reuse.specific_parts(item)
    parts = [(p.key, _part_label(p), p.kind, p.value) for p in specific]
    data = request.POST if request.method == "POST" else None
    form = CopyForm(data, parts=parts, department=department)
    if department.pk == item.department_id:
        form.add_error(None, f"{item} already belongs to {department}: pick another item.")
    elif form.is_valid():
        chosen = {key: value for key, value in form.cleaned_data.items() if key != "service"}
        try:
            copy = catalog_item_copy(
                item=item,
                department=department,
                by=request.user,
                service=form.cleaned_data["service"],
                resolutions=chosen,
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Copied into {department}, unpublished.")
            return redirect("reuse_detail", slug=copy.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "services/reuse_copy.html",
        {"item": item, "department": department, "form": form, "parts": specific},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def reuse_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        copy = reuse.copy_for_page(slug=slug)
    except CatalogItem.DoesNotExist:
        raise Http404 from None
    _require_manager(request.user, copy.department)
    open_parts = list(copy.open_parts.all())
    parts = [(f"part-{p.pk}", _part_label(p), p.kind, p.origin_value) for p in open_parts]
    form = OpenPartsForm(
        request.POST if request.method == "POST" else None, parts=parts, department=copy.department
    )
    if request.method == "POST" and form.is_valid():
        chosen = {
            int(name.removeprefix("part-")): value
            for name, value in form.cleaned_data.items()
            if value
        }
        try:
            resolved = open_parts_resolve(item=copy, by=request.user, resolutions=chosen)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"{resolved} part{'s' if resolved != 1 else ''} resolved.")
            return redirect("reuse_detail", slug=copy.slug)
    return render(
        request,
        "services/reuse_detail.html",
        {
            "copy": copy,
            "form": form,
            "open_parts": open_parts,
            "changes": reuse.origin_changes(copy),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def reuse_publish(request: HttpRequest, slug: str) -> HttpResponse:
    copy = get_object_or_404(
        CatalogItem.objects.filter(copied_at__isnull=False).select_related("department"),
        slug=slug,
    )
    _require_manager(request.user, copy.department)
    try:
        catalog_item_publish(item=copy, by=request.user)
    except ActionRefused as refusal:
        messages.error(request, f"Not published: {refusal}")
    else:
        messages.success(request, f"{copy} is in the catalog.")
    return redirect("reuse_detail", slug=copy.slug)
