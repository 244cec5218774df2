"""The demo's journey maps (`demo/data/journeys.toml`): a new hire's first 90 days and a
relocating employee, their stages and touchpoints linked to what the portal measures.

Keyed by slug: seeding again changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from demo.data import load
from esm.models import Department
from journeys.models import JourneyMap, JourneyStage, Touchpoint
from services.models import Article, CatalogItem
from valuestreams.models import Stage

User = get_user_model()


def seed() -> None:
    departments = {department.slug: department for department in Department.objects.all()}
    items = {item.slug: item for item in CatalogItem.objects.all()}
    articles = {article.slug: article for article in Article.objects.all()}
    stream_stages = {
        f"{stage.stream.slug}:{stage.name}": stage
        for stage in Stage.objects.select_related("stream")
    }
    for spec in load("journeys")["journeys"]:
        journey, created = JourneyMap.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "persona": spec["persona"],
                "goal": spec["goal"],
                "owner": User.objects.get(username=spec["owner"]),
                "status": spec["status"],
            },
        )
        if not created:
            continue
        for position, stage_spec in enumerate(spec["stages"]):
            stage = JourneyStage.objects.create(
                journey=journey, name=stage_spec["name"], position=position
            )
            for place, point in enumerate(stage_spec.get("touchpoints", [])):
                touchpoint = Touchpoint.objects.create(
                    stage=stage,
                    name=point["name"],
                    description=point.get("description", ""),
                    channel=point["channel"],
                    department=departments[point["department"]],
                    position=place,
                )
                touchpoint.items.set(items[slug] for slug in point.get("items", []))
                touchpoint.articles.set(articles[slug] for slug in point.get("articles", []))
                touchpoint.stream_stages.set(
                    stream_stages[key] for key in point.get("stream_stages", [])
                )
