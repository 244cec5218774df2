"""Every non-trivial read of the services app, with relations loaded for the page or API."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import Exact
from django.http import Http404
from django.shortcuts import get_object_or_404

from esm import clock, kept_queries
from esm.aggregates import count_of
from esm.models import Department, DepartmentRole, Event, EventKind, Profile
from esm.pagination import PagedByIds
from esm.permissions import (
    can,
    department_ids_with_role,
    department_roles,
    staff_department_ids,
)
from services.filters import (
    SEARCH_WORDS_MAX,
    CatalogItemFilter,
    QueueTaskFilter,
    ServiceRequestFilter,
    queue_filtered,
)
from services.models import (
    Approval,
    ApprovalStep,
    Article,
    ArticleView,
    Attachment,
    CannedReply,
    CatalogItem,
    ClockState,
    Comment,
    Consult,
    FormField,
    FulfilmentTask,
    PlanStep,
    Queue,
    ServiceRequest,
    StepRun,
    pk_from_reference,
)
from services.models.requests import approvals_addressed
from services.models.tasks import department_target_sql

POPULAR_SHOWN = 6
RECENT_SHOWN = 5
SUGGESTIONS_SHOWN = 5
SEARCH_RESULTS_SHOWN = 20
# An article read from an item page counts as a deflection unless the reader raises a
# request for that item within this time.
DEFLECTION_WINDOW = dt.timedelta(hours=24)


# Words too common to tell one article from another.
_STOP_WORDS = """
    about after all also and any are can cannot could did does doing for from get got
    had has have how into its just like more most need needs not now off once only our
    out over please same should some such than that the their them then there these they
    this those too very was way were what when where which while who why will with would
    you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
SEARCH_CONFIG = "english"
# Title words weigh more than body words, on PostgreSQL (weights A and B) as in the fallback.
_ARTICLE_DOCUMENT = SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
    "body", weight="B", config=SEARCH_CONFIG
)
TITLE_WORD_SCORE, BODY_WORD_SCORE = 3, 1
# A suggestion not linked to the item scores at least this share of the best one.
SUGGESTION_RELEVANCE_FLOOR = 1 / 3


def confidential_department_ids() -> list[int]:
    """Departments that handle confidential cases: those with a confidential catalog item
    (published or not: they hold such cases now or soon)."""
    return list(
        CatalogItem.objects.filter(is_confidential=True)
        .values_list("department_id", flat=True)
        .distinct()
    )


def search_words(text: str) -> list[str]:
    """The words of `text` that mean something (not stop words, not one or two letters),
    each once, at most SEARCH_WORDS_MAX of them."""
    words: list[str] = []
    for word in re.findall(r"\w+", text.lower()):
        if len(word) > 2 and word not in STOP_WORDS and word not in words:
            words.append(word)
    return words[:SEARCH_WORDS_MAX]


def _word_in_article(word: str) -> Q:
    if connection.vendor == "postgresql":
        # Stemmed, as the ranking reads it: "hires" finds "hire".
        return Q(document=SearchQuery(word, config=SEARCH_CONFIG))
    return Q(title__icontains=word) | Q(body__icontains=word)


def _words_matched(words: list[str]) -> Any:
    """How many of `words` an article holds, in its title or body."""
    return sum((Case(When(_word_in_article(word), then=1), default=0) for word in words), Value(0))


def _words_score(words: list[str]) -> Any:
    """The fallback's relevance: each word found in the title, or else in the body."""
    return sum(
        (
            Case(
                When(title__icontains=word, then=TITLE_WORD_SCORE),
                When(body__icontains=word, then=BODY_WORD_SCORE),
                default=0,
            )
            for word in words
        ),
        Value(0),
    )


def catalog_items_for(
    *, user: Any, department: str = "", category: str = "", query: str = ""
) -> QuerySet[CatalogItem]:
    """Items `user` is entitled to, optionally narrowed by department, category or words."""
    items = CatalogItem.objects.entitled_to(user).select_related("service__category", "department")
    filters = {"department": department, "category": category, "search": query}
    return CatalogItemFilter(filters, items).qs.order_by("name")


def articles_matching(*, user: Any, query: str) -> QuerySet[Article]:
    """Published articles for the portal's search box, most relevant first.

    On PostgreSQL the query reads like a web search (`"exact words"`, `or`, `-without`);
    elsewhere every meaningful word must appear.
    """
    words = search_words(query)
    if not words:
        return Article.objects.none()
    articles = Article.objects.published().select_related("department")
    if connection.vendor == "postgresql":
        found = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        articles = articles.annotate(document=_ARTICLE_DOCUMENT).filter(document=found)
        relevance: Any = SearchRank(F("document"), found)
    else:
        articles = articles.annotate(matched=_words_matched(words)).filter(matched=len(words))
        relevance = _words_score(words)
    return articles.annotate(relevance=relevance).order_by("-relevance", "-view_count", "title")


def popular_items_for(*, user: Any) -> QuerySet[CatalogItem]:
    """The entitled items most asked for lately, by their hourly count (`recent_requests`):
    counting every item's requests of the window on each visit of the portal's home grew
    with the enterprise's traffic."""
    return (
        CatalogItem.objects.entitled_to(user)
        .select_related("department")
        .filter(recent_requests__gt=0)
        .order_by("-recent_requests", "name")[:POPULAR_SHOWN]
    )


def recent_items_for(*, user: Any) -> QuerySet[CatalogItem]:
    """Items the person asked for most recently (still entitled to), newest first."""
    return (
        CatalogItem.objects.entitled_to(user)
        .select_related("department")
        .filter(requests__raised_by=user)
        .annotate(last_requested=Max("requests__submitted_at"))
        .order_by("-last_requested")[:RECENT_SHOWN]
    )


def catalog_facets_for(
    *, user: Any, query: str = "", department: str = "", category: str = ""
) -> dict[str, list[tuple[str, str, int]]]:
    """Departments and categories with how many of the entitled items the search finds in
    each. A department's count keeps the chosen category and a category's the chosen
    department (each facet's links keep the other), so a count is what its link shows."""
    items = CatalogItem.objects.entitled_to(user)
    in_category = CatalogItemFilter({"search": query, "category": category}, items).qs
    in_department = CatalogItemFilter({"search": query, "department": department}, items).qs
    departments = (
        in_category.values_list("department__slug", "department__name")
        .annotate(n=Count("id"))
        .order_by("department__name")
    )
    categories = (
        in_department.filter(service__category__isnull=False)
        .values_list("service__category__slug", "service__category__name")
        .annotate(n=Count("id"))
        .order_by("service__category__name")
    )
    return {"departments": list(departments), "categories": list(categories)}


def item_for_request(*, user: Any, slug: str) -> CatalogItem:
    """The item with its form, for someone entitled to it; 404 for everyone else."""
    fields = FormField.objects.order_by("position", "id")
    # The page says who approves, and submitting resolves each step's approver.
    steps = ApprovalStep.objects.select_related("department", "person")
    items = (
        CatalogItem.objects.entitled_to(user)
        .select_related("service__owner", "department", "service__category")
        .prefetch_related(
            Prefetch("fields", queryset=fields), Prefetch("approval_steps", queryset=steps)
        )
    )
    return get_object_or_404(items, slug=slug)


def article_suggestions(*, item: CatalogItem, text: str) -> list[Article]:
    """Published articles for what the employee is typing: those linked to the item first,
    then by relevance. An article must hold at least half of the typed words that mean
    something, and come near the best match: a few shared words ("new", "hire") do not
    bring in an unrelated article."""
    words = search_words(text)
    if not words:
        return []
    linked = Exists(
        Article.related_items.through.objects.filter(
            article_id=OuterRef("pk"), catalogitem_id=item.pk
        )
    )
    articles = Article.objects.published()
    if connection.vendor == "postgresql":
        any_word = SearchQuery(" or ".join(words), search_type="websearch", config=SEARCH_CONFIG)
        articles = articles.annotate(document=_ARTICLE_DOCUMENT)
        relevance: Any = SearchRank(F("document"), any_word)
    else:
        relevance = _words_score(words)
    found = list(
        articles.annotate(matched=_words_matched(words), relevance=relevance, linked=linked)
        .filter(matched__gte=math.ceil(len(words) / 2))
        .order_by("-linked", "-relevance", "-view_count", "title")[:SUGGESTIONS_SHOWN]
    )
    floor = max((article.relevance for article in found), default=0) * SUGGESTION_RELEVANCE_FLOOR
    return [article for article in found if article.linked or article.relevance >= floor]


def article_for_reader(*, user: Any, slug: str) -> Article:
    article = (
        Article.objects.select_related("department", "author")
        .prefetch_related("related_items")
        .filter(slug=slug)
        .first()
    )
    readable = article is not None and (
        article.status == Article.Status.PUBLISHED
        or can(user, "esm.work_in_department", article.department)
    )
    if not readable:
        raise Http404("No such article.")
    return article


def article_for_editor(*, user: Any, slug: str) -> Article:
    """The article with what its edit page shows, for staff of its department; 404 otherwise."""
    article = (
        Article.objects.select_related("department", "author")
        .prefetch_related("related_items")
        .filter(slug=slug)
        .first()
    )
    if article is None or not can(user, "services.edit_article", article):
        raise Http404("No such article.")
    return article


def articles_for_staff(*, user: Any) -> QuerySet[Article]:
    """The articles of the departments `user` is staff of: their drafts, reviews and
    published ones, the most recently changed first."""
    return (
        Article.objects.filter(department_id__in=staff_department_ids(user))
        .select_related("department", "author")
        .order_by("-updated_at")
    )


def article_related_item_choices(*, article: Article) -> QuerySet[CatalogItem]:
    """What an article may point readers to: the catalog as employees find it, plus what it
    already points to (an item withdrawn since stays until someone unticks it)."""
    requestable = CatalogItem.objects.requestable().values("pk")
    return (
        CatalogItem.objects.filter(Q(pk__in=requestable) | Q(articles=article))
        .distinct()
        .select_related("department")
        .order_by("name")
    )


def deflections(*, since: dt.datetime) -> QuerySet[ArticleView]:
    """Suggested articles read since `since` that the reader did not follow with a request
    for the item within DEFLECTION_WINDOW; reads younger than the window are not judged yet.
    """
    followed = ServiceRequest.objects.filter(
        raised_by=OuterRef("user"),
        catalog_item=OuterRef("catalog_item"),
        submitted_at__gte=OuterRef("viewed_at"),
        submitted_at__lte=OuterRef("viewed_at") + DEFLECTION_WINDOW,
    )
    return ArticleView.objects.filter(
        viewed_at__gte=since, viewed_at__lte=clock.now() - DEFLECTION_WINDOW
    ).exclude(Exists(followed))


def my_requests(*, user: Any, state: str = "", query: str = "") -> QuerySet[ServiceRequest]:
    """Requests raised by or for `user`, newest first; `state` is 'open', 'closed' or a state."""
    if not user.is_authenticated:
        return ServiceRequest.objects.none()
    requests = (
        ServiceRequest.objects.filter(Q(requester=user) | Q(raised_by=user))
        .visible_to(user)
        .select_related("catalog_item", "department", "requester")
    )
    filters = {"state": state, "search": query.strip()}
    return ServiceRequestFilter(filters, requests).qs.order_by("-submitted_at", "-id")


def request_for_viewer(*, user: Any, reference: str) -> ServiceRequest:
    """One request with everything its page shows; 404 when the viewer may not see it."""
    pk = pk_from_reference(reference)
    if pk is None:
        raise Http404("No such request.")
    service_requests = (
        ServiceRequest.objects.visible_to(user)
        .select_related(
            "catalog_item__service",
            "department",
            "requester",
            "raised_by",
            "rating",
            "automation_run",
        )
        .prefetch_related(
            Prefetch("approvals", queryset=Approval.objects.select_related("decided_by")),
            "attachments",
        )
    )
    return get_object_or_404(service_requests, pk=pk)


def reads_internal_notes(*, user: Any, service_request: ServiceRequest) -> bool:
    """Staff of the fulfilling department, or of a department holding one of its tasks
    (a handoff brings another team in; never for a confidential case)."""
    if can(user, "esm.work_in_department", service_request.department):
        return True
    if service_request.is_confidential:
        return False
    return FulfilmentTask.objects.visible_to(user).filter(service_request=service_request).exists()


def task_reader_reads_notes(*, user: Any, task: FulfilmentTask) -> bool:
    """`reads_internal_notes` of the task's request for `user`, who sees `task` (it came
    from `task_for_viewer`): that task is one of the request's the user may see, so only
    a confidential case needs the fulfilling department, and nothing is read."""
    service_request = task.service_request
    if can(user, "esm.work_in_department", service_request.department):
        return True
    return not service_request.is_confidential


def comments_for_viewer(
    *, user: Any, service_request: ServiceRequest, reads_notes: bool | None = None
) -> QuerySet[Comment]:
    """The conversation; internal notes only for the staff working the request.
    `reads_notes`, when given, is what `reads_internal_notes` answered for them (a page
    showing both the conversation and the timeline asks once)."""
    comments = service_request.comments.select_related("author")
    if reads_notes is None:
        reads_notes = reads_internal_notes(user=user, service_request=service_request)
    if not reads_notes:
        comments = comments.filter(is_internal=False)
    return comments


# Staff bookkeeping that would only confuse the person who asked.
EMPLOYEE_HIDDEN_KINDS = [
    EventKind.SLA_BREACHED,
    EventKind.STEP_PENDING,
    EventKind.STEP_RETRIED,
    EventKind.STEP_WITH_PEOPLE,
    EventKind.STEP_SKIPPED,
    EventKind.STEP_CANCELLED,
    EventKind.RUN_STARTED,
    EventKind.RUN_FINISHED,
    EventKind.PRIORITY_CHANGED,
    EventKind.UNASSIGNED,
    EventKind.RETURNED,
]


def timeline_for_viewer(
    *, user: Any, service_request: ServiceRequest, reads_notes: bool | None = None
) -> list[Event]:
    """The case's events (the request's, its tasks' and its steps'), oldest first,
    without what the viewer must not read (`reads_notes` as in `comments_for_viewer`)."""
    if reads_notes is None:
        reads_notes = reads_internal_notes(user=user, service_request=service_request)
    return kept_queries.instances_at(
        _timeline_query(kept_queries.vendor_of(Event), reads_notes),
        keys={
            kept_queries.TEXT_ID: service_request.reference,
            kept_queries.AT: service_request.submitted_at,
        },
    )


@functools.lru_cache(maxsize=4)
def _timeline_query(vendor: str, reads_notes: bool) -> kept_queries.KeptInstances:
    """`timeline_for_viewer`'s query for a case's reference (`TEXT_ID`) and submission
    (`AT`), kept built: the request's page and the task page read it at every visit."""
    # A case's events come after its submission (the request is saved, stamped now, before
    # any event names it): bounded so, the planner leaves out the log's older months.
    events = Event.objects.filter(
        reference=kept_queries.TEXT_ID, occurred_at__gte=kept_queries.AT
    ).order_by("occurred_at", "id")
    if not reads_notes:
        events = events.exclude(kind=EventKind.COMMENTED, to_value=Comment.INTERNAL).exclude(
            kind__in=EMPLOYEE_HIDDEN_KINDS
        )
    return kept_queries.kept_instances(
        events, ("actor", "department", "from_department", "to_department")
    )


def task_of_request_for_viewer(
    *, user: Any, service_request: ServiceRequest
) -> FulfilmentTask | None:
    """The request's task the viewer works it from (the newest of their departments'), or None."""
    return (
        FulfilmentTask.objects.visible_to(user)
        .filter(service_request=service_request, consult__isnull=True)
        .select_related("queue")
        .order_by("-created_at", "-id")
        .first()
    )


def pending_approvals_for(*, user: Any) -> QuerySet[Approval]:
    return (
        _pending_approvals(user.pk, department_roles(user))
        .select_related("service_request__catalog_item", "service_request__requester")
        .order_by("service_request__submitted_at")
    )


def _pending_approvals(user_id: int, roles: frozenset[tuple[int, str]]) -> QuerySet[Approval]:
    # Not their own requests: nobody approves what they raised or what is for them.
    return (
        Approval.objects.filter(state=Approval.State.PENDING)
        .filter(approvals_addressed(user_id, roles))
        .exclude(service_request__requester_id=user_id)
        .exclude(service_request__raised_by_id=user_id)
    )


@dataclass(frozen=True)
class ApprovalSummary:
    waiting: int
    """Pending approvals the person may decide now (as on the approvals page)."""
    approves: bool
    """Whether they approve at all: something was ever addressed to them or decided by them,
    or a rule names them (their direct reports' requests, a role they hold, by name)."""


_APPROVAL_SUMMARY_CACHE = "_services_approval_summary"


def approval_summary_for(*, user: Any) -> ApprovalSummary:
    """One query, once per user object: the navigation asks on every page."""
    cached = getattr(user, _APPROVAL_SUMMARY_CACHE, None)
    if cached is not None:
        return cached
    if not user.is_authenticated:
        return ApprovalSummary(waiting=0, approves=False)
    sql, params = _approval_summary_sql(connection.vendor, user.pk, department_roles(user))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        waiting, approves = cursor.fetchone() or (0, False)
    summary = ApprovalSummary(waiting=waiting or 0, approves=bool(approves))
    setattr(user, _APPROVAL_SUMMARY_CACHE, summary)
    return summary


# Distinct people (and role sets) whose summary query a process keeps built: about 1.5 KB
# each, so at most 2 MB a process; those read least recently are built again.
APPROVAL_SUMMARY_QUERIES_KEPT = 1024


@functools.lru_cache(maxsize=APPROVAL_SUMMARY_QUERIES_KEPT)
def _approval_summary_sql(
    vendor: str, user_id: int, roles: frozenset[tuple[int, str]]
) -> tuple[str, tuple[Any, ...]]:
    """The summary's SQL and parameters for one person and the roles they hold, built once
    a process: Django takes about 3 ms to build it (five subqueries from the approval rules)
    for 0.2 ms in the database, on every page an approver opens. It reads only the person's
    id and roles, so a change of roles is another key, and the rows it counts are read
    afresh each time."""
    addressed = Approval.objects.filter(approvals_addressed(user_id, roles))
    waiting = (
        _pending_approvals(user_id, roles)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values("n")
    )
    role_steps = Q(pk__in=[])
    for department_id, role in sorted(roles):
        role_steps |= Q(department_id=department_id, role=role)
    named = ApprovalStep.objects.filter(
        Q(approver=ApprovalStep.Approver.PERSON, person_id=user_id)
        | Q(approver=ApprovalStep.Approver.DEPARTMENT_ROLE) & role_steps
    )
    summary = (
        get_user_model()
        .objects.filter(pk=user_id)
        .annotate(
            waiting=Subquery(waiting[:1]),
            approves=Exists(addressed.exclude(state=Approval.State.WAITING))
            | Exists(Approval.objects.filter(decided_by_id=user_id))
            | Exists(Profile.objects.filter(manager_id=user_id))
            | Exists(named),
        )
        .values("waiting", "approves")
    )
    return summary.query.sql_with_params()


# --- Staff workspace: queues, tasks, the department manager's view ---------------------

AGE_BUCKETS = [(1, "Under a day"), (3, "1-3 days"), (7, "3-7 days"), (None, "Over a week")]


def queues_for(
    *, user: Any, department: Department | None = None, slug: str | None = None
) -> list[Queue]:
    """The queues of the departments `user` is staff of (of `department` only, or the one
    named `slug`, when given), by department and name, each with its department and its
    counts: `open_count`, `unclaimed_count` and `breached_count`, its open tasks, those
    nobody holds, and those past their department target by the rule the rows read
    (`clock_state`), not only those the sweep has flagged. Staff see every task of their
    department."""
    staff_of = tuple(sorted(staff_department_ids(user)))
    if not staff_of:
        return []
    query = _queues_query(
        kept_queries.vendor_of(Queue),
        staff_of,
        department.pk if department is not None else None,
        slug,
    )
    return kept_queries.instances_at(query, now=clock.now())


def queue_for_viewer(*, user: Any, slug: str) -> Queue:
    queue = get_object_or_404(Queue.objects.select_related("department"), slug=slug)
    if not can(user, "esm.work_in_department", queue.department):
        raise Http404("No such queue.")
    return queue


def queue_with_counts_for_viewer(*, user: Any, slug: str) -> Queue:
    """`queue_for_viewer`, with the counts `queues_for` gives each queue."""
    queues = queues_for(user=user, slug=slug)
    if not queues or not can(user, "esm.work_in_department", queues[0].department):
        raise Http404("No such queue.")
    return queues[0]


# Distinct queue lists and pages whose queries a process keeps built: about 2 KB each.
QUEUE_QUERIES_KEPT = 256


@functools.lru_cache(maxsize=QUEUE_QUERIES_KEPT)
def _queues_query(
    vendor: str, staff_of: tuple[int, ...], department_id: int | None, slug: str | None
) -> kept_queries.KeptInstances:
    """`queues_for`'s query, built once a process for a viewer's departments and the
    queues asked for: Django took about 3 ms to build and compile the breached count's
    clock, for under 1 ms in the database, on every queue page, the queue list and the
    staff's dashboard."""
    queues = Queue.objects.filter(department_id__in=staff_of)
    if department_id is not None:
        queues = queues.filter(department_id=department_id)
    if slug is not None:
        queues = queues.filter(slug=slug)
    task_state = department_target_sql(now=kept_queries.NOW, prefix="open_task__")
    counted = (
        # Joined on the open tasks only (the queue's urgency index finds them), not on every
        # task the queue ever held with the counts filtering them afterwards.
        queues.annotate(
            open_task=FilteredRelation(
                "tasks", condition=Q(tasks__state__in=FulfilmentTask.OPEN_STATES)
            )
        )
        .annotate(
            open_count=Count("open_task"),
            unclaimed_count=Count("open_task", filter=Q(open_task__assignee__isnull=True)),
            breached_count=Count("open_task", filter=Q(Exact(task_state, ClockState.BREACHED))),
        )
        .order_by("department__name", "name")
    )
    return kept_queries.kept_instances(counted, ["department"])


def urgent_task_ids(
    index: slice, *, viewer: Any, queue_id: int | None = None, assignee_id: int | None = None
) -> list[int]:
    """The ids of a slice of the open tasks `viewer` sees, of a queue or held by someone,
    most urgent first (`by_urgency`): a queue's unfiltered page, the tasks someone holds.
    The query's text is kept (`_urgent_task_ids_sql`)."""
    staff_of = tuple(sorted(staff_department_ids(viewer)))
    # An empty slice (the one page of an empty queue) or nothing the viewer may see.
    if not staff_of or (index.stop is not None and index.stop <= (index.start or 0)):
        return []
    query = urgent_task_ids_query(
        index, staff_of=staff_of, queue_id=queue_id, assignee_id=assignee_id
    )
    return [pk for (pk,) in kept_queries.rows_at(FulfilmentTask, query, now=clock.now())]


def urgent_task_ids_query(
    index: slice,
    *,
    staff_of: tuple[int, ...],
    queue_id: int | None = None,
    assignee_id: int | None = None,
) -> kept_queries.SqlWithParams:
    """`urgent_task_ids`' query, with `kept_queries.NOW` where it reads now (the bench times
    it alone, as the queue page runs it)."""
    return _urgent_task_ids_sql(
        kept_queries.vendor_of(FulfilmentTask),
        staff_of,
        queue_id,
        assignee_id,
        index.start,
        index.stop,
    )


@functools.lru_cache(maxsize=QUEUE_QUERIES_KEPT)
def _urgent_task_ids_sql(
    vendor: str,
    staff_of: tuple[int, ...],
    queue_id: int | None,
    assignee_id: int | None,
    start: int | None,
    stop: int | None,
) -> kept_queries.SqlWithParams:
    """Built once a process for a page of a queue's tasks or of someone's, and the
    departments its viewer is staff of (`FulfilmentTask.objects.visible_to`): Django took
    about 2 ms to build and compile its sort on the clock, more than the database takes
    to run it."""
    tasks = FulfilmentTask.objects.filter(department_id__in=staff_of).open()
    if queue_id is not None:
        tasks = tasks.filter(queue_id=queue_id)
    if assignee_id is not None:
        tasks = tasks.filter(assignee_id=assignee_id)
    tasks = tasks.by_urgency(now=kept_queries.NOW)
    return tasks.values_list("pk", flat=True)[start:stop].query.sql_with_params()


# What a row of a task list shows (services.templatetags.workspace.task_rows).
TASK_ROW_RELATIONS = (
    "service_request__requester",
    "service_request__catalog_item",
    "assignee",
    "department",
    "consult__from_department",
)


def queue_tasks(
    *,
    queue: Queue,
    viewer: Any,
    filters: Mapping[str, Any],
    agents: Iterable[tuple[int, str]] | None = None,
) -> QueueTaskFilter:
    """Open tasks of a queue, most urgent first, narrowed by the queue page's filters.

    Returns the filter set: `.qs` holds the tasks, `.form` the filters with their errors
    (an invalid filter is ignored, not fatal). `agents`, the department's agents when the
    caller already read them (`department_agent_names`), offered as the assignee filter's
    choices; otherwise they are read, once, when the filter is drawn or given a value.
    """

    @functools.cache
    def offered() -> Iterable[tuple[int, str]]:
        if agents is None:
            return department_agent_names(department=queue.department)
        return agents

    # Sorted by the filters' order (most urgent first by default).
    tasks = task_rows(viewer=viewer).filter(queue=queue)
    return QueueTaskFilter(filters, tasks, queue=queue, viewer=viewer, agents=offered)


def queue_tasks_paged(
    *, queue: Queue, viewer: Any, task_filter: QueueTaskFilter
) -> PagedByIds[FulfilmentTask]:
    """The queue's open tasks to read a page at a time: those its filters keep, or, with
    none given, every one, most urgent first, their ids' query kept (`urgent_task_ids`)
    and their count the queue's (`queues_for`)."""
    rows = functools.partial(task_rows_by_ids, viewer=viewer)
    if queue_filtered(task_filter.data):
        return PagedByIds(task_filter.qs, rows=rows)
    return PagedByIds(
        ids=functools.partial(urgent_task_ids, viewer=viewer, queue_id=queue.pk),
        count=queue.open_count,
        rows=rows,
    )


def task_rows(*, viewer: Any) -> QuerySet[FulfilmentTask]:
    """The open tasks `viewer` sees, with what a row of a task list shows and no sort."""
    return (
        FulfilmentTask.objects.visible_to(viewer)
        .with_case_hidden(viewer)
        .open()
        .select_related(*TASK_ROW_RELATIONS)
    )


def task_rows_by_ids(
    ids: list[int], *, viewer: Any, with_queue: bool = False
) -> list[FulfilmentTask]:
    """The open tasks of `ids` that `viewer` sees, as `task_rows` reads them (and their
    queue, `with_queue`), in no order: a sorted page's rows (`PagedByIds(rows=...)`)."""
    staff_of = tuple(sorted(staff_department_ids(viewer)))
    if not ids or not viewer.is_active or not staff_of:
        return []
    query = _task_rows_query(kept_queries.vendor_of(FulfilmentTask), staff_of, len(ids), with_queue)
    marks = kept_queries.ids(len(ids))
    return kept_queries.instances_at(query, keys=dict(zip(marks, ids, strict=True)))


@functools.lru_cache(maxsize=QUEUE_QUERIES_KEPT)
def _task_rows_query(
    vendor: str, staff_of: tuple[int, ...], count: int, with_queue: bool
) -> kept_queries.KeptInstances:
    """`task_rows_by_ids`' query for `count` ids, built once a process for the departments
    its viewer is staff of: built, compiled and read through the ORM, a page's 25 rows
    took twice as long, on every page of a queue or of someone's tasks."""
    tasks = (
        FulfilmentTask.objects.filter(department_id__in=staff_of, pk__in=kept_queries.ids(count))
        .with_case_hidden_outside(staff_of)
        .open()
    )
    relations = (*TASK_ROW_RELATIONS, "queue") if with_queue else TASK_ROW_RELATIONS
    return kept_queries.kept_instances(tasks, relations)


def tasks_assigned_to(*, user: Any) -> PagedByIds[FulfilmentTask]:
    """The open tasks someone holds, across their queues, most urgent first, to read a
    slice at a time (their ids' query kept: `urgent_task_ids`)."""
    return PagedByIds(
        ids=functools.partial(urgent_task_ids, viewer=user, assignee_id=user.pk),
        rows=functools.partial(task_rows_by_ids, viewer=user, with_queue=True),
    )


def departments_managed_by(*, user: Any) -> QuerySet[Department]:
    return Department.objects.filter(
        pk__in=department_ids_with_role(user, DepartmentRole.Role.MANAGER)
    )


def task_page_extras(*, task: FulfilmentTask, viewer: Any) -> dict[str, Any]:
    """What the task page shows beside the task: its consults (asked, or the one it
    answers), the request's other tasks, its files, and the department's canned replies
    filled in for this request. Of a hidden case (`services.view_task_case`), only the
    consult this task answers."""
    service_request = task.service_request
    consult = task_consult_for_viewer(task=task)
    vendor = kept_queries.vendor_of(FulfilmentTask)
    consults = {
        "consult": consult,
        "asking_task_visible": consult is not None
        and can(viewer, "services.view_task_case", consult.asking_task),
        "consults_asked": kept_queries.instances_at(
            _consults_asked_query(vendor), keys={kept_queries.ID: task.pk}
        ),
    }
    if not can(viewer, "services.view_task_case", task):
        return {**consults, "other_tasks": [], "attachments": [], "canned_replies": []}
    request_mark, task_mark = kept_queries.ids(2)
    return {
        **consults,
        "other_tasks": kept_queries.instances_at(
            _other_tasks_query(vendor),
            keys={request_mark: service_request.pk, task_mark: task.pk},
        ),
        "attachments": kept_queries.instances_at(
            _attachments_query(vendor), keys={kept_queries.ID: service_request.pk}
        ),
        "canned_replies": [
            {"title": reply.title, "text": reply.render(service_request)}
            for reply in kept_queries.instances_at(
                _canned_replies_query(vendor), keys={kept_queries.ID: task.department_id}
            )
        ],
    }


# The task page's reads beside its task, kept built (`esm.kept_queries`): through the ORM,
# building and compiling them took longer than PostgreSQL took to run them, at every visit.


@functools.lru_cache(maxsize=4)
def _consults_asked_query(vendor: str) -> kept_queries.KeptInstances:
    """The consults a task asked (`ID`), oldest first, with who asked, who answered and
    who holds the consult's task."""
    consults = Consult.objects.filter(asking_task_id=kept_queries.ID)
    return kept_queries.kept_instances(
        consults, ("to_department", "asked_by", "answered_by", "consult_task__assignee")
    )


@functools.lru_cache(maxsize=4)
def _other_tasks_query(vendor: str) -> kept_queries.KeptInstances:
    """The tasks of a request (the first of `ids(2)`) but one (the second), in their order,
    with their queue and holder."""
    service_request, task = kept_queries.ids(2)
    tasks = FulfilmentTask.objects.filter(service_request_id=service_request).exclude(pk=task)
    return kept_queries.kept_instances(tasks, ("queue", "assignee"))


@functools.lru_cache(maxsize=4)
def _attachments_query(vendor: str) -> kept_queries.KeptInstances:
    """The files of a request (`ID`), in their order."""
    return kept_queries.kept_instances(
        Attachment.objects.filter(service_request_id=kept_queries.ID), ()
    )


@functools.lru_cache(maxsize=4)
def _canned_replies_query(vendor: str) -> kept_queries.KeptInstances:
    """A department's (`ID`) canned replies, in their order."""
    return kept_queries.kept_instances(
        CannedReply.objects.filter(department_id=kept_queries.ID), ()
    )


@functools.lru_cache(maxsize=4)
def _queues_with_departments_query(vendor: str) -> kept_queries.KeptInstances:
    """Every queue with its department, by department and name (`task_destinations`)."""
    return kept_queries.kept_instances(
        Queue.objects.order_by("department__name", "name"), ("department",)
    )


TASK_ENDINGS = [EventKind.RESOLVED, EventKind.HANDED_OFF, EventKind.SENT_BACK, EventKind.CANCELLED]


def task_ending(*, task: FulfilmentTask, viewer: Any) -> dict[str, Any] | None:
    """How a finished task ended, for its page (None while it is open): the event that
    ended it (its actor and time), what was written with it (the resolution, the handoff's
    reason, what was missing) and, after a handoff or a send-back, the task that carries
    the work on, with whether the viewer may open it."""
    if task.is_open:
        return None
    event = (
        Event.objects.filter(
            subject_type=FulfilmentTask._meta.label_lower, subject_id=task.pk, kind__in=TASK_ENDINGS
        )
        .select_related("actor", "from_department", "to_department")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if event is None:
        return None
    ending: dict[str, Any] = {"event": event, "kind": event.kind, "text": "", "other": None}
    if event.kind == EventKind.RESOLVED:
        ending["text"] = task.resolution
    elif event.kind in (EventKind.HANDED_OFF, EventKind.SENT_BACK):
        other_pk = event.payload.get("to_task")
        ending["text"] = event.payload.get(
            "reason" if event.kind == EventKind.HANDED_OFF else "missing", ""
        )
        ending["other"] = (
            FulfilmentTask.objects.select_related("queue", "department").filter(pk=other_pk).first()
        )
        ending["other_visible"] = (
            FulfilmentTask.objects.visible_to(viewer).filter(pk=other_pk).exists()
        )
    else:
        # Cancelled with its request: the request's reason, when it has one.
        ending["text"] = task.service_request.resolution
    return ending


def task_consult_for_viewer(*, task: FulfilmentTask) -> Consult | None:
    """The consult `task` answers (None for an ordinary task); `task_for_viewer` loads it."""
    return task.consult_answered


def consult_queues(*, task: FulfilmentTask) -> QuerySet[Queue]:
    """Where a task's department may ask a question: the queues of every other department.
    (Even on a confidential case: the consulted department sees only the question.)"""
    return (
        Queue.objects.exclude(department_id=task.department_id)
        .select_related("department")
        .order_by("department__name", "name")
    )


def consult_timeline(*, consult: Consult) -> list[Event]:
    """The events of a consult and of its task, oldest first: all of a hidden case that
    the consulted department may read."""
    task_label = FulfilmentTask._meta.label_lower
    return list(
        Event.objects.filter(
            Q(subject_type=Consult._meta.label_lower, subject_id=consult.pk)
            | Q(subject_type=task_label, subject_id=consult.consult_task_id)
        )
        .select_related("actor", "department", "from_department", "to_department")
        .order_by("occurred_at", "id")
    )


def task_for_viewer(*, user: Any, pk: int) -> FulfilmentTask:
    """One task with what its page shows; 404 for anyone who is not staff of its department."""
    staff_of = tuple(sorted(staff_department_ids(user)))
    if not user.is_active or not staff_of:
        raise Http404("No such task.")
    query = _task_page_query(kept_queries.vendor_of(FulfilmentTask), staff_of)
    found = kept_queries.instances_at(query, keys={kept_queries.ID: pk})
    if not found:
        raise Http404("No such task.")
    return found[0]


# What the task page shows of a task (`task_for_viewer`).
TASK_PAGE_RELATIONS = (
    "queue",
    "department",
    "assignee",
    "handed_off_from__department",
    "service_request__catalog_item__service",
    "service_request__requester__profile",
    "service_request__raised_by",
    "service_request__department",
    "consult__from_department",
    "consult__to_department",
    "consult__asked_by",
    "consult__answered_by",
    "consult__asking_task__department",
)


@functools.lru_cache(maxsize=QUEUE_QUERIES_KEPT)
def _task_page_query(vendor: str, staff_of: tuple[int, ...]) -> kept_queries.KeptInstances:
    """`task_for_viewer`'s query, built once a process for the departments its viewer is
    staff of (`FulfilmentTask.objects.visible_to`): Django took four times as long to build
    and compile its twenty joins, at every visit, as PostgreSQL took to run them."""
    task = FulfilmentTask.objects.filter(department_id__in=staff_of, pk=kept_queries.ID)
    return kept_queries.kept_instances(task, TASK_PAGE_RELATIONS)


def department_agents(*, department: Department | int) -> QuerySet[Any]:
    """People who may be assigned the department's tasks."""
    # A semi-join, not a join made DISTINCT: counted for a page, a DISTINCT query counts
    # its rows with every annotation of theirs computed.
    staff = DepartmentRole.objects.filter(
        department=department,
        role__in=[DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER],
    )
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=staff.values("user"))
        .order_by("first_name", "last_name", "username")
    )


def department_agent_names(*, department: Department) -> list[tuple[int, str]]:
    """(id, full name or username) of `department_agents`, in their order, read as plain
    values: a large department's hundreds of people are offered on each of its queue and
    task pages, and reading them as whole people was most of the lists' cost."""
    User = get_user_model()
    people = kept_queries.rows_at(
        User, _department_agent_names_sql(kept_queries.vendor_of(User), department.pk)
    )
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in people]


@functools.lru_cache(maxsize=QUEUE_QUERIES_KEPT)
def _department_agent_names_sql(vendor: str, department_id: int) -> kept_queries.SqlWithParams:
    """`department_agent_names`' query, built once a process for a department: every queue
    and task page of the department reads it."""
    people = department_agents(department=department_id).values_list(
        "pk", "first_name", "last_name", "username"
    )
    return people.query.sql_with_params()


def task_destinations(*, task: FulfilmentTask) -> tuple[list[Queue], list[Queue]]:
    """The task page's `handoff_queues` and `consult_queues`, both from one read of the
    queues (they are few; the page offers both lists)."""
    queues = kept_queries.instances_at(
        _queues_with_departments_query(kept_queries.vendor_of(Queue))
    )
    confidential = task.service_request.is_confidential
    handoff = [
        queue
        for queue in queues
        if queue.pk != task.queue_id
        and (not confidential or queue.department_id == task.service_request.department_id)
    ]
    consult = [queue for queue in queues if queue.department_id != task.department_id]
    return handoff, consult


def handoff_queues(*, task: FulfilmentTask) -> QuerySet[Queue]:
    """Where a task may be handed: any other queue; a confidential case stays in-department."""
    queues = Queue.objects.exclude(pk=task.queue_id).select_related("department")
    if task.service_request.is_confidential:
        queues = queues.filter(department_id=task.service_request.department_id)
    return queues.order_by("department__name", "name")


def department_overview(
    *, department: Department, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The manager's view: backlog by age, SLA trouble, work per agent, handoffs this week.

    Every figure is one aggregate query, whatever the size of the backlog.
    """
    now = now or clock.now()
    week_start = now - dt.timedelta(days=7)
    # Each agent's open tasks and this week's done ones, counted through the assignee index
    # (assignee, state, done_at): never every task an agent ever held.
    own_tasks = FulfilmentTask.objects.filter(assignee=OuterRef("pk"), department=department)
    per_agent = department_agents(department=department).annotate(
        open_tasks=count_of(own_tasks.filter(state__in=FulfilmentTask.OPEN_STATES)),
        done_this_week=count_of(
            own_tasks.filter(state=FulfilmentTask.State.DONE, done_at__gte=week_start)
        ),
    )
    handoffs = Event.objects.filter(
        kind__in=[EventKind.HANDED_OFF, EventKind.SENT_BACK], occurred_at__gte=week_start
    ).aggregate(
        handed_in=Count("id", filter=Q(kind=EventKind.HANDED_OFF, to_department=department)),
        handed_out=Count("id", filter=Q(kind=EventKind.HANDED_OFF, from_department=department)),
        sent_back_in=Count("id", filter=Q(kind=EventKind.SENT_BACK, to_department=department)),
        sent_back_out=Count("id", filter=Q(kind=EventKind.SENT_BACK, from_department=department)),
    )
    return {
        **department_backlog(department=department, now=now),
        "per_agent": per_agent,
        "handoffs": handoffs,
    }


def department_backlog(*, department: Department, now: dt.datetime | None = None) -> dict[str, Any]:
    """The department's open tasks by age (`backlog`, `backlog_total`), by the state of
    their department target (`sla`: breached, at risk, paused) and unclaimed: one pass
    over the open tasks."""
    now = now or clock.now()
    age_filters = {}
    lower = None
    for index, (days, _) in enumerate(AGE_BUCKETS):
        bucket = Q()
        if lower is not None:
            bucket &= Q(created_at__lte=now - dt.timedelta(days=lower))
        if days is not None:
            bucket &= Q(created_at__gt=now - dt.timedelta(days=days))
        age_filters[f"age_{index}"] = Count("id", filter=bucket)
        lower = days
    # With only the clock it counts by (each clock is a CASE Django takes milliseconds to
    # build, and the end-to-end one joins every task's request), grouped by its state: a
    # count filtered on the state would write the whole CASE out again in each filter.
    groups = (
        FulfilmentTask.objects.filter(department=department)
        .open()
        .with_clock("sla_state", now=now)
        .values("sla_state")
        .annotate(
            **age_filters, tasks=Count("id"), unclaimed=Count("id", filter=Q(assignee__isnull=True))
        )
        .order_by()
    )
    counts: Counter[str] = Counter()
    tasks_by_state: dict[str, int] = {}
    for group in groups:
        counts.update({name: group[name] for name in [*age_filters, "unclaimed"]})
        tasks_by_state[group["sla_state"]] = group["tasks"]
    backlog = {label: counts[f"age_{index}"] for index, (_, label) in enumerate(AGE_BUCKETS)}
    return {
        "backlog": backlog,
        "backlog_total": sum(backlog.values()),
        "sla": {
            name: tasks_by_state.get(state, 0)
            for name, state in (
                ("breached", ClockState.BREACHED),
                ("at_risk", ClockState.AT_RISK),
                ("paused", ClockState.PAUSED),
            )
        },
        "unclaimed": counts["unclaimed"],
    }


# --- Fulfilment progress and plans ----------------------------------------------------------


def request_progress(*, service_request: ServiceRequest) -> list[dict[str, Any]]:
    """The request's work across departments, in plain words, for the employee's page.

    With a fulfilment plan: each step, done / with which department now / next / not
    needed. Without one: each task and the department that has it.
    """
    step_runs = (
        list(
            StepRun.objects.filter(run__service_request=service_request)
            .select_related("department", "task__department")
            .order_by("position", "id")
        )
        if _may_have_run(service_request)
        else []
    )
    if step_runs:
        return [_step_progress(step_run) for step_run in step_runs]
    # A consult is a question between departments; the asking task, waiting on it, says so.
    tasks = list(
        service_request.tasks.filter(consult__isnull=True)
        .select_related("department")
        .order_by("created_at", "id")
    )
    # A handoff's two tasks: the one that passed the work on says to whom.
    received_by = {task.handed_off_from_id: task for task in tasks if task.handed_off_from_id}
    return [
        _task_progress(task, received_by.get(task.pk))
        for task in tasks
        if task.state != FulfilmentTask.State.CANCELLED
    ]


def _may_have_run(service_request: ServiceRequest) -> bool:
    """False only when the request was read with its automation run (`request_for_viewer`)
    and has none: most requests have no plan, and their page then reads no steps."""
    run = ServiceRequest._meta.get_field("automation_run")
    return not run.is_cached(service_request) or run.get_cached_value(service_request) is not None


TASK_PROGRESS = {
    FulfilmentTask.State.QUEUED: "Waiting to be picked up",
    FulfilmentTask.State.IN_PROGRESS: "Being worked on",
    FulfilmentTask.State.WAITING_ON_EMPLOYEE: "Waiting for your answer",
    FulfilmentTask.State.WAITING_ON_DEPARTMENT: "Waiting on another department",
    FulfilmentTask.State.HANDED_OFF: "Passed on",
    FulfilmentTask.State.DONE: "Done",
}


def _task_progress(task: FulfilmentTask, received_by: FulfilmentTask | None) -> dict[str, Any]:
    status = TASK_PROGRESS.get(task.state, task.get_state_display())
    if task.state == FulfilmentTask.State.HANDED_OFF and received_by is not None:
        status = f"Passed on to {received_by.department.name}"
    elif task.state == FulfilmentTask.State.QUEUED:
        status = f"Waiting to be picked up in {task.department.name}"
    return {
        "name": task.title,
        "department": task.department.name,
        "status": status,
        "current": task.is_open,
        "next": False,
        "awaiting_approval": False,
    }


def _step_progress(step_run: StepRun) -> dict[str, Any]:
    state = step_run.state
    department = step_run.department.name
    if step_run.task is not None:
        department = step_run.task.department.name
    status = {
        StepRun.State.WAITING: "Next, once the earlier steps are done",
        StepRun.State.PENDING: "Starting",
        StepRun.State.RUNNING: "Running automatically",
        StepRun.State.SUCCEEDED: "Done",
        StepRun.State.SKIPPED: "Not needed",
        StepRun.State.CANCELLED: "Cancelled",
    }.get(state, "")
    if state == StepRun.State.WITH_PEOPLE:
        approver = step_run.result.get("approver")
        waiting_for_approval = step_run.result.get("awaiting_approval")
        if waiting_for_approval:
            status = f"Waiting for approval from {approver}"
        elif step_run.task is not None and step_run.task.state != FulfilmentTask.State.IN_PROGRESS:
            # Queued, or waiting on the employee or another department: say which.
            status = _task_progress(step_run.task, None)["status"]
        else:
            status = f"Being handled by {department}"
    return {
        "name": step_run.name,
        "department": department,
        "status": status,
        "current": state
        in (StepRun.State.PENDING, StepRun.State.RUNNING, StepRun.State.WITH_PEOPLE),
        "next": state == StepRun.State.WAITING,
        "awaiting_approval": state == StepRun.State.WITH_PEOPLE
        and bool(step_run.result.get("awaiting_approval")),
    }


def plan_layout(*, item: CatalogItem) -> dict[str, Any]:
    """An item's plan laid out as a graph: each step in the column after its last dependency.

    Returns columns of steps and the edges between them, enough for a page to draw it.
    """
    steps = list(
        PlanStep.objects.filter(item=item)
        .select_related("department", "queue")
        .prefetch_related("after")
        .order_by("position", "id")
    )
    column: dict[int, int] = {}
    remaining = {step.pk: step for step in steps}
    while remaining:
        placed = [
            step
            for step in remaining.values()
            if all(earlier.pk in column for earlier in step.after.all())
        ]
        if not placed:  # a cycle: put what is left in one last column rather than loop
            placed = list(remaining.values())
        for step in placed:
            earlier = [column[e.pk] for e in step.after.all() if e.pk in column]
            column[step.pk] = max(earlier, default=-1) + 1
            del remaining[step.pk]
    columns: list[list[PlanStep]] = [[] for _ in range(max(column.values(), default=-1) + 1)]
    for step in steps:
        columns[column[step.pk]].append(step)
    edges = [(earlier.pk, step.pk) for step in steps for earlier in step.after.all()]
    return {"columns": columns, "edges": edges, "steps": steps}
