"""Admin pages that name related objects (the delete confirmation, with what would go and
what blocks it) name every object found, whatever the admin's own querysets hide. An object
of a confidential case must not be named to an admin outside its department (being a
superuser does not make someone HR): it is listed as "(confidential)", without a link.

Which objects belong to a confidential case is the business of the app that owns them: it
registers a function with `hide_in_admin_lists`, so this module needs no app above it.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import EMPTY_VALUE_STRING, TO_FIELD_VAR
from django.contrib.admin.utils import NestedObjects, display_for_value, quote, unquote
from django.db import router
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from esm.models import Event
from esm.permissions import staff_department_ids

# (viewer, model, primary keys of that model's objects on the page) -> the keys to mask.
Hider = Callable[[Any, type[Model], list[Any]], Iterable[Any]]

_hiders: list[Hider] = []

CONFIDENTIAL = "(confidential)"


def hide_in_admin_lists(hider: Hider) -> Hider:
    """Register `hider`; usable as a decorator."""
    _hiders.append(hider)
    return hider


@hide_in_admin_lists
def _confidential_events(viewer: Any, model: type[Model], pks: list[Any]) -> Iterable[Any]:
    if model is not Event:
        return []
    return (
        Event.objects.filter(pk__in=pks, is_confidential=True)
        .exclude(department_id__in=staff_department_ids(viewer))
        .values_list("pk", flat=True)
    )


def _hidden_objects(viewer: Any, objects: Iterable[Model]) -> set[tuple[type[Model], Any]]:
    """(model, pk) of the objects `viewer` may not see named: one query per model at most."""
    pks_by_model: dict[type[Model], list[Any]] = defaultdict(list)
    for obj in objects:
        pks_by_model[type(obj)].append(obj.pk)
    return {
        (model, pk)
        for model, pks in pks_by_model.items()
        for hider in _hiders
        for pk in hider(viewer, model, pks)
    }


def deleted_objects_for_viewer(
    objs: Any, request: HttpRequest, admin_site: admin.AdminSite
) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
    """Django's `admin.utils.get_deleted_objects`, with the objects of confidential cases
    masked for a viewer outside their department. Counts by model stay: they name nothing."""
    try:
        first = objs[0]
    except IndexError:
        return [], {}, set(), []
    collector = NestedObjects(using=router.db_for_write(first._meta.model), origin=objs)
    collector.collect(objs)
    found = [obj for objects in collector.model_objs.values() for obj in objects]
    hidden = _hidden_objects(request.user, [*found, *collector.protected])
    perms_needed: set[str] = set()

    def format_callback(obj: Model) -> str:
        model, opts = type(obj), obj._meta
        if admin_site.is_registered(model) and not admin_site.get_model_admin(
            model
        ).has_delete_permission(request, obj):
            perms_needed.add(str(opts.verbose_name))
        if (model, obj.pk) in hidden:
            return f"{capfirst(opts.verbose_name)}: {CONFIDENTIAL}"
        no_edit_link = f"{capfirst(opts.verbose_name)}: {obj}"
        if not admin_site.is_registered(model):
            return no_edit_link
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=(quote(obj.pk),),
            )
        except NoReverseMatch:
            return no_edit_link
        shown = display_for_value(str(obj), EMPTY_VALUE_STRING)
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, shown)

    to_delete = collector.nested(format_callback)
    protected = [format_callback(obj) for obj in collector.protected]
    model_count = {
        str(model._meta.verbose_name_plural): len(objects)
        for model, objects in collector.model_objs.items()
    }
    return to_delete, model_count, perms_needed, protected


class MaskedRelationsMixin:
    """For a model admin: its delete confirmation masks objects of confidential cases."""

    admin_site: admin.AdminSite

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        return deleted_objects_for_viewer(objs, request, self.admin_site)


class MaskedRelationsAdmin(MaskedRelationsMixin, admin.ModelAdmin):
    pass


class HiddenObjectsNotFoundAdmin(MaskedRelationsAdmin):
    """An admin whose `get_queryset` leaves out what the viewer may not see (objects of
    confidential cases): such an object's change, delete and history pages answer 404, the
    same as an id that never existed, and before any permission check, so neither "you
    may not" (403) nor Django's "doesn't exist" redirect tells an outsider it is there."""

    def _found_or_404(self, request: HttpRequest, object_id: str) -> None:
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if self.get_object(request, unquote(object_id), to_field) is None:
            raise Http404(f"No {self.opts.verbose_name} with that id.")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._found_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._found_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._found_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)
