"""The whole request body's cap, answered before the body is read.

A request whose declared length (`Content-Length`) is over `REQUEST_BODY_MAX_BYTES` gets
413 at once: nothing of it is read, parsed or written to a temporary file, so a client
cannot make the server swallow gigabytes to be told no. Each attachment's own limit
(`ATTACHMENT_MAX_BYTES`) is checked by the forms, with the error beside the field.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

MACHINE_PATHS = ("/api/", "/scim/")
"""Answered in JSON: their callers are programs."""


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_BODY_MAX_BYTES
        if _declared_length(request) <= limit:
            return self.get_response(request)
        message = (
            f"The request is larger than the {limit / 1_048_576:.0f} MB the portal accepts; "
            "nothing was saved."
        )
        if request.path.startswith(MACHINE_PATHS):
            return JsonResponse({"detail": message}, status=413)
        return render(request, "413.html", {"message": message}, status=413)
