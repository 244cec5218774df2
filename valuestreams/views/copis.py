"""A stream read from the outside in: Customer, Outputs, Process, Inputs, Suppliers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from esm.permissions import can
from valuestreams import selectors


@login_required
@require_GET
def value_stream_copis(request: HttpRequest, slug: str) -> HttpResponse:
    stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
    return render(
        request,
        "valuestreams/copis.html",
        {
            "stream": stream,
            "copis": selectors.value_stream_copis(stream=stream),
            "can_change": can(request.user, "valuestreams.change_stream", stream),
        },
    )
