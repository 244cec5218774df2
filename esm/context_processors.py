from typing import Any

from django.http import HttpRequest

from esm.navigation import nav_items


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": nav_items(request)}
