"""Journey owners (and admins) shape their maps in the portal: what the map is about, its
stages and their touchpoints with what each links to, the findings pinned to touchpoints,
and the to-be map that improves on an as-is one.

Who may read and who may shape is decided in `journeys.permissions`; the rules a map must
keep are the models' own, checked by the actions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from esm.permissions import can
from journeys import actions, selectors
from journeys.forms import (
    FindingChangeForm,
    FindingForm,
    JourneyForm,
    JourneyStageForm,
    TouchpointForm,
)
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's refusal beside the fields it names; anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- The map ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def journey_new(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "journeys.add_journey"):
        raise PermissionDenied("Admins and department managers start journey maps.")
    chooses_owner = can(request.user, "esm.use_admin")
    if request.method == "GET":
        form = JourneyForm(initial={"status": JourneyMap.Status.DRAFT}, chooses_owner=chooses_owner)
        return _journey_page(request, None, form)
    form = JourneyForm(request.POST, chooses_owner=chooses_owner)
    if form.is_valid():
        try:
            journey = actions.journey_create(creator=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{journey.name} is created: now give it its stages.")
            return redirect("journey_stages", slug=journey.slug)
    return _journey_page(request, None, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def journey_edit(request: HttpRequest, slug: str) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    chooses_owner = can(request.user, "esm.use_admin")
    if request.method == "GET":
        initial = {
            "name": journey.name,
            "slug": journey.slug,
            "persona": journey.persona,
            "goal": journey.goal,
            "owner": journey.owner.get_username(),
            "status": journey.status,
        }
        form = JourneyForm(initial=initial, chooses_owner=chooses_owner)
        return _journey_page(request, journey, form)
    form = JourneyForm(request.POST, chooses_owner=chooses_owner)
    if form.is_valid():
        try:
            journey = actions.journey_update(journey=journey, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{journey.name} is saved.")
            return redirect("journey_edit", slug=journey.slug)
    return _journey_page(request, journey, form, status=400)


def _journey_page(
    request: HttpRequest, journey: JourneyMap | None, form: JourneyForm, *, status: int = 200
) -> HttpResponse:
    to_be = None
    if journey is not None and journey.version == JourneyMap.Version.AS_IS:
        to_be = selectors.journey_to_be_of(journey=journey)
    return render(
        request,
        "journeys/journey_edit.html",
        {"journey": journey, "form": form, "to_be": to_be, "can_change": journey is not None},
        status=status,
    )


@login_required
@require_POST
def journey_to_be_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start the to-be map of an as-is map, as a draft copy of its stages and touchpoints."""
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    try:
        to_be = actions.journey_to_be_start(journey=journey, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("journey_edit", slug=journey.slug)
    messages.success(
        request, f"{to_be.name} is started as a draft copy of {journey.name}: now improve it."
    )
    return redirect("journey_edit", slug=to_be.slug)


# --- Stages and their touchpoints ----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def journey_stages(request: HttpRequest, slug: str) -> HttpResponse:
    """The map's stages with their touchpoints, a form that adds a stage and one that adds
    a touchpoint (to the stage in `?stage=`, or the first)."""
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    return _stage_form_response(request, journey, stage=None)


@login_required
@require_http_methods(["GET", "POST"])
def journey_stage_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    stage = get_object_or_404(JourneyStage, journey=journey, pk=pk)
    return _stage_form_response(request, journey, stage=stage)


@login_required
@require_POST
def journey_stage_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    stage = get_object_or_404(JourneyStage, journey=journey, pk=pk)
    actions.journey_stage_delete(stage=stage, by=request.user)
    messages.success(request, f"The stage {stage.name} is removed, with its touchpoints.")
    return redirect("journey_stages", slug=journey.slug)


def _stage_form_response(
    request: HttpRequest, journey: JourneyMap, *, stage: JourneyStage | None
) -> HttpResponse:
    if request.method == "GET":
        form = None
        if stage is not None:
            form = JourneyStageForm(initial={"name": stage.name, "position": stage.position})
        return _stages_page(request, journey, stage_form=form, editing_stage=stage)
    form = JourneyStageForm(request.POST)
    if form.is_valid():
        try:
            saved = actions.journey_stage_save(
                journey=journey, stage=stage, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"The stage {saved.name} is saved.")
            return redirect("journey_stages", slug=journey.slug)
    return _stages_page(request, journey, stage_form=form, editing_stage=stage, status=400)


@login_required
@require_POST
def touchpoint_new(request: HttpRequest, slug: str) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    return _touchpoint_form_response(request, journey, touchpoint=None)


@login_required
@require_http_methods(["GET", "POST"])
def touchpoint_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    touchpoint = get_object_or_404(
        Touchpoint.objects.select_related("stage"), stage__journey=journey, pk=pk
    )
    return _touchpoint_form_response(request, journey, touchpoint=touchpoint)


@login_required
@require_POST
def touchpoint_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    touchpoint = get_object_or_404(Touchpoint, stage__journey=journey, pk=pk)
    actions.touchpoint_delete(touchpoint=touchpoint, by=request.user)
    messages.success(request, f"The touchpoint {touchpoint.name} is removed, with its findings.")
    return redirect("journey_stages", slug=journey.slug)


def _touchpoint_form_kwargs(journey: JourneyMap) -> dict[str, Any]:
    return {
        "stages": journey.stages.all(),
        "items": selectors.catalog_items_for_touchpoints(),
        "articles": selectors.articles_for_touchpoints(),
        "stream_stages": selectors.stream_stages_for_touchpoints(),
    }


def _touchpoint_form_response(
    request: HttpRequest, journey: JourneyMap, *, touchpoint: Touchpoint | None
) -> HttpResponse:
    form_kwargs = _touchpoint_form_kwargs(journey)
    if request.method == "GET" and touchpoint is not None:
        initial = {
            "stage": touchpoint.stage_id,
            "name": touchpoint.name,
            "description": touchpoint.description,
            "channel": touchpoint.channel,
            "department": touchpoint.department_id,
            "position": touchpoint.position,
            "items": list(touchpoint.items.values_list("pk", flat=True)),
            "articles": list(touchpoint.articles.values_list("pk", flat=True)),
            "stream_stages": list(touchpoint.stream_stages.values_list("pk", flat=True)),
        }
        form = TouchpointForm(initial=initial, **form_kwargs)
        return _stages_page(request, journey, touchpoint_form=form, editing_touchpoint=touchpoint)
    form = TouchpointForm(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            saved = actions.touchpoint_save(
                journey=journey, touchpoint=touchpoint, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"The touchpoint {saved.name} is saved.")
            return redirect("journey_stages", slug=journey.slug)
    return _stages_page(
        request, journey, touchpoint_form=form, editing_touchpoint=touchpoint, status=400
    )


def _stages_page(
    request: HttpRequest,
    journey: JourneyMap,
    *,
    stage_form: JourneyStageForm | None = None,
    editing_stage: JourneyStage | None = None,
    touchpoint_form: TouchpointForm | None = None,
    editing_touchpoint: Touchpoint | None = None,
    status: int = 200,
) -> HttpResponse:
    """The stages page with both forms: the one posted (with its errors) or being edited,
    and the other blank."""
    stages = selectors.journey_stages(journey=journey)
    if stage_form is None:
        # A new stage comes after the others unless its owner says otherwise.
        last = max((stage.position for stage in stages), default=0)
        stage_form = JourneyStageForm(initial={"position": last + 1})
    if touchpoint_form is None:
        chosen = request.GET.get("stage", "")
        stage_id = int(chosen) if chosen.isdigit() else None
        if stage_id not in {stage.pk for stage in stages}:
            stage_id = stages[0].pk if stages else None
        touchpoint_form = TouchpointForm(
            initial={"stage": stage_id}, **_touchpoint_form_kwargs(journey)
        )
    return render(
        request,
        "journeys/journey_stages.html",
        {
            "journey": journey,
            "stages": stages,
            "stage_form": stage_form,
            "editing_stage": editing_stage,
            "touchpoint_form": touchpoint_form,
            "editing_touchpoint": editing_touchpoint,
            "can_change": True,
        },
        status=status,
    )


# --- Findings ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def journey_finding_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Write a pain point or an opportunity on a touchpoint (`?touchpoint=` picks it)."""
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    touchpoints = selectors.journey_touchpoints(journey=journey)
    if request.method == "GET":
        form = FindingForm(
            initial={"touchpoint": request.GET.get("touchpoint")}, touchpoints=touchpoints
        )
        return _finding_page(request, journey, None, form)
    form = FindingForm(request.POST, touchpoints=touchpoints)
    if form.is_valid():
        try:
            finding = actions.finding_save(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"“{finding.title}” is written.")
            return redirect("journey_finding_edit", slug=journey.slug, pk=finding.pk)
    return _finding_page(request, journey, None, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def journey_finding_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_editor(user=request.user, slug=slug)
    finding = get_object_or_404(
        Finding.objects.select_related("touchpoint__stage", "owner"),
        touchpoint__stage__journey=journey,
        pk=pk,
    )
    if request.method == "GET":
        initial = {
            "status": finding.status,
            "owner": finding.owner.get_username() if finding.owner else "",
            "description": finding.description,
        }
        return _finding_page(request, journey, finding, FindingChangeForm(initial=initial))
    form = FindingChangeForm(request.POST)
    if form.is_valid():
        try:
            finding = actions.finding_update(finding=finding, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"“{finding.title}” is saved.")
            return redirect("journey_finding_edit", slug=journey.slug, pk=finding.pk)
    return _finding_page(request, journey, finding, form, status=400)


def _finding_page(
    request: HttpRequest,
    journey: JourneyMap,
    finding: Finding | None,
    form: forms.Form,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "journeys/finding_edit.html",
        {"journey": journey, "finding": finding, "form": form, "can_change": True},
        status=status,
    )
