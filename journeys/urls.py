"""The pages of journey maps, under /journeys/ (included by esm.urls, by name)."""

from django.urls import path

from journeys.views import editing, maps

urlpatterns = [
    path("", maps.journey_list, name="journey_list"),
    path("new/", editing.journey_new, name="journey_new"),
    path("<slug:slug>/", maps.journey_map, name="journey_map"),
    path("<slug:slug>/touchpoints/<int:pk>/", maps.journey_touchpoint, name="journey_touchpoint"),
    path("<slug:slug>/edit/", editing.journey_edit, name="journey_edit"),
    path("<slug:slug>/to-be/", editing.journey_to_be_start, name="journey_to_be_start"),
    path("<slug:slug>/stages/", editing.journey_stages, name="journey_stages"),
    path("<slug:slug>/stages/<int:pk>/", editing.journey_stage_edit, name="journey_stage_edit"),
    path(
        "<slug:slug>/stages/<int:pk>/remove/",
        editing.journey_stage_remove,
        name="journey_stage_remove",
    ),
    path("<slug:slug>/touchpoints/", editing.touchpoint_new, name="journey_touchpoint_new"),
    path(
        "<slug:slug>/touchpoints/<int:pk>/edit/",
        editing.touchpoint_edit,
        name="journey_touchpoint_edit",
    ),
    path(
        "<slug:slug>/touchpoints/<int:pk>/remove/",
        editing.touchpoint_remove,
        name="journey_touchpoint_remove",
    ),
    path("<slug:slug>/findings/new/", editing.journey_finding_new, name="journey_finding_new"),
    path(
        "<slug:slug>/findings/<int:pk>/",
        editing.journey_finding_edit,
        name="journey_finding_edit",
    ),
]
