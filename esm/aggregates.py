"""Figures of other rows, read with a page's own row."""

from typing import Any

from django.db.models import Aggregate, Count, IntegerField, JSONField, QuerySet, Subquery, Value
from django.db.models.functions import JSONObject


def figures_of(rows: QuerySet[Any], **aggregates: Aggregate) -> Subquery:
    """The `aggregates` over `rows`, as one JSON object in one subquery: annotated on the
    rows a page reads anyway, several figures of another table come in the same query,
    and that table is scanned once for all of them. `rows` may refer to the outer row
    (`OuterRef`). With no GROUP BY the subquery always answers: a count over no rows is 0,
    a sum or mean null."""
    # Grouping by a constant groups by nothing: one row over all of `rows`.
    figures = rows.order_by().values(_all=Value(1)).annotate(_figures=JSONObject(**aggregates))
    return Subquery(figures.values("_figures"), output_field=JSONField())


def count_of(rows: QuerySet[Any]) -> Subquery:
    """How many `rows` there are (0 for none), as a subquery that may refer to the outer
    row (`OuterRef`): each outer row's rows are found through their own index, where a
    join and a filtered count would read every row of the relation first."""
    counted = rows.order_by().values(_all=Value(1)).annotate(_count=Count("pk"))
    return Subquery(counted.values("_count"), output_field=IntegerField())
