"""The people who decide with reports shape them in the portal: measures, audiences, reports
and their measures in order, the MVGO tree, and what a department's staff hour costs.

Who may read and who may shape is decided in `reporting.permissions`: the lists are for who
may audit reports or add that kind of thing; a definition is changed by its owner and
admins. The rules a definition must keep are the forms' (`reporting.forms`), shown beside
the fields; a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from esm.permissions import User, can
from reporting import selectors
from reporting.formatting import measure_value_text, target_text
from reporting.forms import (
    AudienceForm,
    CostRatesForm,
    MeasureForm,
    ObjectiveForm,
    ReportForm,
    report_line_formset,
    report_save,
)
from reporting.measures import REGISTRY
from reporting.models import Audience, Measure, Objective, Report

MEASURES_PER_PAGE = 25
AUDIENCES_PER_PAGE = 25


def _reads_definitions(user: User, thing: str) -> bool:
    """Who may read the definitions of `thing`s: who audits reports or may add one."""
    return can(user, "reporting.audit_reports") or can(user, f"reporting.add_{thing}")


def _require(user: User, permission: str, obj: Model | None = None, *, why: str) -> None:
    if not can(user, permission, obj):
        raise PermissionDenied(why)


# --- Measures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureRow:
    measure: Measure
    may_change: bool

    @property
    def target(self) -> str:
        return target_text(self.measure.target, self.measure.unit, self.measure.direction)

    @property
    def act_at(self) -> str:
        return measure_value_text(self.measure.act_at, self.measure.unit)

    @property
    def computed(self) -> bool:
        """Whether the portal holds its data and a registered function computes it."""
        return self.measure.source_controlled and self.measure.key in REGISTRY


@login_required
@require_GET
def measure_list(request: HttpRequest) -> HttpResponse:
    if not _reads_definitions(request.user, "measure"):
        raise PermissionDenied("The measures are for who decides with reports or audits them.")
    page = Paginator(selectors.measures_listed(), MEASURES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [MeasureRow(m, can(request.user, "reporting.change_measure", m)) for m in page]
    return render(
        request,
        "reporting/measure_list.html",
        {"page": page, "rows": rows, "may_add": can(request.user, "reporting.add_measure")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_new(request: HttpRequest) -> HttpResponse:
    _require(
        request.user,
        "reporting.add_measure",
        why="Department managers, executives and admins add measures.",
    )
    return _measure_form_response(request, Measure(source_controlled=True))


@login_required
@require_http_methods(["GET", "POST"])
def measure_edit(request: HttpRequest, key: str) -> HttpResponse:
    measure = get_object_or_404(Measure.objects.select_related("owner"), key=key)
    _require(
        request.user,
        "reporting.change_measure",
        measure,
        why="Its owner and admins change a measure.",
    )
    return _measure_form_response(request, measure)


def _measure_form_response(request: HttpRequest, measure: Measure) -> HttpResponse:
    return _definition_form_response(
        request,
        measure,
        form_class=MeasureForm,
        name="measure",
        done="measure_list",
        used_keys=selectors.measure_keys_used(),
    )


def _definition_form_response(
    request: HttpRequest,
    instance: Model,
    *,
    form_class: type,
    name: str,
    done: str,
    **form_options: Any,
) -> HttpResponse:
    """The page of a definition's form (`reporting/<name>_form.html`, the instance in the
    context as `name`): saved by `form.save_as` (which makes the creator owner of a new
    one), then back to the `done` list; invalid input is shown again with a 400."""
    is_new = instance.pk is None
    template = f"reporting/{name}_form.html"
    if request.method == "GET":
        form = form_class(instance=instance, **form_options)
        return _page(request, template, form=form, **{name: instance})
    form = form_class(request.POST, instance=instance, **form_options)
    if form.is_valid():
        saved = form.save_as(creator=request.user)
        messages.success(request, f"{saved} is {'added' if is_new else 'saved'}.")
        return redirect(done)
    return _page(request, template, form=form, status=400, **{name: instance})


def _page(
    request: HttpRequest, template: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    return render(request, template, context, status=status)


# --- Audiences --------------------------------------------------------------------------------


@login_required
@require_GET
def audience_list(request: HttpRequest) -> HttpResponse:
    if not _reads_definitions(request.user, "audience"):
        raise PermissionDenied("The audiences are for who decides with reports or audits them.")
    page = Paginator(selectors.audiences_listed(), AUDIENCES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [(a, can(request.user, "reporting.change_audience", a)) for a in page]
    return render(
        request,
        "reporting/audience_list.html",
        {"page": page, "rows": rows, "may_add": can(request.user, "reporting.add_audience")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def audience_new(request: HttpRequest) -> HttpResponse:
    _require(
        request.user,
        "reporting.add_audience",
        why="Department managers, executives and admins add audiences.",
    )
    return _audience_form_response(request, Audience())


@login_required
@require_http_methods(["GET", "POST"])
def audience_edit(request: HttpRequest, slug: str) -> HttpResponse:
    audience = get_object_or_404(Audience, slug=slug)
    _require(
        request.user,
        "reporting.change_audience",
        audience,
        why="Its owner and admins change an audience.",
    )
    return _audience_form_response(request, audience)


def _audience_form_response(request: HttpRequest, audience: Audience) -> HttpResponse:
    return _definition_form_response(
        request, audience, form_class=AudienceForm, name="audience", done="audience_list"
    )


# --- Reports ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    _require(
        request.user,
        "reporting.add_report",
        why="Department managers, executives and admins add reports.",
    )
    return _report_form_response(request, Report())


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request: HttpRequest, slug: str) -> HttpResponse:
    # Who may not read the report does not learn it exists (404); a reader who may not
    # change it is refused (403).
    report = selectors.report_for_reader(user=request.user, slug=slug)
    _require(
        request.user, "reporting.change_report", report, why="Its owner and admins change a report."
    )
    return _report_form_response(request, report)


def _report_form_response(request: HttpRequest, report: Report) -> HttpResponse:
    is_new = report.pk is None
    measures = list(selectors.measures_by_name())
    data = request.POST if request.method == "POST" else None
    form = ReportForm(data, instance=report)
    lines = report_line_formset(data=data, report=None if is_new else report, measures=measures)
    # Both validated, so a refused report shows every line's errors along with its own.
    valid = data is not None and all([form.is_valid(), lines.is_valid()])
    if valid:
        saved = report_save(form=form, lines=lines, creator=request.user)
        messages.success(request, f"{saved.name} is {'added' if is_new else 'saved'}.")
        return redirect("report_dashboard", slug=saved.slug)
    return _page(
        request,
        "reporting/report_form.html",
        form=form,
        lines=lines,
        report=report,
        status=200 if data is None else 400,
    )


# --- Objectives -------------------------------------------------------------------------------


@login_required
@require_GET
def objective_list(request: HttpRequest) -> HttpResponse:
    if not _reads_definitions(request.user, "objective"):
        raise PermissionDenied("The objectives are for who decides with reports or audits them.")
    roots, unserved = selectors.objective_tree()
    user = request.user
    nodes = list(_walk(roots))
    measures = unserved + [m for node in nodes for m in node.measures]
    return render(
        request,
        "reporting/objective_list.html",
        {
            "roots": roots,
            "unserved": unserved,
            "may_add": can(user, "reporting.add_objective"),
            "changeable_objectives": {
                n.objective.pk
                for n in nodes
                if can(user, "reporting.change_objective", n.objective)
            },
            "changeable_measures": {
                m.pk for m in measures if can(user, "reporting.change_measure", m)
            },
        },
    )


def _walk(nodes: list[selectors.ObjectiveNode]) -> Iterator[selectors.ObjectiveNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


@login_required
@require_http_methods(["GET", "POST"])
def objective_new(request: HttpRequest) -> HttpResponse:
    _require(
        request.user,
        "reporting.add_objective",
        why="Department managers, executives and admins add objectives.",
    )
    return _objective_form_response(request, Objective())


@login_required
@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(Objective, pk=pk)
    _require(
        request.user,
        "reporting.change_objective",
        objective,
        why="Its owner and admins change an objective.",
    )
    return _objective_form_response(request, objective)


def _objective_form_response(request: HttpRequest, objective: Objective) -> HttpResponse:
    return _definition_form_response(
        request, objective, form_class=ObjectiveForm, name="objective", done="objective_list"
    )


# --- Cost rates -------------------------------------------------------------------------------


def _prices(user: User, department: Any) -> bool:
    """Admins price every department's hour; a department's managers price their own."""
    return can(user, "esm.use_admin") or can(user, "esm.manage_department", department)


@login_required
@require_http_methods(["GET", "POST"])
def cost_rates(request: HttpRequest) -> HttpResponse:
    """Every department's hourly rate, and a form for the rates the person may set."""
    rates = selectors.cost_rates_by_department()
    editable = [(d, rate) for d, rate in rates if _prices(request.user, d)]
    if not (editable or can(request.user, "reporting.audit_reports")):
        raise PermissionDenied("Cost rates are for who audits reports and department managers.")
    currency = settings.REPORTING_CURRENCY
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("Admins and a department's managers set its rate.")
        form = CostRatesForm(request.POST, departments=editable, currency=currency)
        if form.is_valid():
            changed = form.save(by=request.user)
            names = ", ".join(d.name for d in changed)
            messages.success(
                request, f"Saved the rate of {names}." if changed else "Nothing changed."
            )
            return redirect("cost_rates")
        status = 400
    else:
        form = CostRatesForm(departments=editable, currency=currency)
        status = 200
    return render(
        request,
        "reporting/cost_rates.html",
        {"rates": rates, "form": form if editable else None, "currency": currency},
        status=status,
    )
