"""The permission matrix as data: who (a role) asking for what (an object on a surface)
gets which answer, and whether the object's own words are in it.

One row per (surface, route, object); one column per role, in `ROLES`' order. A cell is
`S` (200, the object's content shown), `H` (200, the content absent: a list or a page that
leaves the object out), `302` (off to sign in), or the status alone (`403`, `404`, ...).
What may not be seen answers 404; a page that exists for everyone but the object answers
`H`. The object's content is recognised by a canary string of the world (`world.py`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin

from esm.models import Event
from services.admin import ConfidentialCaseAdmin
from tests.security import world as w

# employee (the requester), line_manager (the employee's), it_agent (fulfils the IT request;
# another department for the HR case), hr_agent (fulfils the HR case), facilities_agent
# (another department for both), it_manager (IT's department manager), executive,
# staff_admin (Django admin, no department role), superuser (no HR role), anonymous, and
# scim (the provisioning client's bearer token, no session).
ROLES = (
    "employee",
    "line_manager",
    "it_agent",
    "hr_agent",
    "facilities_agent",
    "it_manager",
    "executive",
    "staff_admin",
    "superuser",
    "anonymous",
    "scim",
)


@dataclass(frozen=True)
class Row:
    surface: str
    route: str  # the URL pattern's name, as the coverage test finds it
    thing: str  # what is asked about, for the test id
    url: Callable[[Any], str]
    canary: str | Callable[[Any], str]
    cells: str  # one cell per role, space separated
    method: str = "get"

    @property
    def expected(self) -> dict[str, str]:
        cells = self.cells.split()
        assert len(cells) == len(ROLES), f"{self.route}/{self.thing}: {len(cells)} cells"
        return dict(zip(ROLES, cells, strict=True))


def _req(case: str) -> Callable[[Any], str]:
    return lambda world: getattr(world, case).service_request.reference


IT, HR, NOTE, DRAFT = w.IT_CANARY, w.HR_CANARY, w.NOTE_CANARY, w.DRAFT_CANARY
FINDING = w.FINDING_CANARY


def it_ref(world: Any) -> str:
    return world.it_case.service_request.reference


def hr_ref(world: Any) -> str:
    return world.hr_case.service_request.reference


def _hr_event_pk(world: Any) -> int:
    return Event.objects.filter(reference=hr_ref(world), is_confidential=True).values_list(
        "pk", flat=True
    )[0]


#                                             emp  lmgr it   hr   fac  itm  exec adm  su   anon scim
ROWS = [
    # -- pages ---------------------------------------------------------------------------
    Row("page", "home", "search-draft", lambda x: "/?q=Draft", DRAFT,
        "H    H    H    H    H    H    H    H    H    302  302"),
    Row("page", "my_requests", "list", lambda x: "/requests/", HR,
        "S    H    H    H    H    H    H    H    H    302  302"),
    Row("page", "my_requests", "search-hr", lambda x: "/requests/?search=Help", HR,
        "S    H    H    H    H    H    H    H    H    302  302"),
    Row("page", "request_detail", "it-request", lambda x: f"/requests/{it_ref(x)}/", IT,
        "S    404  S    404  404  S    404  404  404  302  302"),
    Row("page", "request_detail", "hr-case", lambda x: f"/requests/{hr_ref(x)}/", HR,
        "S    404  404  S    404  404  404  404  404  302  302"),
    Row("page", "request_detail", "it-note", lambda x: f"/requests/{it_ref(x)}/", NOTE,
        "H    404  S    404  404  S    404  404  404  302  302"),
    Row("page", "attachment_download", "it-file",
        lambda x: f"/attachments/{x.it_case.attachment_id}/", IT,
        "S    404  S    404  404  S    404  404  404  302  302"),
    Row("page", "attachment_download", "hr-file",
        lambda x: f"/attachments/{x.hr_case.attachment_id}/", HR,
        "S    404  404  S    404  404  404  404  404  302  302"),
    Row("page", "workspace", "home", lambda x: "/work/", HR,
        "403  403  H    H    H    H    403  403  403  302  302"),
    Row("page", "queue_list", "list", lambda x: "/queues/", HR,
        "403  403  H    S    H    H    403  403  403  302  302"),
    Row("page", "queue_detail", "it-queue", lambda x: "/queues/it-desk/", IT,
        "404  404  S    404  404  S    404  404  404  302  302"),
    Row("page", "queue_detail", "it-queue-hr", lambda x: "/queues/it-desk/", HR,
        "404  404  H    404  404  H    404  404  404  302  302"),
    Row("page", "queue_detail", "hr-queue", lambda x: "/queues/hr-cases/", HR,
        "404  404  404  S    404  404  404  404  404  302  302"),
    Row("page", "task_detail", "it-task", lambda x: f"/tasks/{x.it_case.task.pk}/", IT,
        "404  404  S    404  404  S    404  404  404  302  302"),
    Row("page", "task_detail", "hr-task", lambda x: f"/tasks/{x.hr_case.task.pk}/", HR,
        "404  404  404  S    404  404  404  404  404  302  302"),
    Row("page", "task_detail", "consult-task",
        lambda x: f"/tasks/{x.consult.consult_task_id}/", HR,
        "404  404  H    404  404  H    404  404  404  302  302"),
    Row("page", "article_list", "drafts", lambda x: "/knowledge/", DRAFT,
        "403  403  S    H    H    S    403  403  403  302  302"),
    Row("page", "article_detail", "draft", lambda x: "/knowledge/draft-article/", DRAFT,
        "404  404  S    404  404  S    404  404  404  302  302"),
    Row("page", "article_edit", "draft", lambda x: "/knowledge/draft-article/edit/", DRAFT,
        "404  404  S    404  404  S    404  404  404  302  302"),
    Row("page", "valuestream_list", "list", lambda x: "/streams/", HR,
        "404  404  H    H    H    H    H    H    H    302  302"),
    Row("page", "valuestream_map", "hr-case", lambda x: "/streams/onboarding/", HR,
        "404  404  H    H    H    H    H    H    H    302  302"),
    Row("page", "valuestream_cases", "it-request", lambda x: "/streams/onboarding/cases/", IT,
        "404  404  S    H    H    S    H    H    H    302  302"),
    Row("page", "valuestream_cases", "hr-case", lambda x: "/streams/onboarding/cases/", hr_ref,
        "404  404  H    S    H    H    H    H    H    302  302"),
    Row("page", "journey_list", "list", lambda x: "/journeys/", HR,
        "404  404  H    H    H    H    H    H    H    302  302"),
    Row("page", "journey_map", "hr-case", lambda x: "/journeys/new-hire/", HR,
        "404  404  H    H    H    H    H    H    H    302  302"),
    Row("page", "dashboards", "list", lambda x: "/dashboards/", HR,
        "H    H    H    H    H    H    H    H    H    302  302"),
    Row("page", "report_dashboard", "hr-case", lambda x: "/dashboards/exec-report/", HR,
        "404  404  404  404  404  H    H    H    H    302  302"),
    Row("export", "report_export", "hr-case", lambda x: "/dashboards/exec-report/export.csv", HR,
        "404  404  404  404  404  H    H    H    H    302  302"),
    Row("page", "collaboration_map", "hr-case", lambda x: "/reporting/collaboration/", HR,
        "403  403    H    H    H    H    H    H    H    302  302"),
    Row("page", "approvals", "list", lambda x: "/approvals/", HR,
        "H    H    H    H    H    H    H    H    H    302  302"),
    Row("page", "audit_log", "hr-case", lambda x: "/audit/", HR,
        "403  403  403  403  403  403  403  H    H    302  302"),
    # -- API -----------------------------------------------------------------------------
    Row("api", "api:requests", "list", lambda x: "/api/v1/requests/", HR,
        "S    H    H    H    H    H    H    H    H    403  403"),
    Row("api", "api:requests", "search-hr", lambda x: "/api/v1/requests/?search=Help", HR,
        "S    H    H    H    H    H    H    H    H    403  403"),
    Row("api", "api:request", "it-request", lambda x: f"/api/v1/requests/{it_ref(x)}/", IT,
        "S    404  S    404  404  S    404  404  404  403  403"),
    Row("api", "api:request", "hr-case", lambda x: f"/api/v1/requests/{hr_ref(x)}/", HR,
        "S    404  404  S    404  404  404  404  404  403  403"),
    Row("api", "api:request-comments", "it-request",
        lambda x: f"/api/v1/requests/{it_ref(x)}/comments/", IT,
        "S    404  S    404  404  S    404  404  404  403  403"),
    Row("api", "api:request-comments", "it-note",
        lambda x: f"/api/v1/requests/{it_ref(x)}/comments/", NOTE,
        "H    404  S    404  404  S    404  404  404  403  403"),
    Row("api", "api:request-comments", "hr-case",
        lambda x: f"/api/v1/requests/{hr_ref(x)}/comments/", HR,
        "S    404  404  S    404  404  404  404  404  403  403"),
    Row("api", "api:queues", "list", lambda x: "/api/v1/queues/", HR,
        "H    H    H    H    H    H    H    H    H    403  403"),
    Row("api", "api:queue-tasks", "it-queue", lambda x: "/api/v1/queues/it-desk/tasks/", IT,
        "404  404  S    404  404  S    404  404  404  403  403"),
    Row("api", "api:queue-tasks", "hr-queue", lambda x: "/api/v1/queues/hr-cases/tasks/", HR,
        "404  404  404  S    404  404  404  404  404  403  403"),
    Row("api", "api:task", "it-task", lambda x: f"/api/v1/tasks/{x.it_case.task.pk}/", IT,
        "404  404  S    404  404  S    404  404  404  403  403"),
    Row("api", "api:task", "hr-task", lambda x: f"/api/v1/tasks/{x.hr_case.task.pk}/", HR,
        "404  404  404  S    404  404  404  404  404  403  403"),
    Row("api", "api:task", "consult-task",
        lambda x: f"/api/v1/tasks/{x.consult.consult_task_id}/", HR,
        "404  404  H    404  404  H    404  404  404  403  403"),
    Row("export", "valuestreams-api:stream-export-csv", "hr-case",
        lambda x: "/api/v1/streams/onboarding/export.csv", hr_ref,
        "404  404  H    S    H    H    H    H    H    403  403"),
    Row("export", "valuestreams-api:stream-export-xes", "hr-case",
        lambda x: "/api/v1/streams/onboarding/export.xes", hr_ref,
        "404  404  H    S    H    H    H    H    H    403  403"),
    Row("export", "valuestreams-api:stream-export-csv", "it-request",
        lambda x: "/api/v1/streams/onboarding/export.csv", it_ref,
        "404  404  S    H    H    S    H    H    H    403  403"),
    Row("api", "journeys-api:signals", "hr-case",
        lambda x: "/api/v1/journeys/new-hire/signals/", HR,
        "404  404  H    H    H    H    H    H    H    403  403"),
    Row("api", "journeys-api:findings", "finding",
        lambda x: "/api/v1/journeys/new-hire/findings/", FINDING,
        "404  404  S    S    S    S    S    S    S    403  403"),
    Row("api", "valuestreams-api:stream", "hr-case",
        lambda x: "/api/v1/streams/onboarding/", HR,
        "404  404  H    H    H    H    H    H    H    403  403"),
    # -- directory provisioning: the token only, and no case in it -----------------------
    Row("scim", "scim-users", "list", lambda x: "/scim/v2/Users", HR,
        "401  401  401  401  401  401  401  401  401  401  H"),
    # -- the Django admin ----------------------------------------------------------------
    Row("admin", "admin:services_servicerequest_changelist", "hr-case",
        lambda x: "/admin/services/servicerequest/", HR,
        "302  302  302  302  302  302  302  403  H    302  302"),
    Row("admin", "admin:services_servicerequest_changelist", "search-hr",
        lambda x: "/admin/services/servicerequest/?q=Help", HR,
        "302  302  302  302  302  302  302  403  H    302  302"),
    Row("admin", "admin:services_servicerequest_changelist", "it-request",
        lambda x: "/admin/services/servicerequest/", IT,
        "302  302  302  302  302  302  302  403  S    302  302"),
    Row("admin", "admin:services_servicerequest_change", "hr-case",
        lambda x: f"/admin/services/servicerequest/{x.hr_case.service_request.pk}/change/", HR,
        "302  302  302  302  302  302  302  404  404  302  302"),
    Row("admin", "admin:services_servicerequest_delete", "hr-case",
        lambda x: f"/admin/services/servicerequest/{x.hr_case.service_request.pk}/delete/", HR,
        "302  302  302  302  302  302  302  404  404  302  302"),
    Row("admin", "admin:services_servicerequest_history", "hr-case",
        lambda x: f"/admin/services/servicerequest/{x.hr_case.service_request.pk}/history/", HR,
        "302  302  302  302  302  302  302  404  404  302  302"),
    Row("admin", "admin:services_servicerequest_change", "unknown",
        lambda x: "/admin/services/servicerequest/987654/change/", HR,
        "302  302  302  302  302  302  302  404  404  302  302"),
    Row("admin", "admin:esm_event_change", "hr-case",
        lambda x: f"/admin/esm/event/{_hr_event_pk(x)}/change/", HR,
        "302  302  302  302  302  302  302  404  404  302  302"),
    Row("admin", "admin:services_servicerequest_change", "it-request",
        lambda x: f"/admin/services/servicerequest/{x.it_case.service_request.pk}/change/", IT,
        "302  302  302  302  302  302  302  403  S    302  302"),
    Row("admin", "admin:esm_event_changelist", "hr-case", lambda x: "/admin/esm/event/", HR,
        "302  302  302  302  302  302  302  403  H    302  302"),
    Row("admin", "admin:services_queue_delete", "hr-queue",
        lambda x: f"/admin/services/queue/{x.hr_queue.pk}/delete/", HR,
        "302  302  302  302  302  302  302  403  H    302  302"),
    Row("admin", "admin:auth_user_delete", "requester",
        lambda x: f"/admin/auth/user/{x.people['employee'].pk}/delete/", HR,
        "302  302  302  302  302  302  302  403  H    302  302"),
]  # fmt: skip

# Every write of the API on the HR case, by everyone: only HR's staff (and the requester,
# for the requester's own operations) get past "not found". An empty body: a write that
# gets that far is refused for its input (400) or its state (409), so nothing changes.
_HR_TASK_WRITES = [
    "claim", "assign", "unassign", "reply", "note", "ask", "consults", "answer", "resolve",
    "hand-off", "send-back", "priority",
]  # fmt: skip


def _hr_task_url(op: str) -> Callable[[Any], str]:
    return lambda x: f"/api/v1/tasks/{x.hr_case.task.pk}/{op}/"


_TASK_WRITE_CELLS = {
    "claim": "404  404  404  S    404  404  404  404  404  403  403",
    "unassign": "404  404  404  S    404  404  404  404  404  403  403",
}
ROWS += [
    Row(
        "api-write",
        f"api:task-{op}" if op != "consults" else "api:task-consult",
        "hr-task",
        _hr_task_url(op),
        HR,
        _TASK_WRITE_CELLS.get(op, "404  404  404  400  404  404  404  404  404  403  403"),
        method="post",
    )
    for op in _HR_TASK_WRITES
] + [
    Row(
        "api-write",
        "api:task-consult-answer",
        "consult-task",
        lambda x: f"/api/v1/tasks/{x.consult.consult_task_id}/answer/",
        HR,
        "404  404  400  404  404  400  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:task-consult-withdraw",
        "hr-task",
        lambda x: f"/api/v1/tasks/{x.hr_case.task.pk}/consults/{x.consult.pk}/withdraw/",
        HR,
        "404  404  404  S    404  404  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:queue-take-next",
        "hr-queue",
        lambda x: "/api/v1/queues/hr-cases/take-next/",
        HR,
        "404  404  404  204  404  404  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:request-comments",
        "hr-case",
        lambda x: f"/api/v1/requests/{hr_ref(x)}/comments/",
        HR,
        "400  404  404  400  404  404  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:request-cancel",
        "hr-case",
        lambda x: f"/api/v1/requests/{hr_ref(x)}/cancel/",
        HR,
        "S    404  404  403  404  404  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:request-rate",
        "hr-case",
        lambda x: f"/api/v1/requests/{hr_ref(x)}/rate/",
        HR,
        "400  404  404  403  404  404  404  404  404  403  403",
        method="post",
    ),
    Row(
        "api-write",
        "api:requests",
        "hr-item",
        lambda x: "/api/v1/requests/",
        HR,
        "400  400  400  400  400  400  400  400  400  403  403",
        method="post",
    ),
]

# The writes of owned work (a journey map's findings, a value stream's words): its owner
# (the IT manager) and admins get as far as the input; other readers are refused (403);
# who may not read the map or stream does not learn it exists (404).
ROWS += [
    Row("api-write", "journeys-api:findings", "finding",
        lambda x: "/api/v1/journeys/new-hire/findings/", FINDING,
        "404  404  403  403  403  400  403  400  400  403  403", method="post"),
    Row("api-write", "journeys-api:finding", "finding",
        lambda x: f"/api/v1/journeys/new-hire/findings/{x.finding.pk}/", FINDING,
        "404  404  403  403  403  S    403  S    S    403  403", method="patch"),
    Row("api-write", "valuestreams-api:stream", "hr-case",
        lambda x: "/api/v1/streams/onboarding/", HR,
        "404  404  403  403  403  H    403  H    H    403  403", method="patch"),
]  # fmt: skip

# The changelist of every admin that holds case content (the confidential case rule's
# admins): the HR case's words never in it, for the superuser either.
ROWS += [
    Row("admin", f"admin:{opts.app_label}_{opts.model_name}_changelist", "hr-case",
        (lambda url: lambda x: url)(f"/admin/{opts.app_label}/{opts.model_name}/"), HR,
        "302  302  302  302  302  302  302  403  H    302  302")
    for opts in (model._meta for model, model_admin in admin.site._registry.items()
                 if isinstance(model_admin, ConfidentialCaseAdmin)
                 and model._meta.model_name != "servicerequest")
] + [
    Row("admin", "admin:services_servicerequest_add", "form",
        lambda x: "/admin/services/servicerequest/add/", HR,
        "302  302  302  302  302  302  302  403  403  302  302"),
]  # fmt: skip
