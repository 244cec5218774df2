"""Every write of the services app: one transaction each, events recorded alongside.

Callers (views, API, Celery tasks) check who may act through `services.permissions`
first; the actions check the state rules (what may happen now) themselves, under a row
lock, because only there is the state known to be current.
"""

from services.actions._base import ActionRefused, StaleVersion
from services.actions.automation import run_start, step_run_execute, step_runs_sweep
from services.actions.consults import consult_answer, consult_withdraw, task_consult
from services.actions.knowledge import (
    article_draft_from_task,
    article_feedback_record,
    article_update,
    article_view_record,
    form_start_record,
)
from services.actions.mail import (
    inbound_message_keep,
    inbound_message_receive,
    inbound_messages_mark_looked_at,
)
from services.actions.portfolio import service_portfolio_update
from services.actions.requests import (
    approval_decide,
    catalog_items_count_recent,
    comment_add,
    reopen_deadline,
    service_request_cancel,
    service_request_rate,
    service_request_reopen,
    service_request_resolve,
    service_request_submit,
    service_requests_close_sweep,
)
from services.actions.reuse import (
    catalog_item_copy,
    catalog_item_publish,
    open_parts_resolve,
)
from services.actions.tasks import (
    sla_breach_sweep,
    task_ask,
    task_assign,
    task_claim,
    task_hand_off,
    task_note,
    task_open_for_request,
    task_reply,
    task_resolve,
    task_send_back,
    task_set_priority,
    task_take_next,
    task_unassign,
    tasks_assign_bulk,
    tasks_set_priority_bulk,
)

__all__ = [
    "ActionRefused",
    "StaleVersion",
    "approval_decide",
    "article_draft_from_task",
    "article_feedback_record",
    "article_update",
    "article_view_record",
    "catalog_item_copy",
    "catalog_item_publish",
    "catalog_items_count_recent",
    "comment_add",
    "consult_answer",
    "consult_withdraw",
    "form_start_record",
    "inbound_message_keep",
    "inbound_message_receive",
    "inbound_messages_mark_looked_at",
    "open_parts_resolve",
    "reopen_deadline",
    "run_start",
    "service_portfolio_update",
    "service_request_cancel",
    "service_request_rate",
    "service_request_reopen",
    "service_request_resolve",
    "service_request_submit",
    "service_requests_close_sweep",
    "sla_breach_sweep",
    "step_run_execute",
    "step_runs_sweep",
    "task_ask",
    "task_assign",
    "task_claim",
    "task_consult",
    "task_hand_off",
    "task_note",
    "task_open_for_request",
    "task_reply",
    "task_resolve",
    "task_send_back",
    "task_set_priority",
    "task_take_next",
    "task_unassign",
    "tasks_assign_bulk",
    "tasks_set_priority_bulk",
]
