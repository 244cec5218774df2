"""The department managers' knowledge sharing, as a rollup (`SharingFigures`): each
department's figures over the last `RECENT_DAYS` days, and those of every member of staff
who shared something, computed by `services.knowledge_sharing` (one definition of each
figure) every quarter of an hour, so that the dashboard reads a few narrow rows instead of
composing and running the figures' correlated subqueries over 90 days of consults and
article reads on every visit.

A refresh upserts a row per department and per contributor, then removes the rows of people
who no longer shared anything: safe to run twice, and when two runs overlap every row left
is one of theirs.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, QuerySet

from esm.models import Department, DepartmentRole
from reporting.models import SharingFigures
from services import knowledge_sharing
from services.knowledge_sharing import KnowledgeSharing

FIGURES = knowledge_sharing.RANK_ORDER
RANK = tuple(f"-{figure}" for figure in FIGURES)
"""The contribution, biggest first (`KnowledgeSharing.rank_key`), as an ordering."""


def sharing_refresh() -> int:
    """Every department's figures and every contributor's, over the last days up to now:
    a row each. Returns how many rows were written."""
    since, until = knowledge_sharing.recent()
    departments = knowledge_sharing.knowledge_sharing_by_department(
        department_ids=Department.objects.values("pk"), since=since, until=until
    )
    # In no order: the dashboard orders the rows it reads.
    staff = get_user_model().objects.filter(pk__in=DepartmentRole.objects.values("user"))
    contributors = knowledge_sharing.knowledge_sharing_contributors(
        people=staff, since=since, until=until
    )

    def row(sharing: KnowledgeSharing, **of: object) -> SharingFigures:
        figures = {figure: getattr(sharing, figure) for figure in FIGURES}
        return SharingFigures(since=since, until=until, **of, **figures)

    with transaction.atomic():
        SharingFigures.objects.bulk_create(
            [row(sharing, department_id=pk) for pk, sharing in departments.items()],
            update_conflicts=True,
            unique_fields=["department"],
            update_fields=["since", "until", *FIGURES],
        )
        SharingFigures.objects.bulk_create(
            [row(contributor.sharing, person=contributor.person) for contributor in contributors],
            update_conflicts=True,
            unique_fields=["person"],
            update_fields=["since", "until", *FIGURES],
        )
        # Whoever this refresh did not write shared nothing since: their row goes.
        SharingFigures.objects.filter(person__isnull=False, until__lt=until).delete()
    return len(departments) + len(contributors)


def sharing_of_department(department: Department | int) -> QuerySet[SharingFigures]:
    """The department's row first, then its staff's, the biggest contribution first and
    ties by name (`services.knowledge_sharing.knowledge_sharing_ranking`'s order)."""
    staff = DepartmentRole.objects.filter(department=department).values("user")
    return (
        SharingFigures.objects.filter(Q(department=department) | Q(person__in=staff))
        .select_related("person")
        .order_by(
            F("department").asc(nulls_last=True),
            *RANK,
            "person__first_name",
            "person__last_name",
            "person__username",
        )
    )


def figures(row: SharingFigures) -> KnowledgeSharing:
    return KnowledgeSharing(**{figure: getattr(row, figure) for figure in FIGURES})
