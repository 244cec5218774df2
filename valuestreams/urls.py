"""The pages of value streams, under /streams/ (included by esm.urls, by name)."""

from django.urls import path

from valuestreams.views import copis, editing, flow

urlpatterns = [
    path("", flow.value_stream_list, name="valuestream_list"),
    path("new/", editing.value_stream_new, name="valuestream_new"),
    path("<slug:slug>/", flow.value_stream_map_page, name="valuestream_map"),
    path("<slug:slug>/cases/", flow.value_stream_cases, name="valuestream_cases"),
    path("<slug:slug>/refresh/", flow.value_stream_refresh, name="valuestream_refresh"),
    path("<slug:slug>/copis/", copis.value_stream_copis, name="valuestream_copis"),
    path("<slug:slug>/edit/", editing.value_stream_edit, name="valuestream_edit"),
    path("<slug:slug>/stages/", editing.value_stream_stages, name="valuestream_stages"),
    path("<slug:slug>/stages/<int:pk>/", editing.stage_edit, name="valuestream_stage_edit"),
    path(
        "<slug:slug>/stages/<int:pk>/remove/",
        editing.stage_remove,
        name="valuestream_stage_remove",
    ),
    path("<slug:slug>/handoffs/", editing.value_stream_handoffs, name="valuestream_handoffs"),
    path(
        "<slug:slug>/handoffs/<int:pk>/",
        editing.handoff_target_edit,
        name="valuestream_handoff_edit",
    ),
    path(
        "<slug:slug>/handoffs/<int:pk>/remove/",
        editing.handoff_target_remove,
        name="valuestream_handoff_remove",
    ),
]
