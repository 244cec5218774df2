from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from esm.navigation import nav_items


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {"nav_items": []}
    # Lazy: partials (htmx answers) never show the navigation and so never pay its queries.
    return {"nav_items": SimpleLazyObject(lambda: nav_items(request))}
