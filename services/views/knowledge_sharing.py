"""Knowledge sharing, recognised: the person's own figures on the workspace, and each
department's page thanking its people by name (`services.knowledge_sharing`).

A department's page is read by its staff and managers, executives and admins
(`services.view_knowledge_sharing`); anyone else is refused (403).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from esm.models import Department
from esm.permissions import can
from esm.workspace import WorkspaceSection
from services import knowledge_sharing

PEOPLE_PER_PAGE = 25
DEPARTMENTS_PER_PAGE = 25


def workspace_section(user: Any) -> WorkspaceSection | None:
    """The workspace's "Your knowledge sharing", for staff: three queries."""
    if not can(user, "esm.work_queues"):
        return None
    since, until = knowledge_sharing.recent()
    mine = knowledge_sharing.knowledge_sharing_by_person(people=[user.pk], since=since, until=until)
    return WorkspaceSection(
        "services/_knowledge_sharing_mine.html",
        {
            "sharing": mine[user.pk],
            "since": since,
            "days": knowledge_sharing.RECENT_DAYS,
        },
    )


@login_required
@require_GET
def knowledge_sharing_home(request: HttpRequest) -> HttpResponse:
    """The departments the person may read, with their totals; straight to the one when
    there is only one."""
    if not can(request.user, "services.browse_knowledge_sharing"):
        raise PermissionDenied
    departments = knowledge_sharing.knowledge_sharing_departments_visible_to(request.user)
    page = Paginator(departments, DEPARTMENTS_PER_PAGE).get_page(request.GET.get("page"))
    if page.paginator.count == 1:
        return redirect("knowledge_sharing_department", slug=page[0].slug)
    since, until = knowledge_sharing.recent()
    sharing = knowledge_sharing.knowledge_sharing_by_department(
        department_ids=[department.pk for department in page], since=since, until=until
    )
    return render(
        request,
        "services/knowledge_sharing.html",
        {
            "page": page,
            "rows": [(department, sharing[department.pk]) for department in page],
            "since": since,
            "days": knowledge_sharing.RECENT_DAYS,
        },
    )


@login_required
@require_GET
def knowledge_sharing_department(request: HttpRequest, slug: str) -> HttpResponse:
    """A department's totals and its people, the biggest contribution first."""
    department = get_object_or_404(Department, slug=slug)
    if not can(request.user, "services.view_knowledge_sharing", department):
        raise PermissionDenied
    since, until = knowledge_sharing.recent()
    totals = knowledge_sharing.knowledge_sharing_by_department(
        department_ids=[department.pk], since=since, until=until
    )[department.pk]
    people = knowledge_sharing.knowledge_sharing_people(department_ids=[department.pk])
    ranking = knowledge_sharing.knowledge_sharing_ranking(people=people, since=since, until=until)
    page = Paginator(ranking, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "services/knowledge_sharing_department.html",
        {
            "department": department,
            "totals": totals,
            "page": page,
            "since": since,
            "days": knowledge_sharing.RECENT_DAYS,
            "rank_offset": page.start_index() - 1 if ranking else 0,
        },
    )
