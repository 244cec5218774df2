"""/api/v1/journeys/: journey maps with their stages, touchpoints and findings."""

from django.urls import path

from journeys.api import views

app_name = "journeys-api"

urlpatterns = [
    path("journeys/", views.JourneyListApi.as_view(), name="journeys"),
    path("journeys/<slug:slug>/", views.JourneyDetailApi.as_view(), name="journey"),
    path("journeys/<slug:slug>/signals/", views.JourneySignalsApi.as_view(), name="signals"),
    path(
        "journeys/<slug:slug>/findings/",
        views.JourneyFindingsApi.as_view(),
        name="findings",
    ),
    path(
        "journeys/<slug:slug>/findings/<int:pk>/",
        views.JourneyFindingApi.as_view(),
        name="finding",
    ),
]
