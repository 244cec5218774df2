from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from esm.admin_masking import HiddenObjectsNotFoundAdmin, MaskedRelationsAdmin, hide_in_admin_lists
from esm.permissions import staff_department_ids
from services import actions
from services.automation import registry
from services.models import (
    AppEntitlement,
    ApprovalStep,
    Article,
    Badge,
    CannedReply,
    CatalogItem,
    Category,
    Consult,
    Desk,
    DeskBooking,
    DirectoryAccount,
    EmployeeRecord,
    Entitlement,
    FormField,
    InboundAddress,
    InboundMessage,
    OrientationEvent,
    ParkingReservation,
    PlanStep,
    Queue,
    SentMessage,
    Service,
    ServiceRequest,
    SlaPolicy,
    SlaTarget,
    StepRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.models.automation import plan_cycle

# How objects without a `service_request` of their own reach their case.
CASE_PATHS: dict[type[Model], str] = {
    StepRun: "run__service_request",
    Consult: "consult_task__service_request",
}


def _case_path(model: type[Model]) -> str | None:
    if model is ServiceRequest:
        return ""
    if model in CASE_PATHS:
        return CASE_PATHS[model]
    try:
        field = model._meta.get_field("service_request")
    except FieldDoesNotExist:
        return None
    return "service_request" if field.related_model is ServiceRequest else None


@hide_in_admin_lists
def _objects_of_confidential_cases(viewer: Any, model: type[Model], pks: list[Any]) -> Any:
    """Requests, tasks, comments, files, records... of confidential cases outside the
    viewer's departments, for the admin's lists of related objects."""
    case = _case_path(model)
    if case is None:
        return []
    prefix = f"{case}__" if case else ""
    return (
        model._default_manager.filter(pk__in=pks, **{f"{prefix}is_confidential": True})
        .exclude(**{f"{prefix}department_id__in": staff_department_ids(viewer)})
        .values_list("pk", flat=True)
    )


class ConfidentialCaseAdmin(HiddenObjectsNotFoundAdmin):
    """Rows of confidential cases only for their department's staff, whatever the viewer's
    admin rights (being a superuser does not make someone HR); the others' pages answer 404.
    `case` is the path from the model to its service request ("" for the request itself)."""

    case = "service_request"
    # What changed in a case is named in the event log, never its content.
    record_values = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        prefix = f"{self.case}__" if self.case else ""
        visible = Q(**{f"{prefix}is_confidential": False}) | Q(
            **{f"{prefix}department_id__in": staff_department_ids(request.user)}
        )
        if self.case:
            visible |= Q(**{f"{self.case}__isnull": True})
        return super().get_queryset(request).filter(visible)


@admin.register(Category)
class CategoryAdmin(MaskedRelationsAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Service)
class ServiceAdmin(MaskedRelationsAdmin):
    list_display = ["name", "department", "owner", "category", "status"]
    list_filter = ["status", "department", "category"]
    list_select_related = ["department", "owner", "category"]
    search_fields = ["name", "outcome"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["owner"]


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(MaskedRelationsAdmin):
    list_display = ["name"]
    inlines = [SlaTargetInline]


class FormFieldFormSet(forms.BaseInlineFormSet):
    """ "Show when" offers only this item's own fields, read once for all the forms: offering
    every field of every item made each form carry the whole catalog (seconds per page)."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        field = form.fields.get("show_when_field")
        if field is None:
            return
        if not hasattr(self, "_show_when_choices"):
            own = FormField.objects.filter(item_id=self.instance.pk).order_by("position", "id")
            field.queryset = own
            self._show_when_queryset = own
            self._show_when_choices = [
                ("", field.empty_label),
                *((other.pk, f"{other.label} ({other.key})") for other in own),
            ]
        field.queryset = self._show_when_queryset
        # After the queryset: setting one resets the choices to a query per form.
        field.choices = self._show_when_choices


class FormFieldInline(admin.StackedInline):
    model = FormField
    formset = FormFieldFormSet
    extra = 0
    fk_name = "item"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FormField]:
        # Each form's heading names the field with its item.
        return super().get_queryset(request).select_related("item")

    fields = [
        ("position", "key", "label", "kind", "required"),
        "help_text",
        "choices",
        ("min_value", "max_value"),
        ("pattern", "pattern_message"),
        ("show_when_field", "show_when_value"),
    ]


class EntitlementInline(admin.TabularInline):
    model = Entitlement
    extra = 0
    verbose_name_plural = "Entitlement (no rows: everyone may request it)"


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0
    autocomplete_fields = ["person"]


class PlanStepForm(forms.ModelForm):
    action = forms.ChoiceField(required=False, help_text="Automated steps: what runs.")

    class Meta:
        model = PlanStep
        fields = [
            "position",
            "key",
            "name",
            "kind",
            "department",
            "queue",
            "action",
            "params",
            "after",
            "condition_field",
            "condition_value",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "---")] + [
            (action.key, f"{action.key}: {action.label}") for action in registry.all_actions()
        ]


class PlanStepFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        after = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.instance.pk is None:
                continue
            after[form.instance.pk] = {step.pk for step in data.get("after", [])}
        looping = plan_cycle(after)
        if looping:
            names = ", ".join(
                form.instance.name for form in self.forms if form.instance.pk in looping
            )
            raise forms.ValidationError(
                f"These steps wait for each other in a loop, so none would ever start: {names}."
            )


class PlanStepInline(admin.StackedInline):
    """The fulfilment plan, edited with its item; `after` offers only this item's steps."""

    model = PlanStep
    form = PlanStepForm
    formset = PlanStepFormSet
    extra = 0
    fk_name = "item"
    fields = [
        ("position", "key", "name"),
        ("kind", "department", "queue"),
        ("action", "params"),
        "after",
        ("condition_field", "condition_value"),
    ]

    def get_formset(self, request: HttpRequest, obj: CatalogItem | None = None, **kwargs: Any):
        self._item = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "after":
            kwargs["queryset"] = PlanStep.objects.filter(item=getattr(self, "_item", None))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(CatalogItem)
class CatalogItemAdmin(MaskedRelationsAdmin):
    list_display = [
        "name",
        "service",
        "department",
        "expected_days",
        "end_to_end_hours",
        "is_confidential",
        "is_published",
    ]
    list_filter = ["department", "is_confidential", "is_published", "service__category"]
    list_select_related = ["service", "department"]
    search_fields = ["name", "summary"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [FormFieldInline, EntitlementInline, ApprovalStepInline, PlanStepInline]


@admin.register(Article)
class ArticleAdmin(MaskedRelationsAdmin):
    list_display = ["title", "department", "status", "view_count", "updated_at"]
    list_filter = ["status", "department"]
    list_select_related = ["department"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["related_items"]


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ConfidentialCaseAdmin):
    """Read-only oversight. Requests change only through the portal's actions, which
    record events; confidential cases are shown only to their department's staff, whatever
    the viewer's admin rights."""

    list_display = ["__str__", "catalog_item", "requester", "department", "state", "submitted_at"]
    list_filter = ["state", "department"]
    list_select_related = ["catalog_item", "requester", "department"]
    search_fields = ["subject"]
    case = ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ServiceRequest | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ServiceRequest | None = None
    ) -> bool:
        return False


@admin.register(Queue)
class QueueAdmin(MaskedRelationsAdmin):
    list_display = ["name", "department", "is_default"]
    list_filter = ["department"]
    list_select_related = ["department"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CannedReply)
class CannedReplyAdmin(MaskedRelationsAdmin):
    list_display = ["title", "department"]
    list_filter = ["department"]
    list_select_related = ["department"]
    search_fields = ["title", "body"]


# Records made by fulfilment automations. Configuration (desks, webhook endpoints) is
# edited here; the records themselves are mostly read, and corrected by hand when needed.


class _MadeByAutomation(ConfidentialCaseAdmin):
    readonly_fields = ["service_request", "created_by_key"]


@admin.register(DirectoryAccount)
class DirectoryAccountAdmin(_MadeByAutomation):
    list_display = ["username", "first_name", "last_name", "email", "person", "active"]
    list_filter = ["active"]
    list_select_related = ["person"]
    search_fields = ["username", "first_name", "last_name", "email"]
    autocomplete_fields = ["person"]
    readonly_fields = [*_MadeByAutomation.readonly_fields, "disabled_at"]


@admin.register(AppEntitlement)
class AppEntitlementAdmin(ConfidentialCaseAdmin):
    list_display = ["application", "account", "person", "granted_at"]
    list_filter = ["application"]
    list_select_related = ["account", "person"]
    search_fields = ["application", "account__username", "person__username"]
    autocomplete_fields = ["account", "person"]
    readonly_fields = ["service_request", "granted_by_key"]


@admin.register(EmployeeRecord)
class EmployeeRecordAdmin(_MadeByAutomation):
    """HR records of confidential requests are shown only to that department's staff."""

    list_display = ["__str__", "role", "location", "hiring_manager"]
    list_filter = ["location"]
    list_select_related = ["location", "hiring_manager"]
    search_fields = ["first_name", "last_name", "role"]
    autocomplete_fields = ["hiring_manager", "person"]


@admin.register(OrientationEvent)
class OrientationEventAdmin(_MadeByAutomation):
    list_display = ["title", "starts_at", "location"]
    list_select_related = ["location"]
    raw_id_fields = ["employee_record"]
    autocomplete_fields = ["person"]


@admin.register(Desk)
class DeskAdmin(MaskedRelationsAdmin):
    list_display = ["code", "location", "floor", "active"]
    list_filter = ["location", "floor", "active"]
    list_select_related = ["location"]
    search_fields = ["code"]


@admin.register(DeskBooking)
class DeskBookingAdmin(_MadeByAutomation):
    list_display = ["desk", "person", "employee_record", "starts_on", "ends_on"]
    list_filter = ["desk__location"]
    list_select_related = ["desk__location", "person", "employee_record"]
    raw_id_fields = ["desk", "employee_record"]
    autocomplete_fields = ["person"]


@admin.register(Badge)
class BadgeAdmin(_MadeByAutomation):
    list_display = ["number", "holder", "employee_record", "active", "issued_at"]
    list_filter = ["active"]
    list_select_related = ["holder", "employee_record"]
    search_fields = ["number", "holder__username"]
    raw_id_fields = ["employee_record"]
    autocomplete_fields = ["holder"]


@admin.register(ParkingReservation)
class ParkingReservationAdmin(_MadeByAutomation):
    list_display = ["plate", "location", "person", "starts_on", "ends_on"]
    list_filter = ["location"]
    list_select_related = ["location", "person"]
    search_fields = ["plate"]
    raw_id_fields = ["employee_record"]
    autocomplete_fields = ["person"]


@admin.register(SentMessage)
class SentMessageAdmin(ConfidentialCaseAdmin):
    """The log of automation e-mails (bodies are not kept: they may hold one-time links)."""

    list_display = ["template", "recipients", "created_at"]
    search_fields = ["template", "recipients", "key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SentMessage | None = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MaskedRelationsAdmin):
    list_display = ["name", "url", "timeout_s", "active"]
    list_filter = ["active"]
    search_fields = ["name", "url"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MaskedRelationsAdmin):
    """The delivery log: one row per attempt, written by the automation only."""

    list_display = ["created_at", "endpoint", "step_key", "attempt", "outcome", "status_code"]
    list_filter = ["outcome", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["step_key", "delivery_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False


@admin.register(InboundAddress)
class InboundAddressAdmin(MaskedRelationsAdmin):
    """Where a department receives requests by e-mail; the mailbox's credentials come from
    the environment. The item must ask only for a description (`InboundAddress.clean`)."""

    list_display = [
        "address",
        "department",
        "catalog_item",
        "mailbox",
        "mailbox_configured",
        "folder",
        "is_active",
    ]
    list_filter = ["is_active", "department"]
    list_select_related = ["department", "catalog_item"]
    search_fields = ["address", "mailbox"]

    @admin.display(description="In the environment", boolean=True)
    def mailbox_configured(self, obj: InboundAddress) -> bool:
        """Whether MAIL_IN_<MAILBOX>_HOST and its fellows are set where the portal runs."""
        return obj.mailbox.lower() in settings.MAIL_IN_MAILBOXES


@admin.register(InboundMessage)
class InboundMessageAdmin(HiddenObjectsNotFoundAdmin):
    """Every message received, and what became of it; malformed ones wait here for a person.

    A message to a confidential department's address (or one that reached a confidential
    case) is shown only to that department's staff, like the case itself.
    """

    list_display = ["received_at", "address", "sender", "subject", "status", "service_request"]
    list_filter = ["status", "address"]
    list_select_related = ["address", "service_request"]
    search_fields = ["sender", "subject", "message_id"]
    fields = [
        "received_at",
        "address",
        "message_id",
        "sender",
        "subject",
        "status",
        "reason",
        "service_request",
        "comment",
        "raw_text",
    ]
    readonly_fields = fields
    actions = ["mark_looked_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        staff_of = staff_department_ids(request.user)
        to_visible_address = (
            Q(address__isnull=True)
            | Q(address__catalog_item__is_confidential=False)
            | Q(address__department_id__in=staff_of)
        )
        about_visible_case = (
            Q(service_request__isnull=True)
            | Q(service_request__is_confidential=False)
            | Q(service_request__department_id__in=staff_of)
        )
        return super().get_queryset(request).filter(to_visible_address & about_visible_case)

    @admin.display(description="Message as received")
    def raw_text(self, obj: InboundMessage) -> str:
        return format_html("<pre>{}</pre>", bytes(obj.raw).decode("utf-8", errors="replace"))

    @admin.action(description="Mark malformed messages as looked at", permissions=["view"])
    def mark_looked_at(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        marked = actions.inbound_messages_mark_looked_at(ids=ids)
        self.message_user(request, f"{marked} marked as looked at.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: InboundMessage | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: InboundMessage | None = None
    ) -> bool:
        return False
