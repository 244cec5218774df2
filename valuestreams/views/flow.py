"""The measured pages of value streams: the list, the map of one stream, the cases behind
a figure. Thin: a permission check, a selector, a template."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from esm.permissions import can
from valuestreams import selectors
from valuestreams.forms import PeriodForm, local_today, presets
from valuestreams.map import value_stream_map
from valuestreams.metrics import Period
from valuestreams.models import ValueStream
from valuestreams.tasks import value_stream_refresh_task

CASES_PER_PAGE = 25


def _period(request: HttpRequest) -> tuple[PeriodForm, Period]:
    form = PeriodForm(request.GET)
    period = form.period()
    if not ({"start", "end"} & request.GET.keys()):
        # Nothing chosen yet: show the default period's days in the fields.
        last_day = period.end - dt.timedelta(days=1)
        form = PeriodForm({"start": f"{period.start:%Y-%m-%d}", "end": f"{last_day:%Y-%m-%d}"})
    return form, period


def _period_query(period: Period) -> str:
    last_day = period.end - dt.timedelta(days=1)
    return urlencode({"start": f"{period.start:%Y-%m-%d}", "end": f"{last_day:%Y-%m-%d}"})


def period_context(request: HttpRequest) -> dict[str, Any]:
    """The period a measured page reads, and what `_period.html` shows of it (the journey
    pages use it too, so every measured page picks periods the same way)."""
    form, period = _period(request)
    return {
        "period_form": form,
        "period": period,
        "period_query": _period_query(period),
        "period_last_day": period.end - dt.timedelta(days=1),
        "presets": presets(local_today()),
    }


@login_required
@require_GET
def value_stream_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "valuestreams.view_streams"):
        raise Http404("No value streams here.")
    context = period_context(request)
    streams = selectors.value_streams_visible_to(request.user)
    context["summaries"] = selectors.value_stream_summaries(
        streams=streams, period=context["period"], viewer=request.user
    )
    context["may_add"] = can(request.user, "valuestreams.add_stream")
    return render(request, "valuestreams/stream_list.html", context)


@login_required
@require_GET
def value_stream_map_page(request: HttpRequest, slug: str) -> HttpResponse:
    stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
    context = period_context(request)
    metrics = selectors.value_stream_metrics(
        stream=stream, period=context["period"], viewer=request.user
    )
    cases_url = f"{reverse('valuestream_cases', args=[stream.slug])}?{context['period_query']}"
    context.update(
        stream=stream,
        metrics=metrics,
        stream_map=value_stream_map(metrics, cases_url=cases_url),
        cases_url=cases_url,
        variants=selectors.value_stream_variants(
            stream=stream, period=context["period"], viewer=request.user, metrics=metrics
        ),
        may_change=can(request.user, "valuestreams.change_stream", stream),
    )
    return render(request, "valuestreams/stream_map.html", context)


def _drill_down(request: HttpRequest, stream: ValueStream) -> dict[str, Any]:
    """What the figure clicked stands for: a stage, a handoff (from-to) or the whole stream."""
    stages = {stage.pk: stage for stage in stream.stages.select_related("department")}
    stage_id = handoff = None
    if raw := request.GET.get("stage"):
        stage_id = int(raw) if raw.isdigit() and int(raw) in stages else None
        if stage_id is None:
            raise Http404("No such stage in this stream.")
    if raw := request.GET.get("handoff"):
        ends = raw.split("-")
        if len(ends) != 2 or not all(end.isdigit() and int(end) in stages for end in ends):
            raise Http404("No such handoff in this stream.")
        handoff = (int(ends[0]), int(ends[1]))
    return {
        "stage": stages.get(stage_id) if stage_id else None,
        "handoff": (stages[handoff[0]], stages[handoff[1]]) if handoff else None,
        "filters": {"stage_id": stage_id, "handoff": handoff},
    }


@login_required
@require_GET
def value_stream_cases(request: HttpRequest, slug: str) -> HttpResponse:
    stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
    context = period_context(request)
    drill = _drill_down(request, stream)
    cases = selectors.value_stream_cases(
        stream=stream, period=context["period"], viewer=request.user, **drill.pop("filters")
    )
    context.update(
        drill,
        stream=stream,
        page=Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page")),
        hidden_cases=selectors.value_stream_cases_hidden(
            stream=stream, period=context["period"], viewer=request.user
        ),
    )
    return render(request, "valuestreams/stream_cases.html", context)


@login_required
@require_POST
def value_stream_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    stream = selectors.value_stream_for_editor(user=request.user, slug=slug)
    transaction.on_commit(lambda: value_stream_refresh_task.delay(stream.pk))
    messages.success(request, "The figures are being recomputed from the log.")
    # Back to the period the owner was reading, rebuilt from valid dates only.
    period = PeriodForm(QueryDict(request.POST.get("period", ""))).period()
    return redirect(f"{reverse('valuestream_map', args=[stream.slug])}?{_period_query(period)}")
