"""What a report's readers do besides reading it: say whether it helped them decide
something (the audit lists the answers beside the report), and have it e-mailed to them.

Both pages are for the report's readers only (`reporting.view_report`): its audience, its
owner and admins; for anyone else the report does not exist (404) and nothing changes.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from esm import clock
from reporting import actions, delivery, selectors
from reporting.engagement_forms import FeedbackForm, SubscriptionForm
from reporting.models import Report, ReportFeedback, Subscription
from reporting.selectors import report_scopes, scope_label

OWN_FEEDBACK_SHOWN = 10
"""The reader's latest answers shown under the form; the count says how many in all."""


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's refusal beside the fields it names; anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def report_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    report = selectors.report_for_reader(user=request.user, slug=slug)
    if request.method == "GET":
        return _feedback_page(request, report, FeedbackForm())
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            actions.report_feedback_submit(report=report, author=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request, f"Thank you: {report.name}'s owner reads your answer beside the report."
            )
            return redirect("report_dashboard", slug=report.slug)
    return _feedback_page(request, report, form, status=400)


def _feedback_page(
    request: HttpRequest, report: Report, form: FeedbackForm, *, status: int = 200
) -> HttpResponse:
    own = ReportFeedback.objects.filter(report=report, author=request.user)
    return render(
        request,
        "reporting/feedback.html",
        {
            "report": report,
            "form": form,
            "own_feedback": own.order_by("-created_at", "-id")[:OWN_FEEDBACK_SHOWN],
            "own_feedback_count": own.count(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_subscription(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: whether the reader receives the report by e-mail, and how often. POST: subscribe
    or change how often (`frequency`), or stop (`cancel`)."""
    report = selectors.report_for_reader(user=request.user, slug=slug)
    subscription = Subscription.objects.filter(report=report, subscriber=request.user).first()
    if request.method == "GET":
        initial = {"frequency": subscription.frequency if subscription else _suggested(report)}
        return _subscription_page(request, report, subscription, SubscriptionForm(initial=initial))
    if "cancel" in request.POST:
        if actions.subscription_cancel(report=report, subscriber=request.user):
            messages.success(request, f"{report.name} is no longer e-mailed to you.")
        return redirect("report_subscription", slug=report.slug)
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            saved = actions.subscription_set(
                report=report, subscriber=request.user, frequency=form.cleaned_data["frequency"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{report.name} will be e-mailed to you {saved.frequency}.")
            return redirect("report_subscription", slug=report.slug)
    return _subscription_page(request, report, subscription, form, status=400)


def _suggested(report: Report) -> str:
    """The report's own rhythm when it is one a subscription offers; weekly otherwise."""
    cadence = report.cadence.strip().lower()
    return cadence if cadence in Subscription.Frequency.values else Subscription.Frequency.WEEKLY


def _subscription_page(
    request: HttpRequest,
    report: Report,
    subscription: Subscription | None,
    form: SubscriptionForm,
    *,
    status: int = 200,
) -> HttpResponse:
    now = clock.now()
    return render(
        request,
        "reporting/subscription.html",
        {
            "report": report,
            "subscription": subscription,
            "form": form,
            "next_day": delivery.subscription_next_day(subscription, now=now)
            if subscription
            else None,
            "today": timezone.localdate(now),
            "scope_label": scope_label(report_scopes(report=report, viewer=request.user)[0]),
        },
        status=status,
    )
