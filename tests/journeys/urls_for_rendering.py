"""The journey pages' URL names, as dummies, so their templates render before the views exist."""

from django.http import HttpResponse
from django.urls import path


def _dummy(request, *args, **kwargs):
    return HttpResponse()


urlpatterns = [
    path("journeys/", _dummy, name="journey_list"),
    path("journeys/new/", _dummy, name="journey_new"),
    path("journeys/<slug:slug>/", _dummy, name="journey_map"),
    path("journeys/<slug:slug>/touchpoints/<int:pk>/", _dummy, name="journey_touchpoint"),
    path("", _dummy, name="home"),
    path("password/", _dummy, name="password_change"),
    path("logout/", _dummy, name="logout"),
]
