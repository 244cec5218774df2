"""A URL whose view fails, to see which page a server error gets."""

from django.urls import include, path


def broken(request):
    raise RuntimeError("broken on purpose")


urlpatterns = [path("broken/", broken), path("", include("esm.urls"))]
