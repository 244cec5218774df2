"""The admin site: every change made through it writes its event, in one place.

Django's admin already keeps a `LogEntry` per save, but only as a sentence, and beside the
event log rather than in it. Here every model admin registered on the site (the apps' own,
and Django's such as groups) records the change in the event log (`esm.changes`), in the
admin's transaction, with the fields changed and their values before and after: the form
is saved in `save_form` (the stored row read just before), the record's many-to-many and
its inlines in `save_related`, deletions in `delete_model` and `delete_queryset` (with the
number of rows of each kind the cascade removed along). A model
admin need not remember to do it: the site mixes it in when the admin is registered.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest

from esm.changes import (
    Snapshot,
    change_record,
    delete_recorded,
    deletion_record,
    snapshot_stored,
)

VIA = "admin"

_BEFORE = "_esm_snapshot_before"


class ChangesRecordedMixin:
    """For a model admin: its saves and deletions write their events.

    `record_values = False` keeps only the names of the changed fields: for records of a
    case, whose values are the case's content."""

    record_values = True

    def save_form(self, request: HttpRequest, form: ModelForm, change: bool) -> Any:
        # The database still holds the values from before the change; the instance no
        # longer does (the form has put the new ones in it).
        setattr(form, _BEFORE, snapshot_stored(form.instance) if change else None)
        return super().save_form(request, form, change)  # type: ignore[misc]

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[Any], change: bool
    ) -> None:
        inline_before = [_inline_before(formset) for formset in formsets]
        for formset in formsets:
            for form_of_row in formset.initial_forms:
                if formset.can_delete and formset._should_delete_form(form_of_row):
                    deletion_record(
                        subject=form_of_row.instance,
                        actor=request.user,
                        via=VIA,
                        values=self.record_values,
                    )
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        change_record(
            subject=form.instance,
            actor=request.user,
            before=getattr(form, _BEFORE, None),
            via=VIA,
            values=self.record_values,
        )
        for formset, before in zip(formsets, inline_before, strict=True):
            for obj in formset.new_objects:
                change_record(
                    subject=obj,
                    actor=request.user,
                    before=None,
                    via=VIA,
                    values=self.record_values,
                )
            for obj, _fields in formset.changed_objects:
                change_record(
                    subject=obj,
                    actor=request.user,
                    before=before.get(obj.pk),
                    via=VIA,
                    values=self.record_values,
                )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        # Deleted here rather than by Django's `delete_model` (a bare `obj.delete()`), so
        # that the event counts the rows the cascade took with it.
        delete_recorded(subject=obj, actor=request.user, via=VIA, values=self.record_values)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The "delete selected" action runs outside the admin's transactions: the events
        # and the deletion commit together here. One record at a time, so each event
        # counts what went with its own record.
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                delete_recorded(subject=obj, actor=request.user, via=VIA, values=self.record_values)


def _inline_before(formset: BaseModelFormSet) -> dict[Any, Snapshot]:
    """The stored snapshots of the inline rows this save changes, before it does."""
    before: dict[Any, Snapshot] = {}
    for form in formset.initial_forms:
        if form.instance.pk is not None and form.has_changed():
            stored = snapshot_stored(form.instance)
            if stored is not None:
                before[form.instance.pk] = stored
    return before


class AuditedAdminSite(admin.AdminSite):
    """Django's admin site, whose every registered model admin records its changes."""

    def register(
        self, model_or_iterable: Any, admin_class: type | None = None, **options: Any
    ) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ChangesRecordedMixin):
            admin_class = type(
                admin_class.__name__,
                (ChangesRecordedMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)
