"""The staff workspace: queues, the task page and the department manager's view.

Only staff of a department (its agents and managers) see its queues and tasks; for
everyone else they do not exist (404). Every form on the task page posts the version the
agent saw, so a change made meanwhile by someone else is reported instead of overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from esm import clock
from esm.models import Department
from esm.permissions import can
from services import actions, selectors, sla
from services.actions import ActionRefused
from services.filters import queue_filtered
from services.forms import (
    QueueBulkForm,
    TaskAskForm,
    TaskAssignForm,
    TaskConsultForm,
    TaskConsultWithdrawForm,
    TaskForm,
    TaskHandOffForm,
    TaskPriorityForm,
    TaskTextForm,
)
from services.models import CatalogItem, FulfilmentTask, Queue
from services.views import timeline

TASKS_PER_PAGE = 25
PEOPLE_PER_PAGE = 25


def _require_staff(request: HttpRequest) -> None:
    if not can(request.user, "esm.work_queues"):
        raise PermissionDenied


@login_required
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    my_tasks = selectors.tasks_assigned_to(user=request.user)
    return render(
        request,
        "services/workspace/queue_list.html",
        {
            "queues": selectors.queues_for(user=request.user),
            "my_tasks": _with_clocks(my_tasks[:TASKS_PER_PAGE]),
            "managed": selectors.departments_managed_by(user=request.user),
        },
    )


def _with_clocks(tasks: list[FulfilmentTask]) -> list[dict[str, Any]]:
    """Each task with both clocks read at one instant: its department target and its
    request's end-to-end target. One calendar load for every department on the page and
    the company."""
    now = clock.now()
    schedules = sla.schedules_for(tasks)
    return [
        {
            "task": task,
            "clock": sla.clock_read(task, schedules.of(task.department_id), now=now),
            # A consult on a confidential case: its promise is the case's, not shown.
            "end_to_end": None
            if getattr(task, "case_hidden", False)
            else sla.end_to_end_read(task.service_request, schedules.company, now=now),
        }
        for task in tasks
    ]


@login_required
@require_GET
def queue_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _queue_page(
        request, selectors.queue_with_counts_for_viewer(user=request.user, slug=slug)
    )


def _queue_page(request: HttpRequest, queue: Queue, *, status: int = 200) -> HttpResponse:
    """The queue's page; `queue` with its counts (`selectors.queue_with_counts_for_viewer`)."""
    # Read once: the bulk-assign list and the assignee filter offer the same people.
    agents = selectors.department_agent_names(department=queue.department)
    task_filter = selectors.queue_tasks(
        queue=queue, viewer=request.user, filters=request.GET, agents=agents
    )
    tasks = selectors.queue_tasks_paged(queue=queue, viewer=request.user, task_filter=task_filter)
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "services/workspace/queue_detail.html",
        {
            "queue": queue,
            "filter_form": task_filter.form,
            "page": page,
            "rows": _with_clocks(list(page.object_list)),
            # Its selects only: the rows' checkboxes carry the tasks.
            "bulk_form": QueueBulkForm(
                auto_id=False,
                tasks=FulfilmentTask.objects.none(),
                agents=partial(selectors.department_agents, department=queue.department),
                named=agents,
            ),
            "priorities": FulfilmentTask._meta.get_field("priority").choices,
            "querystring": query.urlencode(),
            "filtered": queue_filtered(request.GET),
        },
        status=status,
    )


@login_required
@require_POST
def queue_take_next(request: HttpRequest, slug: str) -> HttpResponse:
    queue = selectors.queue_for_viewer(user=request.user, slug=slug)
    try:
        task = actions.task_take_next(queue=queue, agent=request.user)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("queue_detail", slug=queue.slug)
    if task is None:
        messages.info(request, f"Nothing is waiting in {queue.name}. Well done.")
        return redirect("queue_detail", slug=queue.slug)
    messages.success(request, f"{task.service_request.reference} is yours.")
    return redirect("task_detail", pk=task.pk)


@login_required
@require_POST
def queue_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    queue = selectors.queue_for_viewer(user=request.user, slug=slug)
    form = QueueBulkForm(
        request.POST,
        tasks=FulfilmentTask.objects.visible_to(request.user).filter(queue=queue).open(),
        agents=partial(selectors.department_agents, department=queue.department),
    )
    if not form.is_valid():
        problems = [" ".join(errors) for errors in form.errors.values()]
        messages.error(request, "Nothing changed: " + " ".join(problems))
        return _queue_page(
            request,
            selectors.queue_with_counts_for_viewer(user=request.user, slug=queue.slug),
            status=400,
        )
    tasks = FulfilmentTask.objects.filter(pk__in=[task.pk for task in form.cleaned_data["tasks"]])
    if form.cleaned_data["action"] == QueueBulkForm.ASSIGN:
        changed, refused = actions.tasks_assign_bulk(
            tasks=tasks, assignee=form.cleaned_data["assignee"], by=request.user
        )
    else:
        changed, refused = actions.tasks_set_priority_bulk(
            tasks=tasks, priority=form.cleaned_data["priority"], by=request.user
        )
    messages.success(request, f"{changed} task{'s' if changed != 1 else ''} updated.")
    for refusal in refused:
        messages.error(request, refusal)
    return redirect(f"{reverse('queue_detail', args=[queue.slug])}?{request.GET.urlencode()}")


# -- the task page --------------------------------------------------------------------------


class _Choices:
    """What the task page's forms offer, each read once however many forms offer it (the
    hand-off and consult lists come from one read of the queues)."""

    def __init__(self, task: FulfilmentTask) -> None:
        self.task = task

    @cached_property
    def agents(self) -> list[tuple[int, str]]:
        return selectors.department_agent_names(department=self.task.department)

    @cached_property
    def destinations(self) -> tuple[list[Queue], list[Queue]]:
        return selectors.task_destinations(task=self.task)


# The task page's forms: class and extra arguments. Each carries the task's version.
TASK_FORMS: dict[
    str, tuple[type[forms.Form], Callable[[FulfilmentTask, _Choices], dict[str, Any]]]
] = {
    "claim_form": (TaskForm, lambda task, offered: {}),
    "assign_form": (
        TaskAssignForm,
        lambda task, offered: {
            "agents": partial(selectors.department_agents, department=task.department),
            "named": offered.agents,
        },
    ),
    "reply_form": (TaskTextForm, lambda task, offered: {"label": "Reply to the employee"}),
    "note_form": (TaskTextForm, lambda task, offered: {"label": "Internal note (staff only)"}),
    "ask_form": (TaskAskForm, lambda task, offered: {"label": "Question for the employee"}),
    "resolve_form": (TaskTextForm, lambda task, offered: {"label": "Resolution note"}),
    "send_back_form": (TaskTextForm, lambda task, offered: {"label": "What is missing"}),
    "handoff_form": (
        TaskHandOffForm,
        lambda task, offered: {
            "queues": selectors.handoff_queues(task=task),
            "listed": offered.destinations[0],
        },
    ),
    "priority_form": (TaskPriorityForm, lambda task, offered: {}),
    "consult_form": (
        TaskConsultForm,
        lambda task, offered: {
            "queues": selectors.consult_queues(task=task),
            "listed": offered.destinations[1],
        },
    ),
    "withdraw_form": (
        TaskConsultWithdrawForm,
        lambda task, offered: {"consults": task.consults_asked.open()},
    ),
    "answer_form": (TaskTextForm, lambda task, offered: {"label": "Your answer"}),
}

# Forms only an ordinary task has (a consult task answers, and does nothing else to the
# case), and the one only a consult task has.
CASE_FORMS = {"reply_form", "note_form", "ask_form", "resolve_form", "handoff_form"}
ASKING_FORMS = {"consult_form", "withdraw_form"}
CONSULT_FORMS = {"answer_form"}
# A form the page draws only for its errors: each open consult has its own withdraw button.
POSTED_ONLY_FORMS = {"withdraw_form"}


def _task_form(
    task: FulfilmentTask, name: str, data: Any = None, *, offered: _Choices | None = None
) -> forms.Form:
    form_class, extra = TASK_FORMS[name]
    initial = {"version": task.version, "priority": task.priority}
    offered = offered or _Choices(task)
    return form_class(data, initial=initial, auto_id=f"{name}-%s", **extra(task, offered))


def _task_page(
    request: HttpRequest, task: FulfilmentTask, *, status: int = 200, **bound: forms.Form
) -> HttpResponse:
    service_request = task.service_request
    extras = selectors.task_page_extras(task=task, viewer=request.user)
    consult = extras["consult"]
    case_hidden = not can(request.user, "services.view_task_case", task)
    ending = selectors.task_ending(task=task, viewer=request.user)
    if ending is not None:
        ending["by"] = timeline.person(ending["event"].actor, request.user)
    context = {
        "task": task,
        "service_request": service_request,
        "case_hidden": case_hidden,
        **_with_clocks([task])[0],
        "is_mine": task.assignee_id == request.user.pk,
        "ending": ending,
        **extras,
    }
    if case_hidden:
        # The request's own promise is part of the case the consulted department may not see.
        context["end_to_end"] = None
        events = selectors.consult_timeline(consult=consult)
    else:
        notes = selectors.task_reader_reads_notes(user=request.user, task=task)
        context["comments"] = selectors.comments_for_viewer(
            user=request.user, service_request=service_request, reads_notes=notes
        )
        events = selectors.timeline_for_viewer(
            user=request.user, service_request=service_request, reads_notes=notes
        )
    context["timeline"] = timeline.timeline_in_words(events, service_request, request.user)
    skipped = CASE_FORMS | ASKING_FORMS if consult else CONSULT_FORMS
    offered = _Choices(task)
    for name in TASK_FORMS:
        if name in bound:
            context[name] = bound[name]
        elif not (
            name in skipped
            or name in POSTED_ONLY_FORMS
            or (name == "send_back_form" and not task.handed_off_from_id)
        ):
            context[name] = _task_form(task, name, offered=offered)
    return render(request, "services/workspace/task_detail.html", context, status=status)


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_page(request, selectors.task_for_viewer(user=request.user, pk=pk))


def _text(form: forms.Form) -> str:
    return form.cleaned_data["body"]


def _consult_of(task: FulfilmentTask) -> Any:
    consult = selectors.task_consult_for_viewer(task=task)
    if consult is None:
        raise ActionRefused("This task answers no consult.")
    return consult


# Each operation of the task page: its form, the action it calls, what to tell the agent.
OPERATIONS: dict[str, tuple[str, Callable[..., Any], str]] = {
    "claim": (
        "claim_form",
        lambda task, user, form, version: actions.task_claim(
            task=task, agent=user, expected_version=version
        ),
        "The task is yours.",
    ),
    "unassign": (
        "claim_form",
        lambda task, user, form, version: actions.task_unassign(
            task=task, by=user, expected_version=version
        ),
        "The task is back in the queue.",
    ),
    "assign": (
        "assign_form",
        lambda task, user, form, version: actions.task_assign(
            task=task, assignee=form.cleaned_data["assignee"], by=user, expected_version=version
        ),
        "Assigned.",
    ),
    "reply": (
        "reply_form",
        lambda task, user, form, version: actions.task_reply(
            task=task, agent=user, body=_text(form), expected_version=version
        ),
        "Reply sent to the employee.",
    ),
    "note": (
        "note_form",
        lambda task, user, form, version: actions.task_note(
            task=task, agent=user, body=_text(form)
        ),
        "Internal note added.",
    ),
    "ask": (
        "ask_form",
        lambda task, user, form, version: actions.task_ask(
            task=task,
            agent=user,
            question=_text(form),
            missing_information=form.cleaned_data["missing_information"],
            expected_version=version,
        ),
        "Question sent; the SLA clock is paused until the employee answers.",
    ),
    "consult": (
        "consult_form",
        lambda task, user, form, version: actions.task_consult(
            task=task,
            agent=user,
            to_queue=form.cleaned_data["to_queue"],
            question=form.cleaned_data["question"],
            expected_version=version,
        ),
        "Question sent; the task waits for the other department's answer.",
    ),
    "withdraw-consult": (
        "withdraw_form",
        lambda task, user, form, version: actions.consult_withdraw(
            consult=form.cleaned_data["consult"], agent=user, expected_version=version
        ),
        "Consult withdrawn.",
    ),
    "answer": (
        "answer_form",
        lambda task, user, form, version: actions.consult_answer(
            consult=_consult_of(task), agent=user, answer=_text(form), expected_version=version
        ),
        "Answer sent to the asking department.",
    ),
    "resolve": (
        "resolve_form",
        lambda task, user, form, version: actions.task_resolve(
            task=task, agent=user, resolution=_text(form), expected_version=version
        ),
        "Task resolved.",
    ),
    "hand-off": (
        "handoff_form",
        lambda task, user, form, version: actions.task_hand_off(
            task=task,
            agent=user,
            to_queue=form.cleaned_data["to_queue"],
            reason=form.cleaned_data["reason"],
            expected_version=version,
        ),
        "Handed off.",
    ),
    "send-back": (
        "send_back_form",
        lambda task, user, form, version: actions.task_send_back(
            task=task, agent=user, missing=_text(form), expected_version=version
        ),
        "Sent back to the team that handed it over.",
    ),
    "priority": (
        "priority_form",
        lambda task, user, form, version: actions.task_set_priority(
            task=task, by=user, priority=form.cleaned_data["priority"], expected_version=version
        ),
        "Priority changed; the SLA follows the new priority.",
    ),
}


@login_required
@require_POST
def task_operation(request: HttpRequest, pk: int, operation: str) -> HttpResponse:
    if operation not in OPERATIONS:
        raise Http404("No such operation.")
    task = selectors.task_for_viewer(user=request.user, pk=pk)
    form_name, perform, done = OPERATIONS[operation]
    form = _task_form(task, form_name, request.POST)
    if not form.is_valid():
        return _task_page(request, task, status=400, **{form_name: form})
    try:
        perform(task, request.user, form, form.cleaned_data["version"])
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return _task_page(request, selectors.task_for_viewer(user=request.user, pk=pk), status=409)
    messages.success(request, done)
    return redirect("task_detail", pk=task.pk)


@login_required
@require_POST
def task_draft_article(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_for_viewer(user=request.user, pk=pk)
    try:
        article, created = actions.article_draft_from_task(task=task, author=request.user)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("task_detail", pk=task.pk)
    next_step = (
        "publish it"
        if can(request.user, "services.publish_article", article)
        else "send it for review"
    )
    if created:
        messages.success(
            request,
            f"Draft article created from the resolution: only {article.department.name} "
            f"staff see it. Edit it here, then {next_step}.",
        )
    else:
        messages.info(request, "This task's article already exists: here it is.")
    return redirect("article_edit", slug=article.slug)


@login_required
@require_GET
def department_overview_mine(request: HttpRequest) -> HttpResponse:
    """The navigation's "Overview": the department the person manages, or a choice of them."""
    if not can(request.user, "esm.manage_any_department"):
        raise PermissionDenied
    managed = list(selectors.departments_managed_by(user=request.user).order_by("name"))
    if len(managed) == 1:
        return redirect("department_overview", slug=managed[0].slug)
    return render(
        request, "services/workspace/department_overview_choice.html", {"managed": managed}
    )


@login_required
@require_GET
def department_overview(request: HttpRequest, slug: str) -> HttpResponse:
    department = get_object_or_404(Department, slug=slug)
    if not can(request.user, "esm.manage_department", department):
        raise Http404("No such department.")
    overview = selectors.department_overview(department=department)
    # A large department has hundreds of staff: a page of them at a time, by name.
    people = Paginator(overview["per_agent"], PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "services/workspace/department_overview.html",
        {
            "department": department,
            "overview": overview,
            "people": people,
            "at_risk_percent": round(settings.SLA_AT_RISK_SHARE * 100),
            "queues": selectors.queues_for(user=request.user, department=department),
        },
    )


# Drawing of a plan: boxes in columns, in pixels.
BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 230, 64, 40, 24, 16


@login_required
@require_GET
def plan_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A catalog item's fulfilment plan as a graph, for the staff who fulfil it."""
    _require_staff(request)
    item = get_object_or_404(CatalogItem.objects.select_related("department"), slug=slug)
    layout = selectors.plan_layout(item=item)
    boxes = {}
    for column_index, column in enumerate(layout["columns"]):
        for row_index, step in enumerate(column):
            boxes[step.pk] = {
                "step": step,
                "x": MARGIN + column_index * (BOX_WIDTH + COLUMN_GAP),
                "y": MARGIN + row_index * (BOX_HEIGHT + ROW_GAP),
            }
    edges = [
        {
            "x1": boxes[earlier]["x"] + BOX_WIDTH,
            "y1": boxes[earlier]["y"] + BOX_HEIGHT // 2,
            "x2": boxes[later]["x"],
            "y2": boxes[later]["y"] + BOX_HEIGHT // 2,
        }
        for earlier, later in layout["edges"]
    ]
    rows = max((len(column) for column in layout["columns"]), default=0)
    return render(
        request,
        "services/workspace/plan_detail.html",
        {
            "item": item,
            "boxes": list(boxes.values()),
            "edges": edges,
            "steps": layout["steps"],
            "box_width": BOX_WIDTH,
            "box_height": BOX_HEIGHT,
            "width": 2 * MARGIN + len(layout["columns"]) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP,
            "height": 2 * MARGIN + rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP,
        },
    )
