"""The staff API: department queues and the fulfilment tasks in them, under /api/v1/.

As thin as the request API beside it: fetch through the selectors (a queue or task of a
department one is not staff of does not exist: 404, confidential or not), ask the same
permission module as the pages (`can(user, "esm.work_in_department", ...)`: 403), check
the input's shape (400 with field messages), call one action. What the task's state
refuses, and an `expected_version` that is no longer current, is a 409 whose `detail`
says why (for a stale version: who changed what); nothing is saved then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm import clock
from esm.permissions import can
from services import selectors, sla
from services.actions import (
    ActionRefused,
    consult_answer,
    consult_withdraw,
    task_ask,
    task_assign,
    task_claim,
    task_consult,
    task_hand_off,
    task_note,
    task_reply,
    task_resolve,
    task_send_back,
    task_set_priority,
    task_take_next,
    task_unassign,
)
from services.api import task_serializers as ts
from services.api.views import NOT_FOUND, Conflict
from services.filters import (
    BY_DEPARTMENT_TARGET,
    BY_END_TO_END,
    MINE,
    OPEN_CLOCK_STATES,
    UNASSIGNED,
    QueueTaskFilter,
)
from services.models import Comment, FulfilmentTask, Priority, Queue

QUEUES, TASKS = ["queues"], ["tasks"]
WORK = "esm.work_in_department"

QUEUE_SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The queue's slug."
)
TASK_ID = OpenApiParameter(
    "task_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The task's id."
)
QUEUE_FILTERS = [
    OpenApiParameter(
        "state",
        OpenApiTypes.STR,
        enum=[
            state
            for state, _ in FulfilmentTask.State.choices
            if state in FulfilmentTask.OPEN_STATES
        ],
        description="One open state.",
    ),
    OpenApiParameter(
        "assignee",
        OpenApiTypes.STR,
        description=f"`{MINE}` (yours), `{UNASSIGNED}` (unclaimed) or the id of a person "
        "of the department.",
    ),
    OpenApiParameter(
        "catalog_item", OpenApiTypes.INT, description="Id of a catalog item of the department."
    ),
    OpenApiParameter("priority", OpenApiTypes.STR, enum=Priority.values),
    OpenApiParameter(
        "sla",
        OpenApiTypes.STR,
        enum=[state for state, _ in OPEN_CLOCK_STATES],
        description="State of the task's department target.",
    ),
    OpenApiParameter(
        "end_to_end",
        OpenApiTypes.STR,
        enum=[state for state, _ in OPEN_CLOCK_STATES],
        description="State of the request's end-to-end target.",
    ),
    OpenApiParameter(
        "order",
        OpenApiTypes.STR,
        enum=[BY_DEPARTMENT_TARGET, BY_END_TO_END],
        description="Most urgent first by the task's department target (the default) or by "
        "the request's end-to-end target.",
    ),
    OpenApiParameter(
        "search",
        OpenApiTypes.STR,
        description="A reference (REQ-000123), or words that must all appear in the title, "
        "the request's subject or the requester's name.",
    ),
]
FORBIDDEN = OpenApiResponse(description="You may see it but not work on it.")
REFUSED = OpenApiResponse(
    description="The task's state does not allow it, or it changed since `expected_version`: "
    "`detail` says why (who changed what). Nothing changed."
)
INVALID = OpenApiResponse(description="Invalid input, with a message per field; nothing changed.")
ACTION_ANSWERS = {200: ts.TaskDetailOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED}
COMMENT_ANSWERS = {201: ts.TaskCommentOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND}

ALREADY_THERE = "The task is already in that queue."
STAYS_IN_DEPARTMENT = "A confidential case stays within its department."
NO_SUCH_QUEUE = "No queue has this slug."
NOT_AN_AGENT = "Nobody with this username works in this department's queues."
OWN_DEPARTMENT = "That queue is your own department's: ask another department."
NO_SUCH_CONSULT = "This task has no open consult with this id."


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn an action's refusal (state, stale version) into a 409 carrying its message."""
    try:
        yield
    except ActionRefused as refused:
        raise Conflict(str(refused)) from refused


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


def _clock_context(tasks: Iterable[FulfilmentTask]) -> dict[str, Any]:
    """What task outputs need to read SLA clocks: one instant, one schedule per department.

    (`sla.schedules_for` loads every calendar they need at once.)
    """
    schedules = sla.schedules_for(tasks)
    return {
        "now": clock.now(),
        "schedules": schedules,
        "company_schedule": schedules.company,
    }


def _task_response(request: Request, pk: int) -> Response:
    task = selectors.task_for_viewer(user=request.user, pk=pk)
    extras = selectors.task_page_extras(task=task, viewer=request.user)
    context = {
        **_clock_context([task]),
        "handoff_queues": [] if extras["consult"] else list(selectors.handoff_queues(task=task)),
        "case_hidden": not can(request.user, "services.view_task_case", task),
        "consult": extras["consult"],
        "consults_asked": extras["consults_asked"],
    }
    return Response(ts.TaskDetailOutputSerializer(task, context=context).data)


def _comment_response(comment: Comment, task: FulfilmentTask) -> Response:
    after = FulfilmentTask.objects.values("id", "state", "version").get(pk=task.pk)
    data = ts.TaskCommentOutputSerializer(comment, context={"task": after}).data
    return Response(data, status=status.HTTP_201_CREATED)


def _task_to_work(request: Request, pk: int) -> FulfilmentTask:
    """The task, for someone who may work it: 404 when they may not see it, 403 when they
    may see but not work it. (Today both mean "staff of its department"; asking the rule
    as well keeps the API on the pages' permission module should the two ever part.)
    """
    task = selectors.task_for_viewer(user=request.user, pk=pk)
    if not can(request.user, WORK, task.department):
        raise PermissionDenied
    return task


def _queue_to_work(request: Request, slug: str) -> Queue:
    queue = selectors.queue_for_viewer(user=request.user, slug=slug)
    if not can(request.user, WORK, queue.department):
        raise PermissionDenied
    return queue


def _handoff_target(task: FulfilmentTask, slug: str) -> Queue:
    queue = selectors.handoff_queues(task=task).filter(slug=slug).first()
    if queue is not None:
        return queue
    if slug == task.queue.slug:
        message = ALREADY_THERE
    elif Queue.objects.filter(slug=slug).exists():
        message = STAYS_IN_DEPARTMENT
    else:
        message = NO_SUCH_QUEUE
    raise ValidationError({"to_queue": [message]})


def _consult_target(task: FulfilmentTask, slug: str) -> Queue:
    queue = selectors.consult_queues(task=task).filter(slug=slug).first()
    if queue is not None:
        return queue
    if Queue.objects.filter(slug=slug).exists():
        raise ValidationError({"to_queue": [OWN_DEPARTMENT]})
    raise ValidationError({"to_queue": [NO_SUCH_QUEUE]})


def _agent_of(task: FulfilmentTask, username: str) -> Any:
    agents = selectors.department_agents(department=task.department)
    agent = agents.filter(username=username).first()
    if agent is None:
        raise ValidationError({"assignee": [NOT_AN_AGENT]})
    return agent


# Queues --------------------------------------------------------------------------------


@extend_schema(tags=QUEUES)
class QueueListApi(ListAPIView):
    """The queues of the departments you work in, with their open, unclaimed and breached counts."""

    serializer_class = ts.QueueListOutputSerializer
    # For the schema: the queues are read as a list (`selectors.queues_for`).
    queryset = Queue.objects.none()

    def get_queryset(self) -> list[Queue]:  # type: ignore[override]
        return selectors.queues_for(user=self.request.user)


@extend_schema(tags=QUEUES, parameters=[QUEUE_SLUG, *QUEUE_FILTERS])
class QueueTaskListApi(ListAPIView):
    """A queue's open tasks, most urgent first: breached, at risk, then by due time.

    The same filters as the queue page; an invalid filter value is a 400.
    """

    serializer_class = ts.TaskListOutputSerializer
    # QueueTaskFilter needs the queue and the viewer: the selector applies it, not a backend.
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[FulfilmentTask]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no queue to read
            return FulfilmentTask.objects.none()
        return self._valid_filter(self._queue()).qs

    def _queue(self) -> Queue:
        # With its counts: unfiltered, a page counts the queue's open tasks (as the queue
        # page does) instead of counting its sorted tasks again.
        return selectors.queue_with_counts_for_viewer(
            user=self.request.user, slug=self.kwargs["slug"]
        )

    def _valid_filter(self, queue: Queue) -> QueueTaskFilter:
        filterset = selectors.queue_tasks(
            queue=queue, viewer=self.request.user, filters=self.request.query_params
        )
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset

    @extend_schema(
        responses={
            200: ts.TaskListOutputSerializer,
            400: OpenApiResponse(description="An invalid filter value, with its message."),
            404: NOT_FOUND,
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queue = self._queue()
        tasks = selectors.queue_tasks_paged(
            queue=queue, viewer=request.user, task_filter=self._valid_filter(queue)
        )
        page = self.paginate_queryset(tasks) or []
        rows = ts.TaskListOutputSerializer(page, many=True, context=_clock_context(page))
        return self.get_paginated_response(rows.data)


@extend_schema(tags=QUEUES, parameters=[QUEUE_SLUG])
class QueueTakeNextApi(APIView):
    @extend_schema(
        summary="Claim the most urgent unclaimed task of the queue",
        description="Two agents taking next at the same moment never get the same task.",
        request=None,
        responses={
            200: ts.TaskDetailOutputSerializer,
            204: OpenApiResponse(description="Nothing left to take."),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        queue = _queue_to_work(request, slug)
        with _refusals():
            task = task_take_next(queue=queue, agent=request.user)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _task_response(request, task.pk)


# Tasks ---------------------------------------------------------------------------------


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskDetailApi(APIView):
    @extend_schema(
        summary="One task with its request, answers, SLA and version",
        description="The conversation (internal notes included, for you) is at "
        "`/api/v1/requests/{reference}/comments/`.",
        responses={200: ts.TaskDetailOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, task_id: int) -> Response:
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskClaimApi(APIView):
    @extend_schema(
        summary="Take this task",
        description="Refused (409) when someone else is working on it.",
        request=ts.TaskClaimInputSerializer,
        responses=ACTION_ANSWERS,
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskClaimInputSerializer, request)
        with _refusals():
            task_claim(task=task, agent=request.user, expected_version=data["expected_version"])
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskAssignApi(APIView):
    @extend_schema(
        summary="Give this task to a colleague (or yourself)",
        request=ts.TaskAssignInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskAssignInputSerializer, request)
        assignee = _agent_of(task, data["assignee"])
        with _refusals():
            task_assign(
                task=task,
                assignee=assignee,
                by=request.user,
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskUnassignApi(APIView):
    @extend_schema(
        summary="Put this task back in the queue, unclaimed",
        request=ts.TaskUnassignInputSerializer,
        responses=ACTION_ANSWERS,
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskUnassignInputSerializer, request)
        with _refusals():
            task_unassign(task=task, by=request.user, expected_version=data["expected_version"])
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskReplyApi(APIView):
    @extend_schema(
        summary="Reply to the employee (public; they are e-mailed)",
        request=ts.TaskReplyInputSerializer,
        responses={**COMMENT_ANSWERS, 400: INVALID, 409: REFUSED},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskReplyInputSerializer, request)
        with _refusals():
            comment = task_reply(
                task=task,
                agent=request.user,
                body=data["body"],
                expected_version=data["expected_version"],
            )
        return _comment_response(comment, task)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskNoteApi(APIView):
    @extend_schema(
        summary="Add an internal note (never shown to the employee)",
        request=ts.TaskNoteInputSerializer,
        responses={**COMMENT_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskNoteInputSerializer, request)
        comment = task_note(task=task, agent=request.user, body=data["body"])
        return _comment_response(comment, task)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskAskApi(APIView):
    @extend_schema(
        summary="Ask the employee a question",
        description="The task waits on the employee and its SLA clock pauses until they answer.",
        request=ts.TaskAskInputSerializer,
        responses={**COMMENT_ANSWERS, 400: INVALID, 409: REFUSED},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskAskInputSerializer, request)
        with _refusals():
            comment = task_ask(
                task=task,
                agent=request.user,
                question=data["question"],
                missing_information=data["missing_information"],
                expected_version=data["expected_version"],
            )
        return _comment_response(comment, task)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskConsultApi(APIView):
    @extend_schema(
        summary="Ask another department a question about this task",
        description="A consult task is queued in `to_queue`; this task waits on another "
        "department (its target keeps running) until every open consult is answered or "
        "withdrawn. On a confidential case the other department sees only the question.",
        request=ts.TaskConsultInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskConsultInputSerializer, request)
        to_queue = _consult_target(task, data["to_queue"])
        with _refusals():
            task_consult(
                task=task,
                agent=request.user,
                to_queue=to_queue,
                question=data["question"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskConsultAnswerApi(APIView):
    @extend_schema(
        summary="Answer the consult this task works",
        description="The task is done; the asking task resumes once none of its consults "
        "is open. `expected_version` is this (the consult) task's.",
        request=ts.TaskConsultAnswerInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskConsultAnswerInputSerializer, request)
        consult = selectors.task_consult_for_viewer(task=task)
        with _refusals():
            if consult is None:
                raise ActionRefused("This task answers no consult.")
            consult_answer(
                consult=consult,
                agent=request.user,
                answer=data["answer"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


CONSULT_ID = OpenApiParameter(
    "consult_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The consult's id."
)


@extend_schema(tags=TASKS, parameters=[TASK_ID, CONSULT_ID])
class TaskConsultWithdrawApi(APIView):
    @extend_schema(
        summary="Withdraw a question this task asked another department",
        description="Its consult task is cancelled; `expected_version` is this (the "
        "asking) task's.",
        request=ts.TaskConsultWithdrawInputSerializer,
        responses=ACTION_ANSWERS,
    )
    def post(self, request: Request, task_id: int, consult_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskConsultWithdrawInputSerializer, request)
        consult = task.consults_asked.filter(pk=consult_id).first()
        if consult is None:
            raise NotFound(NO_SUCH_CONSULT)
        with _refusals():
            consult_withdraw(
                consult=consult, agent=request.user, expected_version=data["expected_version"]
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskResolveApi(APIView):
    @extend_schema(
        summary="Resolve this task with a resolution note",
        description="The request resolves when none of its tasks is open any more.",
        request=ts.TaskResolveInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskResolveInputSerializer, request)
        with _refusals():
            task_resolve(
                task=task,
                agent=request.user,
                resolution=data["resolution"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskHandOffApi(APIView):
    @extend_schema(
        summary="Hand the work off to another queue",
        description="A task is created in the receiving queue and this one closes (handed "
        "off); the answer is this task. A confidential case stays within its department.",
        request=ts.TaskHandOffInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskHandOffInputSerializer, request)
        to_queue = _handoff_target(task, data["to_queue"])
        with _refusals():
            task_hand_off(
                task=task,
                agent=request.user,
                to_queue=to_queue,
                reason=data["reason"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskSendBackApi(APIView):
    @extend_schema(
        summary="Send a handed-off task back to its sender as incomplete",
        description="This task closes and the sender's task reopens with what is missing.",
        request=ts.TaskSendBackInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskSendBackInputSerializer, request)
        with _refusals():
            task_send_back(
                task=task,
                agent=request.user,
                missing=data["missing"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)


@extend_schema(tags=TASKS, parameters=[TASK_ID])
class TaskPriorityApi(APIView):
    @extend_schema(
        summary="Change the priority",
        description="The SLA targets of the new priority apply from the task's start.",
        request=ts.TaskPriorityInputSerializer,
        responses={**ACTION_ANSWERS, 400: INVALID},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = _task_to_work(request, task_id)
        data = _input(ts.TaskPriorityInputSerializer, request)
        with _refusals():
            task_set_priority(
                task=task,
                by=request.user,
                priority=data["priority"],
                expected_version=data["expected_version"],
            )
        return _task_response(request, task_id)
