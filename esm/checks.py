"""System checks of the enterprise's own settings, run by `manage.py check` at deploy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from esm.sign_in import group_roles_parse


@register()
def group_roles_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A group mapping with a typo would grant nothing in silence (or fail every
    sign-in): it stops the deploy instead."""
    try:
        group_roles_parse(settings.OIDC_GROUP_ROLES)
    except ValueError as error:
        return [Error(str(error), id="esm.E001")]
    return []
