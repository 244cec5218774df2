"""The demo's audiences, objectives, measures and reports (`demo/data/reporting.toml`).

Keyed by slug or key: seeding again changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from demo.data import load
from reporting.models import Audience, Measure, Objective, Report, ReportMeasure

User = get_user_model()


def seed() -> None:
    data = load("reporting")
    objectives: dict[str, Objective] = {}
    for spec in data["objectives"]:
        objectives[spec["key"]], _ = Objective.objects.get_or_create(
            title=spec["title"],
            defaults={"level": spec["level"], "parent": objectives.get(spec.get("parent", ""))},
        )
    audiences = {}
    for spec in data["audiences"]:
        fields = {key: value for key, value in spec.items() if key != "slug"}
        audiences[spec["slug"]], _ = Audience.objects.get_or_create(
            slug=spec["slug"], defaults=fields
        )
    measures = {}
    for spec in data["measures"]:
        fields = {key: value for key, value in spec.items() if key not in ("key", "objective")}
        fields["objective"] = objectives.get(spec.get("objective", ""))
        measures[spec["key"]], _ = Measure.objects.get_or_create(key=spec["key"], defaults=fields)
    for spec in data["reports"]:
        report, created = Report.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "audience": audiences[spec["audience"]],
                "owner": User.objects.get(username=spec["owner"]),
                "cadence": spec["cadence"],
                "narrative": spec["narrative"],
            },
        )
        if created:
            ReportMeasure.objects.bulk_create(
                ReportMeasure(report=report, measure=measures[key], position=position)
                for position, key in enumerate(spec["measures"])
            )
