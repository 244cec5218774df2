"""The report audit: which measures and reports no decision rests on, and how each report's
audience uses it and answers it. For the people who shape reports
(`reporting.audit_reports`); every flagged item links to where it is changed, for who may.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from esm import clock
from esm.permissions import User, can
from reporting import audit

SECTION_PAGE = 20
"""Flagged items per page of a section."""

REPORTS_PAGE = 20
"""Reports per page of the table of every report."""


@dataclass
class Section:
    """One question of the audit and the items it flags, a page at a time."""

    key: str
    thing: str
    """What it flags: "measure" or "report"."""
    title: str
    why: str
    empty: str
    page: Page
    links: dict[str, str] = field(default_factory=dict)
    """Query strings of the previous and next page of this section (the others kept)."""


def _page(request: HttpRequest, queryset: QuerySet, key: str, per_page: int) -> tuple[Page, dict]:
    page = Paginator(queryset, per_page).get_page(request.GET.get(key))
    links = {}
    for name, exists, number in (
        ("previous", page.has_previous(), page.number - 1),
        ("next", page.has_next(), page.number + 1),
    ):
        if exists:
            query = request.GET.copy()
            query[key] = str(number)
            links[name] = f"?{query.urlencode()}#{key}"
    return page, links


def _with_edit_rights(user: User, page: Page, permission: str) -> None:
    """Mark each item of `page` with whether `user` may change it (no query: owners and
    admins, from the rows already loaded)."""
    for item in page:
        item.may_change = can(user, permission, item)


@login_required
@require_GET
def report_audit(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "reporting.audit_reports"):
        raise PermissionDenied("The audit is for the people who shape reports.")
    now = clock.now()
    questions = [
        (
            "unused",
            "Measures no report uses",
            "A measure on no report has no audience: nobody decides anything with it. Put it "
            "on the report of the people who decide, or retire it.",
            "Every measure is on at least one report.",
            audit.measures_unused(),
            "reporting.change_measure",
        ),
        (
            "undecided",
            "Measures without a decision or a decision maker",
            "A measure exists because someone decides something with it: name the decision "
            "it supports and the role that makes it.",
            "Every measure names the decision it supports and who makes it.",
            audit.measures_undecided(),
            "reporting.change_measure",
        ),
        (
            "no_objective",
            "Measures that serve no objective",
            "Each measure should say which of the organisation's objectives it evidences.",
            "Every measure names the objective it serves.",
            audit.measures_without_objective(),
            "reporting.change_measure",
        ),
        (
            "no_function",
            "Measures with no function to compute them",
            "Their key names no function the portal knows, though their data is the "
            "portal's: they can never show a number. Correct the key.",
            "Every measure over the portal's data has a function that computes it.",
            audit.measures_without_function(),
            "reporting.change_measure",
        ),
        (
            "outputs_only",
            "Reports made only of output measures",
            "Outputs count activity. A report made only of them tells its audience how busy "
            "people were, never what it achieved or how it felt: add an outcome or an "
            "experience measure.",
            "Every report with measures tells more than activity.",
            audit.reports_only_outputs(),
            "reporting.change_report",
        ),
        (
            "unread",
            f"Reports nobody opened in {audit.UNREAD_DAYS} days",
            "Nobody opened them, their owner included. "
            "Ask the audience what they need, change the report, or retire it.",
            f"Every report was opened by its audience in the last {audit.UNREAD_DAYS} days.",
            audit.reports_unread(now=now),
            "reporting.change_report",
        ),
    ]
    sections = []
    for key, title, why, empty, queryset, permission in questions:
        page, links = _page(request, queryset, key, SECTION_PAGE)
        _with_edit_rights(request.user, page, permission)
        thing = permission.rpartition("_")[2]
        sections.append(Section(key, thing, title, why, empty, page, links))
    reports, report_links = _page(
        request, audit.reports_engagement(now=now), "reports", REPORTS_PAGE
    )
    _with_edit_rights(request.user, reports, "reporting.change_report")
    latest = audit.feedback_latest(reports)
    for report in reports:
        report.latest_feedback = latest.get(report.pk, [])
    return render(
        request,
        "reporting/audit.html",
        {
            "sections": sections,
            "reports": reports,
            "report_links": report_links,
            "unread_days": audit.UNREAD_DAYS,
            "now": now,
        },
    )
