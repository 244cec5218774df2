"""The pages of the services app: the self-service portal and the staff workspace.

Included at the site root by esm.urls (by name, not import)."""

from django.urls import path

from services.views import (
    directory,
    knowledge,
    knowledge_sharing,
    portal,
    portfolio,
    reuse,
    workspace,
)

urlpatterns = [
    path("", portal.portal_home, name="home"),
    # Reuse across departments: under its own prefix, clear of catalog/<slug>/.
    path(
        "services/<slug:slug>/portfolio/",
        portfolio.service_portfolio_edit,
        name="service_portfolio_edit",
    ),
    path("reuse/", reuse.reuse_home, name="reuse_home"),
    path("reuse/copy/", reuse.reuse_copy, name="reuse_copy"),
    path("reuse/copies/<slug:slug>/", reuse.reuse_detail, name="reuse_detail"),
    path("reuse/copies/<slug:slug>/publish/", reuse.reuse_publish, name="reuse_publish"),
    path("catalog/<slug:slug>/", portal.catalog_item, name="catalog_item"),
    path(
        "catalog/<slug:slug>/suggestions/",
        portal.catalog_item_suggestions,
        name="catalog_item_suggestions",
    ),
    path("knowledge/", knowledge.article_list, name="article_list"),
    path("knowledge/<slug:slug>/", portal.article_detail, name="article_detail"),
    path("knowledge/<slug:slug>/edit/", knowledge.article_edit, name="article_edit"),
    path("knowledge/<slug:slug>/feedback/", portal.article_feedback, name="article_feedback"),
    path("approvals/", portal.approval_list, name="approvals"),
    path("approvals/<int:pk>/decide/", portal.approval_decision, name="approval_decision"),
    path("requests/", portal.my_request_list, name="my_requests"),
    path("requests/<str:reference>/", portal.request_detail, name="request_detail"),
    path("requests/<str:reference>/comment/", portal.request_comment, name="request_comment"),
    path("requests/<str:reference>/cancel/", portal.request_cancel, name="request_cancel"),
    path("requests/<str:reference>/reopen/", portal.request_reopen, name="request_reopen"),
    path("requests/<str:reference>/rate/", portal.request_rate, name="request_rate"),
    path("attachments/<int:pk>/", portal.attachment_download, name="attachment_download"),
    # The staff workspace.
    path("queues/", workspace.queue_list, name="queue_list"),
    path("queues/<slug:slug>/", workspace.queue_detail, name="queue_detail"),
    path("queues/<slug:slug>/take-next/", workspace.queue_take_next, name="queue_take_next"),
    path("queues/<slug:slug>/bulk/", workspace.queue_bulk, name="queue_bulk"),
    path("tasks/<int:pk>/", workspace.task_detail, name="task_detail"),
    path("tasks/<int:pk>/draft-article/", workspace.task_draft_article, name="task_draft_article"),
    path("tasks/<int:pk>/<slug:operation>/", workspace.task_operation, name="task_operation"),
    path("catalog/<slug:slug>/plan/", workspace.plan_detail, name="plan_detail"),
    # The built-in directory: choosing a password through a one-time link.
    path("directory/links/<str:token>/", directory.one_time_link, name="one_time_link"),
    path("departments/overview/", workspace.department_overview_mine, name="department_overviews"),
    # Knowledge sharing: under departments/, clear of knowledge/<slug>/ (an article).
    path(
        "departments/knowledge-sharing/",
        knowledge_sharing.knowledge_sharing_home,
        name="knowledge_sharing",
    ),
    path(
        "departments/<slug:slug>/knowledge-sharing/",
        knowledge_sharing.knowledge_sharing_department,
        name="knowledge_sharing_department",
    ),
    path(
        "departments/<slug:slug>/overview/",
        workspace.department_overview,
        name="department_overview",
    ),
]
