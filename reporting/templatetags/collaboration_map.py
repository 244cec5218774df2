"""The collaboration map's repeated elements, written out in Python and escaped: its
arrows, their figures and the table of its edges. With every pair of twelve departments
crossing (132 edges), they were some four thousand template variables a page, most of
the page's time; the drawing itself is computed (and kept) by
`reporting.collaboration_map`."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from esm.html import html_join
from reporting.collaboration_map import Drawing, Label

register = template.Library()

NO_FIGURE = "\N{EN DASH}"


@register.filter
def svg_texts(labels: list[Label]) -> SafeString:
    """`{{ node.labels|svg_texts }}`: each label as an SVG `<text>`."""
    return html_join(
        "",
        '<text x="{}" y="{}" class="{}" text-anchor="{}">{}</text>',
        ((label.x, label.y, label.css, label.anchor, label.text) for label in labels),
    )


@register.filter
def arrow_paths(drawing: Drawing) -> SafeString:
    """`{{ drawing|arrow_paths }}`: each arrow's line, a link to its edge, titled."""
    head = f"url(#{drawing.uid}-head)"
    return html_join(
        "",
        '<a href="{}"><title>{}</title><path d="{}" fill="none" stroke="#5b6475" '
        'stroke-opacity="0.8" stroke-width="{}" marker-end="{}" /></a>',
        ((arrow.href, arrow.title, arrow.path, arrow.stroke, head) for arrow in drawing.arrows),
    )


@register.filter
def arrow_figures(drawing: Drawing) -> SafeString:
    """`{{ drawing|arrow_figures }}`: each arrow's figures beside it, a link to its edge."""
    return html_join(
        "",
        '<a href="{}">{}</a>',
        ((arrow.href, svg_texts(arrow.labels)) for arrow in drawing.arrows),
    )


@register.filter
def edge_rows(rows: list[tuple[Any, dict[str, str], str]]) -> SafeString:
    """`{{ rows|edge_rows }}`: the table's row of each (edge, its cells, its page)."""
    return html_join(
        "\n",
        '<tr><td data-label="From"><a href="{}">{}</a></td>'
        '<td data-label="To">{}</td>'
        '<td data-label="Handoffs">{}</td>'
        '<td data-label="Median pick-up">{}</td>'
        '<td data-label="Sent back">{}</td>'
        '<td data-label="Consults">{}</td>'
        '<td data-label="Median answer">{}</td></tr>',
        (
            (
                href,
                edge.from_department.name,
                edge.to_department.name,
                edge.handoffs.volume,
                cells["pickup"] or NO_FIGURE,
                cells["sent_back"] or NO_FIGURE,
                edge.consults.volume,
                cells["answer"] or NO_FIGURE,
            )
            for edge, cells, href in rows
        ),
    )
