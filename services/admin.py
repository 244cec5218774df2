from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from esm.models import DepartmentRole
from esm.permissions import department_ids_with_role
from services.models import (
    ApprovalStep,
    Article,
    CannedReply,
    CatalogItem,
    Category,
    Entitlement,
    FormField,
    Queue,
    Service,
    ServiceRequest,
    SlaPolicy,
    SlaTarget,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
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
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [SlaTargetInline]


class FormFieldInline(admin.StackedInline):
    model = FormField
    extra = 0
    fk_name = "item"
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


@admin.register(CatalogItem)
class CatalogItemAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "department", "is_confidential", "is_published"]
    list_filter = ["department", "is_confidential", "is_published", "service__category"]
    list_select_related = ["service", "department"]
    search_fields = ["name", "summary"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [FormFieldInline, EntitlementInline, ApprovalStepInline]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "status", "view_count", "updated_at"]
    list_filter = ["status", "department"]
    list_select_related = ["department"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["related_items"]


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    """Read-only oversight. Requests change only through the portal's actions, which
    record events; confidential cases are shown only to their department's staff, whatever
    the viewer's admin rights."""

    list_display = ["__str__", "catalog_item", "requester", "department", "state", "submitted_at"]
    list_filter = ["state", "department"]
    list_select_related = ["catalog_item", "requester", "department"]
    search_fields = ["subject"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceRequest]:
        staff_of = department_ids_with_role(
            request.user, DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER
        )
        return (
            super()
            .get_queryset(request)
            .filter(Q(is_confidential=False) | Q(department_id__in=staff_of))
        )

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
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "is_default"]
    list_filter = ["department"]
    list_select_related = ["department"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "department"]
    list_filter = ["department"]
    list_select_related = ["department"]
    search_fields = ["title", "body"]
