"""Rules for the service catalog and requests; predicates of the core live in esm.permissions.

Each object rule here has a queryset twin (`CatalogItem.objects.entitled_to`,
`ServiceRequest.objects.visible_to`) used by lists, search and the API; tests hold the two
to the same answers.
"""

from typing import Any

import rules

from esm.permissions import (
    can,
    is_active_person,
    is_admin,
    is_agent,
    is_department_manager,
    is_executive,
    is_manager_of_department,
    is_staff_of_department,
)
from services import selectors
from services.models import (
    Approval,
    Article,
    CatalogItem,
    Consult,
    FulfilmentTask,
    Service,
    ServiceRequest,
)
from services.models.requests import approvals_for


@rules.predicate
def is_entitled_to_item(user: Any, item: CatalogItem | None) -> bool:
    if item is None:
        return False
    return CatalogItem.objects.entitled_to(user).filter(pk=item.pk).exists()


@rules.predicate
def is_requester(user: Any, service_request: ServiceRequest | None) -> bool:
    return service_request is not None and service_request.requester_id == user.pk


@rules.predicate
def raised_it(user: Any, service_request: ServiceRequest | None) -> bool:
    return service_request is not None and service_request.raised_by_id == user.pk


@rules.predicate
def is_fulfilling_staff(user: Any, service_request: ServiceRequest | None) -> bool:
    return service_request is not None and is_staff_of_department(user, service_request.department)


@rules.predicate
def is_confidential(user: Any, service_request: ServiceRequest | None) -> bool:
    return service_request is not None and service_request.is_confidential


@rules.predicate
def is_approver(user: Any, service_request: ServiceRequest | None) -> bool:
    if service_request is None:
        return False
    return (
        Approval.objects.filter(service_request=service_request)
        .filter(approvals_for(user))
        .exists()
    )


@rules.predicate
def may_decide_approval(user: Any, approval: Approval | None) -> bool:
    if approval is None or approval.state != Approval.State.PENDING:
        return False
    return Approval.objects.filter(pk=approval.pk).filter(approvals_for(user)).exists()


@rules.predicate
def is_party_to_approval(user: Any, approval: Approval | None) -> bool:
    """Nobody approves a request they raised or that is for them (separation of duties)."""
    if approval is None:
        return False
    service_request = approval.service_request
    return user.pk in (service_request.requester_id, service_request.raised_by_id)


@rules.predicate
def approves(user: Any) -> bool:
    # The selector reads once per user object and keeps the answer for the navigation's count.
    return selectors.approval_summary_for(user=user).approves


@rules.predicate
def is_staff_of_article_department(user: Any, article: Article | None) -> bool:
    return article is not None and is_staff_of_department(user, article.department)


@rules.predicate
def is_manager_of_article_department(user: Any, article: Article | None) -> bool:
    return article is not None and is_manager_of_department(user, article.department)


@rules.predicate
def is_staff_of_task_department(user: Any, task: FulfilmentTask | None) -> bool:
    return task is not None and is_staff_of_department(user, task.department)


@rules.predicate
def is_consult_on_confidential_case(user: Any, task: FulfilmentTask | None) -> bool:
    if task is None or not task.service_request.is_confidential:
        return False
    # `consult` is loaded with the task by the selectors; otherwise this is one query.
    return hasattr(task, "consult")


@rules.predicate
def is_staff_of_case_department(user: Any, task: FulfilmentTask | None) -> bool:
    return task is not None and is_staff_of_department(user, task.service_request.department)


@rules.predicate
def is_party_to_consult(user: Any, consult: Consult | None) -> bool:
    if consult is None:
        return False
    return is_staff_of_department(user, consult.from_department) or is_staff_of_department(
        user, consult.to_department
    )


@rules.predicate
def is_accountable_for_service(user: Any, service: Service | None) -> bool:
    return service is not None and user.is_authenticated and service.owner_id == user.pk


@rules.predicate
def is_manager_of_service_department(user: Any, service: Service | None) -> bool:
    return service is not None and is_manager_of_department(user, service.department)


rules.add_rule("services.request_item", is_active_person & is_entitled_to_item)
rules.add_rule(
    "services.view_service_request",
    is_active_person
    & (is_requester | is_fulfilling_staff | (~is_confidential & (raised_it | is_approver))),
)
# The people a request is for (or who raised it) act on it as its owner: comment, cancel,
# reopen, rate. Confidential cases are only ever raised by the person concerned.
rules.add_rule("services.own_service_request", is_active_person & (is_requester | raised_it))
rules.add_rule(
    "services.comment_service_request",
    is_active_person & (is_requester | raised_it | is_fulfilling_staff),
)
rules.add_rule("services.use_approvals", is_active_person & approves)
rules.add_rule(
    "services.decide_approval",
    is_active_person & may_decide_approval & ~is_party_to_approval,
)
# A task is seen by the staff of its department (`FulfilmentTask.objects.visible_to`).
# The case behind it (subject, answers, conversation, files, requester, other tasks) comes
# with it, except on a consult about a confidential case: the consulted department sees
# the question and its answer, never the case (the twin: `with_case_hidden`).
rules.add_rule("services.view_task", is_active_person & is_staff_of_task_department)
rules.add_rule(
    "services.view_task_case",
    is_active_person
    & is_staff_of_task_department
    & (~is_consult_on_confidential_case | is_staff_of_case_department),
)
rules.add_rule("services.view_consult", is_active_person & is_party_to_consult)

# Knowledge: the staff of an article's department write it (drafts, and sending them for
# review); its managers publish, or take an article back. Readers of drafts are the same
# staff (`selectors.article_for_reader`); employees only ever see published articles.
rules.add_rule("services.edit_article", is_active_person & is_staff_of_article_department)
rules.add_rule("services.publish_article", is_active_person & is_manager_of_article_department)

# Reuse: a department's managers (and admins) copy another department's catalog item into
# it, resolve the copy's department-specific parts and publish it.
rules.add_rule("services.copy_item_into", is_active_person & (is_admin | is_manager_of_department))

# The portfolio entry of a service (lifecycle, the work around it, fixed costs, value
# claims, the decision it waits for) is kept by its accountable owner, the managers of the
# department that provides it, and admins.
rules.add_rule(
    "services.change_service_portfolio",
    is_active_person & (is_admin | is_accountable_for_service | is_manager_of_service_department),
)

# Knowledge sharing (`services.knowledge_sharing`): a department's figures and the people it
# thanks are read by its staff and managers, executives and admins. Browsing asks whether
# the person reads any department's (the navigation's and the API's question: no query).
rules.add_rule(
    "services.view_knowledge_sharing",
    is_active_person & (is_executive | is_admin | is_staff_of_department),
)
rules.add_rule(
    "services.browse_knowledge_sharing",
    is_active_person & (is_executive | is_admin | is_agent | is_department_manager),
)


def article_statuses(user: Any, article: Article) -> list[str]:
    """The statuses `user` may save `article` with: none unless they may edit it.

    Publishing takes a manager; an agent's edit keeps a published article published (the
    department's staff own its wording), but only a manager makes a draft public.
    """
    if not can(user, "services.edit_article", article):
        return []
    statuses = [Article.Status.DRAFT, Article.Status.IN_REVIEW]
    if article.status == Article.Status.PUBLISHED or can(user, "services.publish_article", article):
        statuses.append(Article.Status.PUBLISHED)
    return statuses
