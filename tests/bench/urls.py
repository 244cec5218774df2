"""The portal's URLs with the bench's no-op page, which `bench.scenarios.plan` names (the
project adds it only when `BENCH` is set, before the URLs load)."""

from django.urls import path

from esm import bench
from esm.urls import urlpatterns as portal

urlpatterns = [path("bench/noop/", bench.noop, name="bench_noop"), *portal]
