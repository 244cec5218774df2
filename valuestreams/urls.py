from django.urls import path

from valuestreams.views import flow

urlpatterns = [
    path("", flow.value_stream_list, name="valuestream_list"),
    path("<slug:slug>/", flow.value_stream_map_page, name="valuestream_map"),
    path("<slug:slug>/cases/", flow.value_stream_cases, name="valuestream_cases"),
    path("<slug:slug>/refresh/", flow.value_stream_refresh, name="valuestream_refresh"),
]
