"""The portal's own "not found" page while DEBUG is on.

With DEBUG off Django renders templates/404.html and templates/403.html itself. With DEBUG
on it answers a 404 with its technical page, which lists every URL pattern: the demo
(`make demo` runs with DEBUG=1) would show that to people clicking around. This middleware
renders the portal's page instead (the API's JSON body under /api/, as `handler404`
does); 500s keep Django's technical page, which is what DEBUG
is for. (A 403 needs nothing: Django renders 403.html in DEBUG too.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from esm.api import not_found as _not_found


class PortalNotFoundInDebugMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No URL pattern matched: Django built the technical 404 before any view ran, so
        # `process_exception` never saw it; only then is `resolver_match` unset.
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            return _not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return _not_found(request)
        return None
