"""The demo's reporting (`demo/data/reporting.toml`): objectives, audiences, measures and
reports, what readers did with the reports (views, feedback, a subscription), the service
owners' reviews, the departments' cost rates, and the ESM lead's readiness work:
owners' assessments of the signs the data cannot answer, the tribal audit (each group
recorded twice, months apart) and the roll-out plan.

Keyed by slug, key, username or department: seeding again changes nothing. Views are
recorded through the portal's own action at their moments on the demo clock, once per
reader and report.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from demo.data import load
from esm import clock
from esm.models import Department
from reporting.actions import (
    readiness_assess,
    report_view_record,
    rollout_step_save,
    tribal_group_record,
)
from reporting.models import (
    Audience,
    CostRate,
    Measure,
    Objective,
    ReadinessAssessment,
    Report,
    ReportFeedback,
    ReportMeasure,
    ReportView,
    RolloutStep,
    ServiceReview,
    Subscription,
    TribalGroup,
)
from services.models import Service
from valuestreams.models import ValueStream

User = get_user_model()

# Views and feedback "N days ago" happen at this time of day (UTC): office hours in London.
READ_AT = dt.time(9, 30)


def seed() -> None:
    data = load("reporting")
    users = {user.username: user for user in User.objects.all()}
    objectives = _objectives(data["objectives"], users)
    audiences = {}
    for spec in data["audiences"]:
        fields = _with_people(spec, users, "owner")
        audiences[spec["slug"]], _ = Audience.objects.get_or_create(
            slug=spec["slug"], defaults=fields
        )
    measures = {}
    for spec in data["measures"]:
        fields = _with_people(spec, users, "owner")
        fields["objective"] = objectives.get(spec.get("objective", ""))
        measures[spec["key"]], _ = Measure.objects.get_or_create(key=spec["key"], defaults=fields)
    reports = {}
    for spec in data["reports"]:
        report, created = Report.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "audience": audiences[spec["audience"]],
                "owner": users[spec["owner"]],
                "cadence": spec["cadence"],
                "narrative": spec["narrative"],
                "created_at": _moment(spec["made_days_ago"]),
            },
        )
        if created:
            ReportMeasure.objects.bulk_create(
                ReportMeasure(report=report, measure=measures[key], position=position)
                for position, key in enumerate(spec["measures"])
            )
        reports[spec["slug"]] = report
    _readers(data, reports, users)
    _reviews(data["reviews"], users)
    for slug, rate in data["cost_rates"].items():
        CostRate.objects.get_or_create(
            department=Department.objects.get(slug=slug),
            defaults={"hourly_rate": Decimal(str(rate))},
        )
    _readiness(data, users)


def _with_people(spec: dict[str, Any], users: dict[str, Any], *names: str) -> dict[str, Any]:
    """The spec's fields for a model, its key left out and people named by username."""
    fields = {k: v for k, v in spec.items() if k not in ("key", "slug", "objective", "parent")}
    for name in names:
        if name in fields:
            fields[name] = users[fields[name]]
    return fields


def _objectives(specs: list[dict[str, Any]], users: dict[str, Any]) -> dict[str, Objective]:
    objectives: dict[str, Objective] = {}
    for spec in specs:
        objectives[spec["key"]], _ = Objective.objects.get_or_create(
            title=spec["title"],
            defaults={
                "level": spec["level"],
                "parent": objectives.get(spec.get("parent", "")),
                "owner": users.get(spec.get("owner", "")),
            },
        )
    return objectives


def _moment(days_ago: int) -> dt.datetime:
    day = timezone.localdate(clock.now()) - dt.timedelta(days=days_ago)
    return min(dt.datetime.combine(day, READ_AT, tzinfo=dt.UTC), clock.now())


def _readers(data: dict[str, Any], reports: dict[str, Report], users: dict[str, Any]) -> None:
    """Who opened which report when, what they answered, who subscribed."""
    for spec in data["views"]:
        report, viewer = reports[spec["report"]], users[spec["viewer"]]
        if ReportView.objects.filter(report=report, viewer=viewer).exists():
            continue
        for days_ago in sorted(spec["days_ago"], reverse=True):
            with clock.travel(_moment(days_ago)):
                report_view_record(report=report, viewer=viewer)
    for spec in data["feedback"]:
        ReportFeedback.objects.get_or_create(
            report=reports[spec["report"]],
            author=users[spec["author"]],
            defaults={
                "helped": spec["helped"],
                "decision": spec["decision"],
                "missing": spec["missing"],
                "created_at": _moment(spec["days_ago"]),
            },
        )
    for spec in data["subscriptions"]:
        Subscription.objects.get_or_create(
            report=reports[spec["report"]],
            subscriber=users[spec["subscriber"]],
            defaults={"frequency": spec["frequency"]},
        )


def _reviews(specs: list[dict[str, Any]], users: dict[str, Any]) -> None:
    """The accountable owners' reviews of their services, one each."""
    for spec in specs:
        ServiceReview.objects.get_or_create(
            service=Service.objects.get(slug=spec["service"]),
            reviewer=users[spec["reviewer"]],
            defaults={
                "reviewed_on": _moment(spec["days_ago"]).date(),
                "needs_met": spec["needs_met"],
                "value": spec["value"],
                "changes": spec["changes"],
            },
        )


def _readiness(data: dict[str, Any], users: dict[str, Any]) -> None:
    """Assessments, the tribal audit and the roll-out plan, through the portal's actions;
    each table is seeded once (its rows have no natural key, and the ESM lead may have
    changed them since)."""
    if not ReadinessAssessment.objects.exists():
        departments = {d.slug: d for d in Department.objects.all()}
        for spec in data["assessments"]:
            readiness_assess(
                department=departments[spec["department"]],
                sign=spec["sign"],
                answer=spec["answer"],
                evidence=spec["evidence"],
                assessed_by=users[spec["assessed_by"]],
                assessed_on=_moment(spec["days_ago"]).date(),
            )
    if not TribalGroup.objects.exists():
        for spec in data["tribes"]:
            for recording in spec["recordings"]:
                tribal_group_record(
                    recorded_by=users[recording["recorded_by"]],
                    recorded_on=_moment(recording["days_ago"]).date(),
                    name=spec["name"],
                    description=spec["description"],
                    preferred_tools=recording["preferred_tools"],
                    preferred_channels=recording["preferred_channels"],
                    openness=recording["openness"],
                )
    if not RolloutStep.objects.exists():
        streams = {stream.slug: stream for stream in ValueStream.objects.all()}
        for spec in data["rollout"]:
            rollout_step_save(
                by=users[spec["owner"]],
                title=spec["title"],
                value_stream=streams.get(spec.get("value_stream", "")),
                status=spec["status"],
                lessons_learned=spec.get("lessons_learned", ""),
                owner=users[spec["owner"]],
            )
