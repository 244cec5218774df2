"""/api/v1/: the service catalog (read) and the employee's own requests."""

from django.urls import path

from services.api import views

app_name = "api"

urlpatterns = [
    path("catalog/services/", views.CatalogServiceListApi.as_view(), name="catalog-services"),
    path("catalog/items/", views.CatalogItemListApi.as_view(), name="catalog-items"),
    path("catalog/items/<slug:slug>/", views.CatalogItemDetailApi.as_view(), name="catalog-item"),
    path("requests/", views.ServiceRequestListCreateApi.as_view(), name="requests"),
    path("requests/<str:reference>/", views.ServiceRequestDetailApi.as_view(), name="request"),
    path(
        "requests/<str:reference>/comments/",
        views.CommentListCreateApi.as_view(),
        name="request-comments",
    ),
    path(
        "requests/<str:reference>/cancel/",
        views.ServiceRequestCancelApi.as_view(),
        name="request-cancel",
    ),
    path(
        "requests/<str:reference>/rate/", views.ServiceRequestRateApi.as_view(), name="request-rate"
    ),
]
