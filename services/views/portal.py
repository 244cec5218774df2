"""The self-service portal pages: check permission, call one selector or action, render.

Reads go through `services.selectors` (or the permission twins `entitled_to` / `visible_to`),
writes through `services.actions`; nothing here changes a row directly. Pages that must not
reveal an object to someone who may not see it answer 404, not 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from esm import clock
from esm.models import DepartmentRole
from esm.permissions import can, staff_department_ids
from services import actions, selectors, sla
from services.actions import ActionRefused
from services.forms import (
    ApprovalDecisionForm,
    CommentForm,
    RatingForm,
    ReasonForm,
    RequestForm,
    upload_too_large,
)
from services.models import (
    Approval,
    ApprovalStep,
    ArticleFeedback,
    Attachment,
    CatalogItem,
    FulfilmentTask,
    ServiceRequest,
)
from services.uploads import attachment_content_type, upload_name_clean
from services.views import timeline

State = ServiceRequest.State

ITEMS_PER_PAGE = 24
REQUESTS_PER_PAGE = 20
# Each approval carries its own decision form: a page of them stays light to load.
APPROVALS_PER_PAGE = 10
# Longer search text than this is not a search, and only makes the LIKE clauses slower.
QUERY_MAX_LENGTH = 200

STATE_FILTERS = [
    ("", "All"),
    ("open", "Open"),
    ("closed", "Resolved or closed"),
    # The exact "closed" state is covered by the option above.
    *[(value, label) for value, label in State.choices if value != State.CLOSED],
]


def _query(request: HttpRequest, name: str = "q") -> str:
    return request.GET.get(name, "").strip()[:QUERY_MAX_LENGTH]


_person = timeline.person


# -- home: search and browse the catalog ----------------------------------------------------


def _facet_name(facets: list[tuple[str, str, int]], slug: str) -> str:
    return next((name for facet_slug, name, _ in facets if facet_slug == slug), "")


@login_required
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    query = _query(request)
    department = request.GET.get("department", "")
    category = request.GET.get("category", "")
    facets = selectors.catalog_facets_for(
        user=user, query=query, department=department, category=category
    )
    context: dict[str, Any] = {
        "query": query,
        "department": department,
        "category": category,
        "department_name": _facet_name(facets["departments"], department),
        "category_name": _facet_name(facets["categories"], category),
        "facets": facets,
        "browsing": bool(query or department or category),
    }
    if context["browsing"]:
        items = selectors.catalog_items_for(
            user=user, department=department, category=category, query=query
        )
        context["items"] = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
        context["articles"] = (
            selectors.articles_matching(user=user, query=query)[: selectors.SEARCH_RESULTS_SHOWN]
            if query
            else []
        )
    else:
        context["popular"] = selectors.popular_items_for(user=user)
        context["recent"] = selectors.recent_items_for(user=user)
    return render(request, "services/portal_home.html", context)


# -- the item page and its request form -----------------------------------------------------


def _approver_in_words(step: ApprovalStep) -> str:
    if step.approver == ApprovalStep.Approver.PERSON:
        return step.person.get_full_name() or step.person.get_username()
    if step.approver == ApprovalStep.Approver.DEPARTMENT_ROLE:
        article = "an" if step.role == DepartmentRole.Role.AGENT else "a"
        return f"{article} {step.get_role_display().lower()} in {step.department}"
    return "your manager"


def _form_rows(form: RequestForm) -> list[dict[str, Any]]:
    """Visible inputs in order, each with the condition (if any) that shows it in the browser."""
    names = {field.pk: form.name_of(field) for field in form.item_fields}
    conditions = {
        form.name_of(field): (names.get(field.show_when_field_id, ""), field.show_when_value)
        for field in form.item_fields
        if field.show_when_field_id is not None
    }
    rows = []
    for bound in form.visible_fields():
        show_when, show_value = conditions.get(bound.name, ("", ""))
        # Item questions are optional to Django; whether one is required is the item's data.
        form_field = getattr(bound.field, "form_field", None)
        rows.append(
            {
                "field": bound,
                "required": form_field.required if form_field else bound.field.required,
                "is_group": bound.widget_type in ("radioselect", "checkboxselectmultiple"),
                "show_when": show_when,
                "show_value": show_value,
            }
        )
    return rows


def _item_page(
    request: HttpRequest, item: CatalogItem, form: RequestForm, *, status: int = 200
) -> HttpResponse:
    # As the employee types the subject, htmx asks for matching articles (deflection).
    form.fields["subject"].widget.attrs.update(
        {
            "autocomplete": "off",
            "hx-get": reverse("catalog_item_suggestions", args=[item.slug]),
            "hx-trigger": "input changed delay:400ms, search",
            "hx-target": "#suggestions",
            "hx-sync": "this:replace",
        }
    )
    context = {
        "item": item,
        "form": form,
        "rows": _form_rows(form),
        "approvers": [_approver_in_words(step) for step in item.approval_steps.all()],
        # Staff who fulfil requests read how this item is fulfilled: its plan's graph.
        "shows_plan": can(request.user, "esm.work_queues") and item.plan_steps.exists(),
    }
    return render(request, "services/catalog_item.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def catalog_item(request: HttpRequest, slug: str) -> HttpResponse:
    item = selectors.item_for_request(user=request.user, slug=slug)
    if request.method == "GET":
        # `item_for_request` let through only people entitled to the item.
        actions.form_start_record(item=item, person=request.user)
        return _item_page(request, item, RequestForm(item=item))

    if not can(request.user, "services.request_item", item):
        raise Http404("No such catalog item.")
    form = RequestForm(request.POST, request.FILES, item=item)
    if not form.is_valid():
        return _item_page(request, item, form, status=413 if form.too_large else 400)
    on_behalf_of = form.cleaned_data.get("on_behalf_of") if item.allow_on_behalf else None
    service_request, created = actions.service_request_submit(
        item=item,
        raised_by=request.user,
        requester=on_behalf_of,
        subject=form.cleaned_data["subject"],
        answers=form.answer_rows(),
        submission_key=form.cleaned_data["submission_key"],
        uploads=form.uploads(),
    )
    if created:
        messages.success(
            request,
            f"Your request {service_request.reference} is submitted. "
            "You can follow it here, and we will tell you when something changes.",
        )
    else:
        # The same form arrived twice (double click, a resend): the first one counts.
        messages.info(
            request,
            f"This form was already sent as {service_request.reference}; nothing new was created.",
        )
    return redirect("request_detail", reference=service_request.reference)


@login_required
@require_GET
def catalog_item_suggestions(request: HttpRequest, slug: str) -> HttpResponse:
    """Articles matching the subject being typed on an item page (an HTML fragment)."""
    item = get_object_or_404(CatalogItem.objects.entitled_to(request.user), slug=slug)
    articles = selectors.article_suggestions(item=item, text=_query(request, "subject"))
    return render(request, "services/_suggestions.html", {"item": item, "articles": articles})


# -- knowledge ------------------------------------------------------------------------------


@login_required
@require_GET
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    article = selectors.article_for_reader(user=user, slug=slug)
    # Read from an item page's suggestions: a possible deflection, but only for an item the
    # reader could have asked for (a made-up `from` must not skew the item's numbers).
    from_item = None
    if from_slug := request.GET.get("from", ""):
        from_item = CatalogItem.objects.entitled_to(user).filter(slug=from_slug).first()
    actions.article_view_record(article=article, user=user, from_item=from_item)
    context = {
        "article": article,
        "views": article.view_count + 1,
        "from_item": from_item,
        "related_items": CatalogItem.objects.entitled_to(user)
        .filter(articles=article)
        .select_related("department"),
        "feedback": ArticleFeedback.objects.filter(article=article, user=user).first(),
        "can_edit": can(user, "services.edit_article", article),
    }
    return render(request, "services/article_detail.html", context)


@login_required
@require_POST
def article_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_for_reader(user=request.user, slug=slug)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        return HttpResponseBadRequest("Answer yes or no.")
    actions.article_feedback_record(article=article, user=request.user, helpful=answer == "yes")
    if request.headers.get("HX-Request"):
        feedback = ArticleFeedback(article=article, helpful=answer == "yes")
        return render(
            request, "services/_article_feedback.html", {"article": article, "feedback": feedback}
        )
    messages.success(request, "Thank you: your answer helps us improve this article.")
    return redirect("article_detail", slug=article.slug)


# -- approvals ------------------------------------------------------------------------------


def _decision_form(approval: Approval, data: Any = None) -> ApprovalDecisionForm:
    # Several forms share the page: give each its own element ids.
    return ApprovalDecisionForm(data, auto_id=f"approval-{approval.pk}-%s")


def _approvals_page(
    request: HttpRequest,
    *,
    bound: tuple[int, ApprovalDecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """A page of the pending approvals, each with its decision form (`bound`: one sent back
    with errors, shown on the page that holds it)."""
    user = request.user
    staff_of = staff_department_ids(user)
    pending = selectors.pending_approvals_for(user=user)
    number: Any = request.GET.get("page")
    if bound is not None:
        pks = list(pending.values_list("pk", flat=True))
        if bound[0] in pks:
            number = pks.index(bound[0]) // APPROVALS_PER_PAGE + 1
    page = Paginator(pending, APPROVALS_PER_PAGE).get_page(number)
    rows = []
    for approval in page:
        service_request = approval.service_request
        form = bound[1] if bound is not None and bound[0] == approval.pk else None
        rows.append(
            {
                "approval": approval,
                "service_request": service_request,
                "form": form or _decision_form(approval),
                # An approver sees an open case like its requester does. A confidential one
                # (HR, medical) shows its details only to the department's staff: others
                # decide on the item and the person, without the case's content.
                "shows_details": not service_request.is_confidential
                or service_request.department_id in staff_of,
            }
        )
    return render(
        request, "services/approval_list.html", {"rows": rows, "page": page}, status=status
    )


@login_required
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    return _approvals_page(request)


@login_required
@require_POST
def approval_decision(request: HttpRequest, pk: int) -> HttpResponse:
    approval = Approval.objects.select_related("service_request").filter(pk=pk).first()
    if approval is None or not can(request.user, "services.decide_approval", approval):
        raise Http404("No such approval is waiting for you.")
    form = _decision_form(approval, request.POST)
    if not form.is_valid():
        return _approvals_page(request, bound=(approval.pk, form), status=400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        actions.approval_decide(
            approval=approval,
            user=request.user,
            approve=approve,
            comment=form.cleaned_data["comment"],
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        reference = approval.service_request.reference
        messages.success(request, f"{reference} {'approved' if approve else 'rejected'}.")
    # Back to the page the approver was on (one page fewer when it was the last row).
    page = request.POST.get("page", "")
    return redirect(f"{reverse('approvals')}?page={page}" if page.isdigit() else "approvals")


# -- my requests ----------------------------------------------------------------------------


@login_required
@require_GET
def my_request_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in dict(STATE_FILTERS):
        state = ""
    query = _query(request)
    service_requests = selectors.my_requests(user=request.user, state=state, query=query)
    page = Paginator(service_requests, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    # The promise's state and due time need no calendar; "late by" wording is left to the
    # request's own page.
    now = clock.now()
    context = {
        "page": page,
        "rows": [
            {
                "service_request": service_request,
                "promise": sla.end_to_end_read(service_request, None, now=now),
            }
            for service_request in page.object_list
        ],
        "state": state,
        "query": query,
        "state_filters": STATE_FILTERS,
        "filtered": bool(state or query),
    }
    return render(request, "services/my_request_list.html", context)


# -- one request ----------------------------------------------------------------------------


ASKS_EMPLOYEE = selectors.TASK_PROGRESS[FulfilmentTask.State.WAITING_ON_EMPLOYEE]
UNCLAIMED = selectors.TASK_PROGRESS[FulfilmentTask.State.QUEUED]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _who_has_it(progress: list[dict[str, Any]]) -> tuple[list[str], str]:
    """Who has the work now (the departments of the open tasks and running steps) and
    what comes next (the plan's steps still waiting), from `request_progress`."""
    holders = list(
        dict.fromkeys(
            row["department"] for row in progress if row["current"] and not row["awaiting_approval"]
        )
    )
    upcoming = [f"{row['name']} ({row['department']})" for row in progress if row["next"]]
    return holders, ", then ".join(upcoming)


def _where_it_stands(
    service_request: ServiceRequest, viewer: Any, progress: list[dict[str, Any]]
) -> str:
    """The request's state as a sentence for the person reading it."""
    working, upcoming = _who_has_it(progress)
    department = _and(working) if working else service_request.department.name
    plural = len(working) > 1
    then = f" Next: {upcoming}." if upcoming else ""
    approvals = list(service_request.approvals.all())
    state = service_request.state
    if state == State.AWAITING_APPROVAL:
        waiting_for = [a.label for a in approvals if a.state == Approval.State.PENDING]
        return f"Waiting for approval from {', '.join(waiting_for) or 'an approver'}."
    if state == State.SUBMITTED:
        return f"Submitted: waiting for {department} to pick it up."
    if state == State.IN_PROGRESS:
        approvals_due = [row["status"] for row in progress if row["awaiting_approval"]]
        if approvals_due and not working:
            return f"{approvals_due[0]}.{then}"
        current = [row for row in progress if row["current"] and not row["awaiting_approval"]]
        if current and all(row["status"].startswith(UNCLAIMED) for row in current):
            return f"Waiting for {department} to pick it up.{then}"
        return f"{department} {'are' if plural else 'is'} working on it.{then}"
    if state == State.WAITING_ON_EMPLOYEE:
        asking = list(
            dict.fromkeys(row["department"] for row in progress if row["status"] == ASKS_EMPLOYEE)
        )
        if asking:
            department, plural = _and(asking), len(asking) > 1
        if service_request.requester_id == viewer.pk:
            needs = "need" if plural else "needs"
            return f"{department} {needs} something from you: please answer below."
        waits = (
            f"{'are' if plural else 'is'} waiting on {_person(service_request.requester, viewer)}"
        )
        return f"{department} {waits}."
    if state == State.RESOLVED:
        finished = list(
            dict.fromkeys(row["department"] for row in progress if row["status"] == "Done")
        )
        return f"Resolved by {_and(finished) if finished else service_request.department.name}."
    if state == State.REJECTED:
        rejection = next((a for a in approvals if a.state == Approval.State.REJECTED), None)
        if rejection is None:
            return "Rejected."
        by = _person(rejection.decided_by, viewer)
        return f"Rejected by {by}: {rejection.comment or 'no reason given'}"
    if state == State.CANCELLED:
        return "Cancelled: nobody will work on it."
    return "Closed."


def _approvals_in_words(service_request: ServiceRequest, viewer: Any) -> list[dict[str, Any]]:
    """Each approval with who decided it, naming a person once: a label that already names
    the approver ("Sam Patel (Alex Morgan's manager)") needs no "by Sam Patel" after it."""
    rows = []
    for approval in service_request.approvals.all():
        by = ""
        if approval.decided_by is not None:
            name = approval.decided_by.get_full_name() or approval.decided_by.get_username()
            by = "" if name in approval.label else _person(approval.decided_by, viewer)
        rows.append({"approval": approval, "by": by})
    return rows


def _crumbs(service_request: ServiceRequest, viewer: Any, owns: bool) -> list[tuple[str, str]]:
    """The way to this request for the viewer: their own requests, or the queue and task
    an agent works it from, or the approvals page an approver decides it on."""
    if owns:
        return [("My requests", reverse("my_requests"))]
    task = selectors.task_of_request_for_viewer(user=viewer, service_request=service_request)
    if task is not None:
        return [
            ("Queues", reverse("queue_list")),
            (task.queue.name, reverse("queue_detail", args=[task.queue.slug])),
            (task.title, reverse("task_detail", args=[task.pk])),
        ]
    approvals = service_request.approvals.all()
    if any(viewer.pk in (a.approver_id, a.decided_by_id) for a in approvals) or (
        selectors.pending_approvals_for(user=viewer)
        .filter(service_request=service_request)
        .exists()
    ):
        return [("Approvals", reverse("approvals"))]
    return []


def _promise(service_request: ServiceRequest) -> sla.ClockReading:
    """The end-to-end target as the employee reads it; the company calendar is loaded only
    when the request has one."""
    schedule = sla.company_schedule() if service_request.end_to_end_due_at else None
    return sla.end_to_end_read(service_request, schedule)


def _request_page(
    request: HttpRequest,
    service_request: ServiceRequest,
    *,
    status: int = 200,
    **bound_forms: forms.Form,
) -> HttpResponse:
    user = request.user
    owns = can(user, "services.own_service_request", service_request)
    # Raised for someone else: the one who raised it finds it among their requests too.
    lists_it = owns or user.pk in (service_request.requester_id, service_request.raised_by_id)
    deadline = actions.reopen_deadline(service_request)
    may_reopen = owns and deadline is not None and clock.now() <= deadline
    may_rate = (
        owns
        and service_request.state in (State.RESOLVED, State.CLOSED)
        # `rating` is loaded with the request: a missing one costs no query.
        and not hasattr(service_request, "rating")
    )
    may_comment = service_request.state not in ServiceRequest.CLOSED_STATES and can(
        user, "services.comment_service_request", service_request
    )
    # The timeline and the conversation hide the same internal notes: asked once.
    notes = selectors.reads_internal_notes(user=user, service_request=service_request)
    events = selectors.timeline_for_viewer(
        user=user, service_request=service_request, reads_notes=notes
    )
    progress = selectors.request_progress(service_request=service_request)
    waiting_for = (
        "your answer"
        if service_request.requester_id == user.pk
        else f"{_person(service_request.requester, user)}'s answer"
    )
    context = {
        "service_request": service_request,
        "where_it_stands": _where_it_stands(service_request, user, progress),
        "promise": _promise(service_request),
        "waiting_for": waiting_for,
        "progress": [
            {**row, "status": f"Waiting for {waiting_for}"}
            if row["status"] == ASKS_EMPLOYEE
            else row
            for row in progress
        ],
        "approvals": _approvals_in_words(service_request, user),
        "crumbs": _crumbs(service_request, user, lists_it),
        "timeline": timeline.timeline_in_words(events, service_request, user),
        "comments": selectors.comments_for_viewer(
            user=user, service_request=service_request, reads_notes=notes
        ),
        "comment_form": (bound_forms.get("comment_form") or CommentForm()) if may_comment else None,
        "cancel_form": (bound_forms.get("cancel_form") or ReasonForm(auto_id="cancel-%s"))
        if owns and service_request.is_open
        else None,
        "reopen_form": (bound_forms.get("reopen_form") or ReasonForm(auto_id="reopen-%s"))
        if may_reopen
        else None,
        "reopen_deadline": deadline if may_reopen else None,
        "rating_form": (bound_forms.get("rating_form") or RatingForm()) if may_rate else None,
    }
    return render(request, "services/request_detail.html", context, status=status)


@login_required
@require_GET
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    service_request = selectors.request_for_viewer(user=request.user, reference=reference)
    if reference != service_request.reference:
        return redirect("request_detail", reference=service_request.reference, permanent=True)
    return _request_page(request, service_request)


def _request_for(request: HttpRequest, reference: str, permission: str) -> ServiceRequest:
    """The request, for someone who may see it (else 404) and act on it this way (else 403)."""
    service_request = selectors.request_for_viewer(user=request.user, reference=reference)
    if not can(request.user, permission, service_request):
        raise PermissionDenied
    return service_request


def _after(request: HttpRequest, service_request: ServiceRequest) -> HttpResponse:
    return redirect("request_detail", reference=service_request.reference)


@login_required
@require_POST
def request_comment(request: HttpRequest, reference: str) -> HttpResponse:
    service_request = _request_for(request, reference, "services.comment_service_request")
    form = CommentForm(request.POST, request.FILES)
    if not form.is_valid():
        status = 413 if upload_too_large(form) else 400
        return _request_page(request, service_request, status=status, comment_form=form)
    upload = form.cleaned_data.get("attachment")
    try:
        actions.comment_add(
            service_request=service_request,
            author=request.user,
            body=form.cleaned_data["body"],
            uploads=[("", upload)] if upload else [],
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Your comment is added.")
    return _after(request, service_request)


@login_required
@require_POST
def request_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    service_request = _request_for(request, reference, "services.own_service_request")
    form = ReasonForm(request.POST, auto_id="cancel-%s")
    if not form.is_valid():
        return _request_page(request, service_request, status=400, cancel_form=form)
    try:
        actions.service_request_cancel(
            service_request=service_request, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{service_request.reference} is cancelled.")
    return _after(request, service_request)


@login_required
@require_POST
def request_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    service_request = _request_for(request, reference, "services.own_service_request")
    form = ReasonForm(request.POST, auto_id="reopen-%s")
    if not form.is_valid():
        return _request_page(request, service_request, status=400, reopen_form=form)
    try:
        actions.service_request_reopen(
            service_request=service_request, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{service_request.reference} is open again.")
    return _after(request, service_request)


@login_required
@require_POST
def request_rate(request: HttpRequest, reference: str) -> HttpResponse:
    service_request = _request_for(request, reference, "services.own_service_request")
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _request_page(request, service_request, status=400, rating_form=form)
    try:
        actions.service_request_rate(
            service_request=service_request,
            user=request.user,
            score=form.cleaned_data["score"],
            comment=form.cleaned_data["comment"],
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Thank you for rating your experience.")
    return _after(request, service_request)


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = (
        Attachment.objects.select_related("service_request__department").filter(pk=pk).first()
    )
    if attachment is None or not can(
        request.user, "services.view_service_request", attachment.service_request
    ):
        raise Http404("No such attachment.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=upload_name_clean(attachment.name),
        content_type=attachment_content_type(attachment.name),
    )
    # Typed by the checked extension, never by what the uploader declared (older rows kept
    # that); and never rendered or sniffed by the browser, whatever it holds.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
