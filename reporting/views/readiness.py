"""Readiness and adoption per department, the tribal audit and the roll-out plan: what the
people who lead service management across the enterprise read to decide where it goes
next (the rules of each figure live in `reporting.readiness` and `reporting.adoption`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from esm import clock
from esm.models import Department
from esm.permissions import can
from reporting.actions import (
    readiness_assess,
    rollout_step_move,
    rollout_step_save,
    tribal_group_record,
)
from reporting.adoption import department_adoption
from reporting.models import ReadinessAssessment, RolloutStep, TribalGroup
from reporting.readiness import SIGN_KEYS, SIGNS, department_readiness, signs_yes
from reporting.readiness_forms import AssessmentForm, RolloutStepForm, TribalGroupForm

DEPARTMENTS_PER_PAGE = 25
RECORDINGS_PER_PAGE = 50
HISTORY = 10
"""Earlier assessments shown beside the form."""


def _may_read(request: HttpRequest) -> None:
    if not can(request.user, "reporting.view_readiness"):
        raise PermissionDenied("Department managers, executives and admins read readiness.")


def _add_errors(form: Form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def _today() -> object:
    return timezone.localdate(clock.now())


@login_required
@require_GET
def readiness_overview(request: HttpRequest) -> HttpResponse:
    _may_read(request)
    page = Paginator(Department.objects.order_by("name"), DEPARTMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    readiness = department_readiness(page)
    adoption = department_adoption(department_ids=[d.pk for d in page], viewer=request.user)
    rows = [
        {
            "department": department,
            "yes": signs_yes(readiness[department.pk]),
            "answers": readiness[department.pk],
            "adoption": adoption[department.pk],
        }
        for department in page
    ]
    return render(
        request,
        "reporting/readiness.html",
        {"page": page, "rows": rows, "signs": SIGNS, "may_audit": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def readiness_department(request: HttpRequest, slug: str) -> HttpResponse:
    _may_read(request)
    department = get_object_or_404(Department, slug=slug)
    may_assess = can(request.user, "reporting.assess_readiness", department)
    if request.method == "POST" and not may_assess:
        raise PermissionDenied("This department's managers, executives and admins assess it.")
    form = AssessmentForm(
        request.POST or None,
        initial={"assessed_on": _today(), "sign": request.GET.get("sign")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            readiness_assess(department=department, assessed_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "The assessment is recorded.")
            return redirect("readiness_department", slug=department.slug)
    answers = department_readiness([department])[department.pk]
    adoption = department_adoption(department_ids=[department.pk], viewer=request.user)
    return render(
        request,
        "reporting/readiness_department.html",
        {
            "department": department,
            "answers": answers,
            "yes": signs_yes(answers),
            "adoption": adoption[department.pk],
            "form": form if may_assess else None,
            "earlier": [
                (assessment, SIGN_KEYS[assessment.sign].question)
                for assessment in ReadinessAssessment.objects.filter(
                    department=department, sign__in=SIGN_KEYS
                ).select_related("assessed_by")[:HISTORY]
            ],
            "may_audit": True,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def tribes(request: HttpRequest) -> HttpResponse:
    """The tribal audit: every recording of every group, newest first within a group, so
    the change in a group's tools, channels and openness reads down the page."""
    _may_read(request)
    may_record = can(request.user, "reporting.record_tribes")
    if request.method == "POST" and not may_record:
        raise PermissionDenied("The ESM lead (executives and admins) keeps the tribal audit.")
    form = TribalGroupForm(request.POST or None, initial={"recorded_on": _today()})
    if request.method == "POST" and form.is_valid():
        try:
            tribal_group_record(recorded_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['name']} is recorded.")
            return redirect("tribes")
    page = Paginator(
        TribalGroup.objects.select_related("recorded_by"), RECORDINGS_PER_PAGE
    ).get_page(request.GET.get("page"))
    groups: dict[str, list[TribalGroup]] = {}
    for recording in page:
        groups.setdefault(recording.name, []).append(recording)
    return render(
        request,
        "reporting/tribes.html",
        {
            "page": page,
            "groups": groups,
            "form": form if may_record else None,
            "may_audit": True,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_GET
def rollout(request: HttpRequest) -> HttpResponse:
    _may_read(request)
    return render(
        request,
        "reporting/rollout.html",
        {
            "steps": RolloutStep.objects.select_related("value_stream", "owner"),
            "may_plan": can(request.user, "reporting.plan_rollout"),
            "may_audit": True,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rollout_step_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not can(request.user, "reporting.plan_rollout"):
        raise PermissionDenied("The ESM lead (executives and admins) keeps the roll-out plan.")
    step = get_object_or_404(RolloutStep, pk=pk) if pk is not None else None
    form = RolloutStepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        try:
            rollout_step_save(by=request.user, step=step, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "The roll-out plan is saved.")
            return redirect("rollout")
    return render(
        request,
        "reporting/rollout_form.html",
        {"form": form, "step": step},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def rollout_step_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "reporting.plan_rollout"):
        raise PermissionDenied("The ESM lead (executives and admins) keeps the roll-out plan.")
    step = get_object_or_404(RolloutStep, pk=pk)
    rollout_step_move(step=step, by=request.user, up=request.POST.get("direction") == "up")
    return redirect("rollout")
