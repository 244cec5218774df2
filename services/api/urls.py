"""/api/v1/: the service catalog (read), the employee's own requests, queues and tasks, and
knowledge sharing."""

from django.urls import path
from rest_framework.routers import APIRootView

from services.api import knowledge_sharing, reuse, task_views, views

app_name = "api"

# What /api/v1/ itself answers: the endpoints one can start from (those without a key in
# their path), each as a link, in DRF's browsable form for a person and JSON for a program.
API_ROOT = {
    "catalog-services": "catalog-services",
    "catalog-items": "catalog-items",
    "requests": "requests",
    "queues": "queues",
    "knowledge-sharing": "knowledge-sharing",
}

urlpatterns = [
    path("", APIRootView.as_view(api_root_dict=API_ROOT), name="root"),
    path("catalog/services/", views.CatalogServiceListApi.as_view(), name="catalog-services"),
    path("catalog/items/", views.CatalogItemListApi.as_view(), name="catalog-items"),
    path("catalog/items/<slug:slug>/", views.CatalogItemDetailApi.as_view(), name="catalog-item"),
    path(
        "catalog/items/<slug:slug>/copies/",
        reuse.CatalogItemCopyListApi.as_view(),
        name="catalog-item-copies",
    ),
    path("requests/", views.ServiceRequestListCreateApi.as_view(), name="requests"),
    path("requests/<str:reference>/", views.ServiceRequestDetailApi.as_view(), name="request"),
    path(
        "requests/<str:reference>/comments/",
        views.CommentListCreateApi.as_view(),
        name="request-comments",
    ),
    path(
        "requests/<str:reference>/cancel/",
        views.ServiceRequestCancelApi.as_view(),
        name="request-cancel",
    ),
    path(
        "requests/<str:reference>/rate/", views.ServiceRequestRateApi.as_view(), name="request-rate"
    ),
    path(
        "knowledge-sharing/",
        knowledge_sharing.KnowledgeSharingListApi.as_view(),
        name="knowledge-sharing",
    ),
    path(
        "knowledge-sharing/people/",
        knowledge_sharing.KnowledgeSharingPeopleApi.as_view(),
        name="knowledge-sharing-people",
    ),
    path("queues/", task_views.QueueListApi.as_view(), name="queues"),
    path("queues/<slug:slug>/tasks/", task_views.QueueTaskListApi.as_view(), name="queue-tasks"),
    path(
        "queues/<slug:slug>/take-next/",
        task_views.QueueTakeNextApi.as_view(),
        name="queue-take-next",
    ),
    path("tasks/<int:task_id>/", task_views.TaskDetailApi.as_view(), name="task"),
    path("tasks/<int:task_id>/claim/", task_views.TaskClaimApi.as_view(), name="task-claim"),
    path("tasks/<int:task_id>/assign/", task_views.TaskAssignApi.as_view(), name="task-assign"),
    path(
        "tasks/<int:task_id>/unassign/",
        task_views.TaskUnassignApi.as_view(),
        name="task-unassign",
    ),
    path("tasks/<int:task_id>/reply/", task_views.TaskReplyApi.as_view(), name="task-reply"),
    path("tasks/<int:task_id>/note/", task_views.TaskNoteApi.as_view(), name="task-note"),
    path("tasks/<int:task_id>/ask/", task_views.TaskAskApi.as_view(), name="task-ask"),
    path("tasks/<int:task_id>/consults/", task_views.TaskConsultApi.as_view(), name="task-consult"),
    path(
        "tasks/<int:task_id>/consults/<int:consult_id>/withdraw/",
        task_views.TaskConsultWithdrawApi.as_view(),
        name="task-consult-withdraw",
    ),
    path(
        "tasks/<int:task_id>/answer/",
        task_views.TaskConsultAnswerApi.as_view(),
        name="task-consult-answer",
    ),
    path("tasks/<int:task_id>/resolve/", task_views.TaskResolveApi.as_view(), name="task-resolve"),
    path(
        "tasks/<int:task_id>/hand-off/",
        task_views.TaskHandOffApi.as_view(),
        name="task-hand-off",
    ),
    path(
        "tasks/<int:task_id>/send-back/",
        task_views.TaskSendBackApi.as_view(),
        name="task-send-back",
    ),
    path(
        "tasks/<int:task_id>/priority/",
        task_views.TaskPriorityApi.as_view(),
        name="task-priority",
    ),
]
