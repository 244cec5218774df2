"""Every write of journey maps: the maps, their stages and touchpoints, and the findings
pinned to touchpoints.

Each action is one transaction and validates with the models' own rules (`full_clean`), so
the portal, the API and any other caller refuse the same things with the same words. A
refusal is a `ValidationError` keyed by the field it is about, for pages to show beside
that field and the API to answer by field. Who may call them is the caller's question
(`journeys.permissions`); these are configuration changes, not work: each records who
changed what (`esm.changes`), in its transaction, naming the person as `by` (or `creator`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from esm import clock
from esm.changes import change_record, delete_recorded, snapshot
from esm.models import Department
from journeys import selectors
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint
from journeys.suggestions import signal_value
from services.models import Article, CatalogItem
from valuestreams.forms import day_period, local_today
from valuestreams.models import Stage as StreamStage

# How many addresses ("<slug>-to-be", "<slug>-to-be-2", ...) a to-be map tries before giving up.
TO_BE_SLUG_ATTEMPTS = 50


# Maps ------------------------------------------------------------------------------------


@transaction.atomic
def journey_create(
    *,
    creator: Any,
    name: str,
    slug: str,
    persona: str,
    goal: str,
    status: str,
    owner: Any = None,
) -> JourneyMap:
    """A new as-is map, owned by `owner` or else by its creator. Who may choose another
    owner is the caller's question (pages offer it to admins only)."""
    journey = JourneyMap(
        name=name,
        slug=slug,
        persona=persona,
        goal=goal,
        status=status,
        owner=owner or creator,
        version=JourneyMap.Version.AS_IS,
    )
    journey.full_clean()
    journey.save()
    change_record(subject=journey, actor=creator, before=None, via="journey_create")
    return journey


@transaction.atomic
def journey_update(
    *,
    journey: JourneyMap,
    by: Any,
    name: str,
    slug: str,
    persona: str,
    goal: str,
    status: str,
    owner: Any = None,
) -> JourneyMap:
    """Change what the map is about, as `by`; `owner=None` keeps the owner. Its version
    (as is, to be) and the as-is map a to-be map improves on stay as they were made."""
    journey = JourneyMap.objects.select_for_update().get(pk=journey.pk)
    before = snapshot(journey)
    journey.name, journey.slug, journey.persona = name, slug, persona
    journey.goal, journey.status = goal, status
    if owner is not None:
        journey.owner = owner
    journey.full_clean()
    journey.save(update_fields=["name", "slug", "persona", "goal", "status", "owner"])
    change_record(subject=journey, actor=by, before=before, via="journey_update")
    return journey


@transaction.atomic
def journey_to_be_start(*, journey: JourneyMap, by: Any) -> JourneyMap:
    """Start the to-be map of an as-is `journey`: a draft owned by `by`, with a copy of
    the journey's stages and touchpoints, their links to items, articles and stream stages
    included (findings stay with the as-is map, where their signals were read).

    An as-is map has at most one to-be map; a to-be map has none of its own.
    """
    journey = JourneyMap.objects.select_for_update().get(pk=journey.pk)
    if journey.version != JourneyMap.Version.AS_IS:
        raise ValidationError({"version": "Only an as-is map has a to-be map."})
    if JourneyMap.objects.filter(as_is=journey).exists():
        raise ValidationError({"as_is": f"{journey.name} already has a to-be map."})
    to_be = JourneyMap(
        name=f"{journey.name} (to be)"[: JourneyMap._meta.get_field("name").max_length],
        slug=_free_slug(f"{journey.slug}-to-be"),
        persona=journey.persona,
        goal=journey.goal,
        owner=by,
        status=JourneyMap.Status.DRAFT,
        version=JourneyMap.Version.TO_BE,
        as_is=journey,
    )
    to_be.full_clean()
    to_be.save()
    stages = journey.stages.prefetch_related(
        "touchpoints__items", "touchpoints__articles", "touchpoints__stream_stages"
    )
    for stage in stages:
        copy = JourneyStage.objects.create(journey=to_be, name=stage.name, position=stage.position)
        for touchpoint in stage.touchpoints.all():
            _touchpoint_copy(touchpoint, stage=copy)
    # One event for the map: its stages and touchpoints are copies, named by the as-is map.
    change_record(subject=to_be, actor=by, before=None, via="journey_to_be_start")
    return to_be


def _free_slug(wanted: str) -> str:
    limit = JourneyMap._meta.get_field("slug").max_length
    base = wanted[:limit]
    for attempt in range(1, TO_BE_SLUG_ATTEMPTS + 1):
        suffix = "" if attempt == 1 else f"-{attempt}"
        slug = base[: limit - len(suffix)] + suffix
        if not JourneyMap.objects.filter(slug=slug).exists():
            return slug
    raise ValidationError({"slug": "No free address for the to-be map: rename the as-is map."})


def _touchpoint_copy(touchpoint: Touchpoint, *, stage: JourneyStage) -> Touchpoint:
    """Reads the links from the prefetched relations of `touchpoint`."""
    copy = Touchpoint.objects.create(
        stage=stage,
        name=touchpoint.name,
        description=touchpoint.description,
        channel=touchpoint.channel,
        department_id=touchpoint.department_id,
        position=touchpoint.position,
        notes=touchpoint.notes,
    )
    copy.items.set(touchpoint.items.all())
    copy.articles.set(touchpoint.articles.all())
    copy.stream_stages.set(touchpoint.stream_stages.all())
    return copy


# Stages ----------------------------------------------------------------------------------


@transaction.atomic
def journey_stage_save(
    *,
    journey: JourneyMap,
    by: Any,
    stage: JourneyStage | None = None,
    name: str,
    position: int,
) -> JourneyStage:
    """Add a stage to `journey` (`stage=None`) or change one of its stages, as `by`."""
    if stage is None:
        stage = JourneyStage(journey=journey)
    elif stage.journey_id != journey.pk:
        raise ValueError("The stage belongs to another journey.")
    before = None if stage.pk is None else snapshot(stage)
    stage.name, stage.position = name, position
    taken = JourneyStage.objects.filter(journey=journey, name=name)
    if stage.pk:
        taken = taken.exclude(pk=stage.pk)
    if taken.exists():
        raise ValidationError({"name": f"This journey already has a stage called “{name}”."})
    stage.full_clean()
    stage.save()
    change_record(subject=stage, actor=by, before=before, via="journey_stage_save")
    return stage


@transaction.atomic
def journey_stage_delete(*, stage: JourneyStage, by: Any) -> None:
    """Remove the stage with its touchpoints and their findings, as `by`."""
    delete_recorded(subject=stage, actor=by, via="journey_stage_delete")


# Touchpoints -----------------------------------------------------------------------------


@transaction.atomic
def touchpoint_save(
    *,
    journey: JourneyMap,
    by: Any,
    touchpoint: Touchpoint | None = None,
    stage: JourneyStage,
    name: str,
    description: str,
    channel: str,
    department: Department | None,
    position: int,
    items: Iterable[CatalogItem],
    articles: Iterable[Article],
    stream_stages: Iterable[StreamStage],
) -> Touchpoint:
    """Add a touchpoint to a stage of `journey` (`touchpoint=None`) or change one, and link
    it to exactly `items`, `articles` and `stream_stages`, as `by`.

    Only published articles may be linked: a draft is read by nobody the journey is about.
    """
    if stage.journey_id != journey.pk:
        raise ValidationError({"stage": "Pick a stage of this journey."})
    if touchpoint is None:
        touchpoint = Touchpoint()
    elif touchpoint.stage.journey_id != journey.pk:
        raise ValueError("The touchpoint belongs to another journey.")
    articles = list(articles)
    unpublished = [a.title for a in articles if a.status != Article.Status.PUBLISHED]
    if unpublished:
        raise ValidationError(
            {"articles": [f"“{title}” is not published." for title in unpublished]}
        )
    before = None if touchpoint.pk is None else snapshot(touchpoint)
    touchpoint.stage, touchpoint.name, touchpoint.description = stage, name, description
    touchpoint.channel, touchpoint.department, touchpoint.position = channel, department, position
    touchpoint.full_clean()
    touchpoint.save()
    touchpoint.items.set(items)
    touchpoint.articles.set(articles)
    touchpoint.stream_stages.set(stream_stages)
    change_record(subject=touchpoint, actor=by, before=before, via="touchpoint_save")
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, touchpoint: Touchpoint, by: Any) -> None:
    """Remove the touchpoint with its findings and the rows its signals were read from,
    as `by`."""
    delete_recorded(subject=touchpoint, actor=by, via="touchpoint_delete")


# Findings --------------------------------------------------------------------------------


@transaction.atomic
def finding_save(
    *,
    touchpoint: Touchpoint,
    by: Any,
    finding: Finding | None = None,
    kind: str,
    title: str,
    description: str,
    owner: Any = None,
) -> Finding:
    """Write a pain point or an opportunity on `touchpoint` (`finding=None`), or reword
    one, as `by`. A person's finding has no `suggestion`: that mark is for the system's
    own."""
    before = None if finding is None else snapshot(finding)
    finding = _finding_write(
        touchpoint=touchpoint,
        finding=finding,
        kind=kind,
        title=title,
        description=description,
        owner=owner,
    )
    change_record(subject=finding, actor=by, before=before, via="finding_save")
    return finding


def _finding_write(
    *,
    touchpoint: Touchpoint,
    finding: Finding | None,
    kind: str,
    title: str,
    description: str,
    owner: Any,
) -> Finding:
    if finding is None:
        finding = Finding(touchpoint=touchpoint)
    elif finding.touchpoint_id != touchpoint.pk:
        raise ValueError("The finding belongs to another touchpoint.")
    finding.kind, finding.title = kind, title
    finding.description, finding.owner = description, owner
    finding.full_clean()
    finding.save()
    return finding


@transaction.atomic
def finding_set_status(
    *, finding: Finding, status: str, by: Any, value_after: float | None = None
) -> Finding:
    """Move the finding to `status`. A finding taken on (accepted or in progress) with no
    owner becomes `by`'s.

    Done is when the improvement shipped: `done_at` is set then, and `value_after` (the
    signal's value measured after it, when the caller has one) is kept beside the value
    before. Leaving done clears both: the finding is open again.
    """
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    before = snapshot(finding)
    finding = _finding_status_set(finding, status=status, by=by, value_after=value_after)
    change_record(subject=finding, actor=by, before=before, via="finding_set_status")
    return finding


def _finding_status_set(
    finding: Finding, *, status: str, by: Any, value_after: float | None
) -> Finding:
    """Call while holding a FOR UPDATE lock on `finding`."""
    was_done = finding.status == Finding.Status.DONE
    finding.status = status
    if status in (Finding.Status.ACCEPTED, Finding.Status.IN_PROGRESS) and finding.owner is None:
        finding.owner = by
    if status == Finding.Status.DONE:
        if not was_done:
            finding.done_at = clock.now()
        if value_after is not None:
            finding.value_after = value_after
    else:
        finding.done_at, finding.value_after = None, None
    try:
        finding.full_clean()
    except ValidationError as error:
        if "__all__" in error.message_dict:
            # The open-suggestion constraint: reopening a suggestion the system raised again.
            raise ValidationError(
                {"status": "The same suggestion is open on this touchpoint already."}
            ) from error
        raise
    finding.save(update_fields=["status", "owner", "done_at", "value_after"])
    return finding


@transaction.atomic
def finding_update(
    *,
    finding: Finding,
    by: Any,
    description: str,
    owner: Any,
    status: str,
) -> Finding:
    """Change what the finding's page and the API change together: its description, owner
    and status, all or nothing, recorded as one change."""
    finding = Finding.objects.select_for_update().select_related("touchpoint").get(pk=finding.pk)
    before = snapshot(finding)
    finding = _finding_write(
        touchpoint=finding.touchpoint,
        finding=finding,
        kind=finding.kind,
        title=finding.title,
        description=description,
        owner=owner,
    )
    if status != finding.status:
        value_after = None
        if status == Finding.Status.DONE and finding.signal:
            value_after = _signal_now(finding, viewer=by)
        finding = _finding_status_set(finding, status=status, by=by, value_after=value_after)
    change_record(subject=finding, actor=by, before=before, via="finding_update")
    return finding


RECENT_DAYS = 28
"""A finding marked done records its signal over this many days up to today: the after."""


def _signal_now(finding: Finding, *, viewer: Any) -> float | None:
    today = local_today()
    period = day_period(today - dt.timedelta(days=RECENT_DAYS - 1), today)
    signals = selectors.touchpoint_signals(
        touchpoint=finding.touchpoint, period=period, viewer=viewer
    )
    return signal_value(signals, finding.signal)
