"""Paging a sorted queryset whose rows carry many relations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, QuerySet


class PagedByIds[M: Model]:
    """`queryset` for a `Paginator` (Django's or DRF's), read in two queries a page: the
    page's ids, sorted and sliced with only the joins its filters and order need, then those
    rows with their `select_related` relations.

    PostgreSQL sorts a query after its joins: a queue's first 25 tasks read in one query
    join every open task of the queue to its request, requester, item and assignee (1,024
    of them in the largest queue at a million requests, 8 ms) to keep 25; sorted on ids
    first, 25 are joined (1.5 ms, then 25 rows by primary key). A row that left the
    queryset between the two reads (a task resolved meanwhile) is left off its page.

    `count`, when the caller already read how many rows the queryset holds (a queue's open
    tasks, counted with the queue), spares the paginator counting them again.

    `rows`, when given, reads the page's rows by their ids instead of `queryset`, in any
    order: the same rows with their relations but without the sort's annotations, which
    Django would otherwise build and compile again for 25 rows that are already in order
    (a query whose text is kept, `esm.kept_queries.KeptInstances`). It must read every row
    `queryset` holds.

    `ids`, when given, reads a slice's ids in place of `queryset`, which is then not needed:
    a query whose text is kept (`esm.kept_queries`). It takes `rows` with it, and `count`
    for a paginator.
    """

    def __init__(
        self,
        queryset: QuerySet[M] | None = None,
        *,
        count: int | None = None,
        rows: Callable[[list[Any]], Iterable[M]] | None = None,
        ids: Callable[[slice], list[Any]] | None = None,
    ) -> None:
        if queryset is None and (ids is None or rows is None):
            raise TypeError("Without a queryset, PagedByIds reads its ids and rows.")
        self.queryset = queryset
        self.known_count = count
        self.rows = rows or self._rows_of_queryset
        self.ids = ids or self._ids_of_queryset

    def _ids_of_queryset(self, index: slice) -> list[Any]:
        return list(self.queryset.values_list("pk", flat=True)[index])

    def _rows_of_queryset(self, ids: list[Any]) -> Iterable[M]:
        return self.queryset.in_bulk(ids).values()

    def count(self) -> int:
        if self.known_count is not None:
            return self.known_count
        if self.queryset is None:
            raise TypeError("PagedByIds was given neither a queryset nor a count.")
        return self.queryset.count()

    def __getitem__(self, index: slice) -> list[M]:
        if not isinstance(index, slice):
            raise TypeError("PagedByIds is read a page (a slice) at a time.")
        ids = self.ids(index)
        rows = {row.pk: row for row in self.rows(ids)}
        return [rows[pk] for pk in ids if pk in rows]
