"""SCIM 2.0 under /scim/v2/. Resource paths are SCIM's own (capitalised, no slash)."""

from django.urls import path, re_path

from esm.scim import views

urlpatterns = [
    path("Users", views.UsersApi.as_view(), name="scim-users"),
    path("Users/<str:pk>", views.UserApi.as_view(), name="scim-user"),
    path("Groups", views.GroupsApi.as_view(), name="scim-groups"),
    path("Groups/<str:pk>", views.GroupApi.as_view(), name="scim-group"),
    path(
        "ServiceProviderConfig",
        views.ServiceProviderConfigApi.as_view(),
        name="scim-service-provider-config",
    ),
    path("ResourceTypes", views.ResourceTypesApi.as_view(), name="scim-resource-types"),
    path("ResourceTypes/<str:name>", views.ResourceTypesApi.as_view()),
    re_path(r"^Schemas(?:/(?P<name>.+))?$", views.SchemasApi.as_view(), name="scim-schemas"),
]
