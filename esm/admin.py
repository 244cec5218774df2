from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from esm.admin_masking import HiddenObjectsNotFoundAdmin, MaskedRelationsAdmin, MaskedRelationsMixin
from esm.changes import password_change_record
from esm.models import (
    BusinessCalendar,
    Department,
    DepartmentRole,
    DirectoryGroup,
    Event,
    Holiday,
    Location,
    Profile,
    ProvisioningClient,
    SignInIdentity,
    WorkingPeriod,
)
from esm.permissions import staff_department_ids
from esm.provisioning import (
    directory_group_remap,
    provisioning_client_new,
    provisioning_client_token_rotate,
)

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    fk_name = "user"
    can_delete = False
    autocomplete_fields = ["manager", "department", "location"]


class DepartmentRoleInline(admin.TabularInline):
    model = DepartmentRole
    extra = 0
    autocomplete_fields = ["department"]
    fields = ["department", "role", "source"]


class SignInIdentityInline(admin.TabularInline):
    """Who the identity provider says this person is; written by single sign-on only."""

    model = SignInIdentity
    extra = 0
    fields = ["issuer", "subject", "linked_at", "last_signed_in_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(MaskedRelationsMixin, DjangoUserAdmin):
    inlines = [ProfileInline, DepartmentRoleInline, SignInIdentityInline]
    list_select_related = ["profile__department"]
    list_display = ["username", "first_name", "last_name", "email", "department", "is_staff"]
    list_filter = [*DjangoUserAdmin.list_filter, "profile__department", "department_roles__role"]

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Django's page saves the password outside any transaction; here the password and
        # its event commit together.
        with transaction.atomic(using=router.db_for_write(User)):
            return super().user_change_password(request, id, form_url)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        # The password page calls this right after saving the new password, with the
        # request that says who set it: the one place both are at hand.
        if isinstance(form, AdminPasswordChangeForm):
            password_change_record(person=form.user, actor=request.user, via="admin")
        return super().construct_change_message(request, form, formsets, add)

    @admin.display(ordering="profile__department__name")
    def department(self, user: User) -> str:  # type: ignore[valid-type]
        profile = getattr(user, "profile", None)
        return str(profile.department) if profile and profile.department else "-"


@admin.register(Location)
class LocationAdmin(MaskedRelationsAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(MaskedRelationsAdmin):
    list_display = ["name", "time_zone", "is_default"]
    inlines = [WorkingPeriodInline, HolidayInline]


@admin.register(Department)
class DepartmentAdmin(MaskedRelationsAdmin):
    list_display = ["name", "head", "calendar"]
    list_select_related = ["head", "calendar"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["head"]


@admin.register(Event)
class EventAdmin(HiddenObjectsNotFoundAdmin):
    """The event log is evidence: it can be read here, never written or removed."""

    list_display = ["occurred_at", "kind", "subject_type", "subject_id", "reference", "actor"]
    list_filter = ["kind", "subject_type", "department"]
    list_select_related = ["actor"]
    search_fields = ["reference"]
    date_hierarchy = "occurred_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        # Admin rights do not open confidential cases: only their department's staff see them.
        staff_of = staff_department_ids(request.user)
        return (
            super()
            .get_queryset(request)
            .filter(Q(is_confidential=False) | Q(department_id__in=staff_of))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False


def _token_shown_once(request: HttpRequest, client: ProvisioningClient, token: str) -> None:
    messages.warning(
        request,
        f"The token of {client.name}, shown this once (only its hash is kept): {token}",
    )


@admin.register(ProvisioningClient)
class ProvisioningClientAdmin(MaskedRelationsAdmin):
    """Identity providers that provision people over SCIM. A token is shown once, when the
    client is added or its token rotated; lost, it is rotated, never read back."""

    list_display = ["name", "is_active", "created_at", "last_used_at"]
    readonly_fields = ["created_at", "last_used_at", "account"]
    actions = ["rotate_token"]

    def save_model(
        self, request: HttpRequest, obj: ProvisioningClient, form: Any, change: bool
    ) -> None:
        token = ""
        if not change:
            new, token = provisioning_client_new(name=obj.name)
            obj.account, obj.token_hash = new.account, new.token_hash
        super().save_model(request, obj, form, change)
        if token:
            _token_shown_once(request, obj, token)

    @admin.action(description="Rotate the token (the old one stops working)")
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[ProvisioningClient]) -> None:
        for client in queryset:
            token = provisioning_client_token_rotate(client=client, by=request.user)
            _token_shown_once(request, client, token)


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(MaskedRelationsAdmin):
    """Groups of the directory and the department role each stands for."""

    list_display = ["display_name", "department", "role", "allows_confidential"]
    list_select_related = ["department"]
    list_filter = ["department", "role"]
    search_fields = ["display_name"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: DirectoryGroup | None = None
    ) -> list[str]:
        # Named before the directory sends it (the provider links a group by its name);
        # after that the directory owns the name and the members.
        if obj is None:
            return ["external_id", "members", "created_at"]
        return ["display_name", "external_id", "members", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: DirectoryGroup, form: Any, change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        directory_group_remap(
            group=obj,
            department=obj.department,
            role=obj.role,
            allows_confidential=obj.allows_confidential,
            actor=request.user,
        )
