"""Knowledge sharing, recognised: what a person, or a department, gave the rest of the
enterprise over a period [since, until).

- **articles written**: published articles created in the period (`articles_written`), by
  the person (their author) or of the department. The same definition as a department's
  adoption month by month (`reporting.adoption`).
- **deflections**: suggested reads of those people's (that department's) articles, made in
  the period, that were not followed by a request for the item (`selectors.deflections`,
  judged by when the article was read, whoever read it).
- **consults answered**: questions another department asked, answered in the period by the
  person (`answered_by`) or by the department (`to_department`).
- **colleagues helped in other departments**: distinct people, counted once however often
  they were helped, who either were deflected by one of the articles counted above or
  asked one of the consults counted above, and who are *outside*:
  for a person, they share no department with the person (a person's departments are their
  home department, `Profile.department`, and those they hold a role in); for a department,
  they are not in it (neither home department nor a role there). A colleague in the
  same department reading your article is a deflection, not help across departments;
  people with no department at all count as outside. Nobody helps themselves.

Every figure is a subquery on the person's (department's) own row, so all of them, for
everyone asked for, come in one query whatever the data holds. The figures count articles, reads and
consults, never requests or cases, so the small-group rule has nothing to hold back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from esm import clock
from esm.models import Department, DepartmentRole, Profile
from esm.permissions import User, can, staff_department_ids
from services.models import Article, Consult
from services.selectors import deflections

RECENT_DAYS = 90
"""The period the workspace, the department page and the managers' panel recognise."""

Ids = Collection[int] | QuerySet[Any]
"""Primary keys, or a queryset of `values("pk")` (kept in SQL)."""


@dataclass
class KnowledgeSharing:
    """One person's or one department's figures over a period (see the module docstring)."""

    articles_written: int = 0
    deflections: int = 0
    consults_answered: int = 0
    colleagues_helped: int = 0

    @property
    def shared_anything(self) -> bool:
        return bool(self.articles_written or self.deflections or self.consults_answered)

    @property
    def rank_key(self) -> tuple[int, ...]:
        """Contribution, biggest first when sorted descending (`RANK_ORDER`)."""
        return tuple(getattr(self, figure) for figure in RANK_ORDER)


RANK_ORDER = ("colleagues_helped", "deflections", "articles_written", "consults_answered")
"""The four figures, by what a contribution is ranked on first: colleagues helped across
departments (the point of sharing), then deflections, articles, consults."""


@dataclass(frozen=True)
class Contributor:
    person: Any
    sharing: KnowledgeSharing


def recent(days: int = RECENT_DAYS) -> tuple[dt.datetime, dt.datetime]:
    """(since, until) of the last `days` days, ending now."""
    until = clock.now()
    return until - dt.timedelta(days=days), until


def articles_written(*, since: dt.datetime, until: dt.datetime | None = None) -> QuerySet[Article]:
    """Published articles created in [since, until): what "articles written" counts."""
    written = Article.objects.published().filter(created_at__gte=since)
    return written if until is None else written.filter(created_at__lt=until)


def _deflected(since: dt.datetime, until: dt.datetime) -> QuerySet[Any]:
    return deflections(since=since).filter(viewed_at__lt=until)


def _answered(since: dt.datetime, until: dt.datetime) -> QuerySet[Consult]:
    return Consult.objects.filter(
        state=Consult.State.ANSWERED, answered_at__gte=since, answered_at__lt=until
    )


def _share_a_department(one: str, other: str) -> Q:
    """Whether the people in the outer row's fields `one` and `other` belong to a department
    in common (a home department or a role, on either side)."""
    # Four lookups on the people's own rows, each through an index. (One Department query
    # joining both sides' homes and roles multiplies the rows of every department's
    # members, for every pair asked about: a minute for one department's staff.)
    theirs = (
        Profile.objects.filter(user=OuterRef(OuterRef(other))).values("department"),
        DepartmentRole.objects.filter(user=OuterRef(OuterRef(other))).values("department"),
    )
    return Q(
        *(
            Exists(rows.filter(department__in=departments))
            for rows in (
                Profile.objects.filter(user=OuterRef(one)),
                DepartmentRole.objects.filter(user=OuterRef(one)),
            )
            for departments in theirs
        ),
        _connector=Q.OR,
    )


def _in_department(person: Any, department: Any) -> Q:
    return Q(Exists(Profile.objects.filter(user=person, department=department))) | Q(
        Exists(DepartmentRole.objects.filter(user=person, department=department))
    )


FIGURES = ("written", "answered", "askers", "deflected", "readers", "both")
"""The annotations `_person_figures` and `_department_figures` add, one subquery each."""


def _per_row(rows: QuerySet[Any], key: str, figure: Aggregate) -> Coalesce:
    """`figure` over the `rows` whose `key` is the outer row: one correlated subquery, so
    every figure of every person (department) comes with the person's own row."""
    grouped = rows.filter(**{key: OuterRef("pk")}).order_by().values(key)
    return Coalesce(
        Subquery(grouped.annotate(figure=figure).values("figure"), output_field=IntegerField()),
        0,
    )


def _sharing(row: Any) -> KnowledgeSharing:
    """A row annotated with FIGURES, as figures. A reader who also asked a consult counted
    is one colleague helped, so `both` comes off the sum."""
    value = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return KnowledgeSharing(
        articles_written=value("written"),
        deflections=value("deflected"),
        consults_answered=value("answered"),
        colleagues_helped=value("askers") + value("readers") - value("both"),
    )


def _figures(
    since: dt.datetime,
    until: dt.datetime,
    *,
    writer: str,
    answerer: str,
    asker_outside: Q,
    reader_outside: Q,
) -> dict[str, Coalesce]:
    """The figures (see the module docstring) of whoever an article's `writer` field and a
    consult's `answerer` field name, as annotations on their rows. `asker_outside` and
    `reader_outside` say when the consult's asker or the article's reader is a colleague
    of another department."""
    owner = f"article__{writer}"
    # A reader helped both ways is one colleague: count the readers who also asked a
    # consult counted above, and take them off the sum.
    also_asked = _answered(since, until).filter(
        **{answerer: OuterRef(owner)}, asked_by=OuterRef("user")
    )
    answered, deflected = _answered(since, until), _deflected(since, until)
    return {
        "written": _per_row(articles_written(since=since, until=until), writer, Count("pk")),
        "answered": _per_row(answered, answerer, Count("pk")),
        "askers": _per_row(
            answered, answerer, Count("asked_by", distinct=True, filter=asker_outside)
        ),
        "deflected": _per_row(deflected, owner, Count("pk")),
        "readers": _per_row(deflected, owner, Count("user", distinct=True, filter=reader_outside)),
        "both": _per_row(
            deflected,
            owner,
            Count("user", distinct=True, filter=reader_outside & Q(Exists(also_asked))),
        ),
    }


def _person_figures(since: dt.datetime, until: dt.datetime) -> dict[str, Coalesce]:
    """A person's figures, as annotations on User rows."""
    return _figures(
        since,
        until,
        writer="author",
        answerer="answered_by",
        asker_outside=~Q(asked_by=F("answered_by"))
        & ~_share_a_department("asked_by", "answered_by"),
        reader_outside=~Q(user=F("article__author"))
        & ~_share_a_department("user", "article__author"),
    )


def _department_figures(since: dt.datetime, until: dt.datetime) -> dict[str, Coalesce]:
    """A department's figures, as annotations on Department rows: the reader's outside
    test is the asker's, the same person against the same department."""
    return _figures(
        since,
        until,
        writer="department",
        answerer="to_department",
        asker_outside=~_in_department(OuterRef("asked_by"), OuterRef("to_department")),
        reader_outside=~_in_department(OuterRef("user"), OuterRef("article__department")),
    )


def knowledge_sharing_by_person(
    *, people: Ids, since: dt.datetime, until: dt.datetime
) -> dict[int, KnowledgeSharing]:
    """The figures of each of `people` (everyone asked for has an entry): one query, each
    person's row with its figures."""
    sharing = {} if isinstance(people, QuerySet) else {pk: KnowledgeSharing() for pk in people}
    rows = (
        get_user_model()
        .objects.filter(pk__in=people)
        .order_by()
        .annotate(**_person_figures(since, until))
        .values("pk", *FIGURES)
    )
    sharing.update((row["pk"], _sharing(row)) for row in rows)
    return sharing


def knowledge_sharing_by_department(
    *, department_ids: Ids, since: dt.datetime, until: dt.datetime
) -> dict[int, KnowledgeSharing]:
    """The figures of each department asked for (everyone asked for has an entry): one
    query, each department's row with its figures."""
    sharing = (
        {}
        if isinstance(department_ids, QuerySet)
        else {pk: KnowledgeSharing() for pk in department_ids}
    )
    rows = (
        Department.objects.filter(pk__in=department_ids)
        .order_by()
        .annotate(**_department_figures(since, until))
        .values("pk", *FIGURES)
    )
    sharing.update((row["pk"], _sharing(row)) for row in rows)
    return sharing


def knowledge_sharing_departments_visible_to(user: User) -> QuerySet[Department]:
    """The departments whose knowledge sharing `user` may read
    (`services.view_knowledge_sharing`): every one for executives and admins, else those
    the user is staff of."""
    # Asked without a department, the rule answers for the readers of every department.
    if can(user, "services.view_knowledge_sharing", None):
        return Department.objects.order_by("name")
    return Department.objects.filter(pk__in=staff_department_ids(user)).order_by("name")


def knowledge_sharing_people(*, department_ids: Ids) -> QuerySet[Any]:
    """The staff (agents and managers) of the departments, who write and answer for them."""
    return (
        get_user_model()
        .objects.filter(department_roles__department__in=department_ids)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def knowledge_sharing_ranking(
    *, people: QuerySet[Any], since: dt.datetime, until: dt.datetime
) -> list[Contributor]:
    """`people` with their figures, the biggest contribution first (`rank_key`), ties by
    name: one query, the people with their figures."""
    people = list(people.annotate(**_person_figures(since, until)))
    contributors = [Contributor(person, _sharing(person)) for person in people]
    # Stable: people already come by name, so equal contributions keep that order.
    contributors.sort(key=lambda contributor: contributor.sharing.rank_key, reverse=True)
    return contributors


def knowledge_sharing_contributors(
    *, people: QuerySet[Any], since: dt.datetime, until: dt.datetime
) -> list[Contributor]:
    """The ranking of those of `people` who shared anything in [since, until): one query.

    Only an author (of any article: a read of an old one is a deflection now) or someone
    who answered a consult in the period can have a figure above nought, so the figures are
    worked out for them alone, not for every one of a department's hundreds of staff."""
    may_have_shared = Q(Exists(Article.objects.filter(author=OuterRef("pk")))) | Q(
        Exists(_answered(since, until).filter(answered_by=OuterRef("pk")))
    )
    ranking = knowledge_sharing_ranking(
        people=people.filter(may_have_shared), since=since, until=until
    )
    return [contributor for contributor in ranking if contributor.sharing.shared_anything]
