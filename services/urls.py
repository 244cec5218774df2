"""The self-service portal's pages. Included at the site root by esm.urls (by name, not import)."""

from django.urls import path

from services import views

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("catalog/<slug:slug>/", views.catalog_item, name="catalog_item"),
    path(
        "catalog/<slug:slug>/suggestions/",
        views.catalog_item_suggestions,
        name="catalog_item_suggestions",
    ),
    path("knowledge/<slug:slug>/", views.article_detail, name="article_detail"),
    path("knowledge/<slug:slug>/feedback/", views.article_feedback, name="article_feedback"),
    path("approvals/", views.approval_list, name="approvals"),
    path("approvals/<int:pk>/decide/", views.approval_decision, name="approval_decision"),
    path("requests/", views.my_request_list, name="my_requests"),
    path("requests/<str:reference>/", views.request_detail, name="request_detail"),
    path("requests/<str:reference>/comment/", views.request_comment, name="request_comment"),
    path("requests/<str:reference>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<str:reference>/reopen/", views.request_reopen, name="request_reopen"),
    path("requests/<str:reference>/rate/", views.request_rate, name="request_rate"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
]
