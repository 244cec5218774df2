"""Stream owners (and admins) shape their streams in the portal: what the stream is, its
stages and the plan steps they are made of, and the handoff targets between them.

Who may read and who may shape is decided in `valuestreams.permissions`; the rules the
configuration must keep are the models' own, checked by the actions.
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
from valuestreams import actions, selectors
from valuestreams.forms import HandoffTargetForm, StageForm, ValueStreamForm
from valuestreams.models import HandoffTarget, Stage, ValueStream


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's refusal beside the fields it names; anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _stream_form_kwargs(request: HttpRequest) -> dict[str, Any]:
    return {
        "items": selectors.catalog_items_for_streams(),
        "chooses_owner": can(request.user, "esm.use_admin"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_new(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "valuestreams.add_stream"):
        raise PermissionDenied("Admins and department managers start value streams.")
    form_kwargs = _stream_form_kwargs(request)
    if request.method == "GET":
        form = ValueStreamForm(initial={"status": ValueStream.Status.DRAFT}, **form_kwargs)
        return _stream_page(request, None, form)
    form = ValueStreamForm(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            stream = actions.value_stream_create(creator=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{stream.name} is created: now give it its stages.")
            return redirect("valuestream_stages", slug=stream.slug)
    return _stream_page(request, None, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_edit(request: HttpRequest, slug: str) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    form_kwargs = _stream_form_kwargs(request)
    if request.method == "GET":
        initial = {
            "name": stream.name,
            "slug": stream.slug,
            "outcome": stream.outcome,
            "customer": stream.customer,
            "owner": stream.owner.get_username(),
            "status": stream.status,
            "items": list(stream.items.all()),
        }
        return _stream_page(request, stream, ValueStreamForm(initial=initial, **form_kwargs))
    form = ValueStreamForm(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            stream = actions.value_stream_update(
                stream=stream, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{stream.name} is saved.")
            return redirect("valuestream_edit", slug=stream.slug)
    return _stream_page(request, stream, form, status=400)


def _stream_page(
    request: HttpRequest, stream: ValueStream | None, form: ValueStreamForm, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "valuestreams/stream_edit.html",
        {"stream": stream, "form": form, "can_change": stream is not None},
        status=status,
    )


# --- Stages -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_stages(request: HttpRequest, slug: str) -> HttpResponse:
    """The stream's stages, and a form that adds one."""
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    return _stage_form_response(request, stream, stage=None)


@login_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    stage = get_object_or_404(Stage, stream=stream, pk=pk)
    return _stage_form_response(request, stream, stage=stage)


@login_required
@require_POST
def stage_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    stage = get_object_or_404(Stage, stream=stream, pk=pk)
    actions.stage_delete(stage=stage, by=request.user)
    messages.success(request, f"The stage {stage.name} is removed, with its handoff targets.")
    return redirect("valuestream_stages", slug=stream.slug)


def _stage_form_response(
    request: HttpRequest, stream: ValueStream, *, stage: Stage | None
) -> HttpResponse:
    stages = selectors.value_stream_stages(stream=stream)
    steps = selectors.value_stream_plan_steps(stream=stream)
    form_kwargs = {
        "steps": steps,
        "offered": selectors.plan_steps_free_for(stage=stage, steps=steps),
    }
    if request.method == "GET":
        return _stages_page(request, stream, stages, stage, _stage_form(stage, stages, form_kwargs))
    form = StageForm(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            saved = actions.stage_save(
                stream=stream, stage=stage, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"The stage {saved.name} is saved.")
            return redirect("valuestream_stages", slug=stream.slug)
    return _stages_page(request, stream, stages, stage, form, status=400)


def _stage_form(stage: Stage | None, stages: list[Stage], form_kwargs: dict[str, Any]) -> StageForm:
    if stage is None:
        # A new stage comes after the others unless its owner says otherwise.
        last_group = max((s.parallel_group for s in stages), default=0)
        return StageForm(initial={"parallel_group": last_group + 1}, **form_kwargs)
    initial = {
        "name": stage.name,
        "department": stage.department_id,
        "parallel_group": stage.parallel_group,
        "position": stage.position,
        "expected_process_minutes": stage.expected_process_minutes,
        "plan_steps": [link.plan_step_id for link in stage.steps.all()],
    }
    return StageForm(initial=initial, **form_kwargs)


def _stages_page(
    request: HttpRequest,
    stream: ValueStream,
    stages: list[Stage],
    editing: Stage | None,
    form: StageForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "valuestreams/stages.html",
        {
            "stream": stream,
            "stages": stages,
            "editing": editing,
            "form": form,
            "can_change": True,
        },
        status=status,
    )


# --- Handoff targets --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_handoffs(request: HttpRequest, slug: str) -> HttpResponse:
    """The pick-up targets at the stream's department boundaries, and a form that adds one."""
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    return _handoff_form_response(request, stream, target=None)


@login_required
@require_http_methods(["GET", "POST"])
def handoff_target_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    target = get_object_or_404(HandoffTarget, stream=stream, pk=pk)
    return _handoff_form_response(request, stream, target=target)


@login_required
@require_POST
def handoff_target_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    target = get_object_or_404(HandoffTarget, stream=stream, pk=pk)
    actions.handoff_target_delete(target=target, by=request.user)
    messages.success(request, "The handoff target is removed.")
    return redirect("valuestream_handoffs", slug=stream.slug)


def _handoff_form_response(
    request: HttpRequest, stream: ValueStream, *, target: HandoffTarget | None
) -> HttpResponse:
    stages = stream.stages.all()
    if request.method == "GET":
        initial = {}
        if target is not None:
            initial = {
                "from_stage": target.from_stage_id,
                "to_stage": target.to_stage_id,
                "pickup_minutes": target.pickup_minutes,
            }
        form = HandoffTargetForm(initial=initial, stages=stages)
        return _handoffs_page(request, stream, target, form)
    form = HandoffTargetForm(request.POST, stages=stages)
    if form.is_valid():
        try:
            actions.handoff_target_save(
                stream=stream, target=target, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "The handoff target is saved.")
            return redirect("valuestream_handoffs", slug=stream.slug)
    return _handoffs_page(request, stream, target, form, status=400)


def _handoffs_page(
    request: HttpRequest,
    stream: ValueStream,
    editing: HandoffTarget | None,
    form: HandoffTargetForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "valuestreams/handoffs.html",
        {
            "stream": stream,
            "targets": selectors.value_stream_handoff_targets(stream=stream),
            "editing": editing,
            "form": form,
            "can_change": True,
        },
        status=status,
    )
