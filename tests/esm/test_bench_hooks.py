"""What `make bench` adds to the web process (esm/bench.py) is there only under BENCH=1."""

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from esm.bench import QUERIES_HEADER, QueryCountMiddleware

pytestmark = pytest.mark.django_db


def test_the_noop_page_is_not_served_without_bench(settings):
    assert not settings.BENCH
    with pytest.raises(NoReverseMatch):
        reverse("bench_noop")
    assert "esm.bench.QueryCountMiddleware" not in settings.MIDDLEWARE


def test_the_query_count_header_counts_every_query_of_the_response():
    def view(request):
        list(get_user_model().objects.all())
        get_user_model().objects.count()
        return HttpResponse("ok")

    response = QueryCountMiddleware(view)(RequestFactory().get("/"))

    assert response[QUERIES_HEADER] == "2"
