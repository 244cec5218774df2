"""Articles read, rated, drafted from resolutions and edited by their department."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from esm import clock
from esm.changes import change_record, snapshot
from services.actions._base import ActionRefused
from services.models import (
    Article,
    ArticleFeedback,
    ArticleView,
    CatalogItem,
    FormStart,
    FulfilmentTask,
)
from services.permissions import article_statuses


@transaction.atomic
def article_view_record(
    *, article: Article, user: AbstractBaseUser, from_item: CatalogItem | None = None
) -> None:
    """Count a read; from an item page's suggestions it is also a possible deflection,
    linked to the reader's latest start of that item's form."""
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    if from_item is not None:
        ArticleView.objects.create(
            article=article,
            user=user,
            catalog_item=from_item,
            form_start=form_start_latest(person=user, item=from_item),
        )


# A request (or an article read) belongs to the form start opened at most this long before.
FORM_START_WINDOW = dt.timedelta(hours=24)


def form_start_latest(*, person: AbstractBaseUser, item: CatalogItem) -> FormStart | None:
    """The person's most recent opening of the item's form within FORM_START_WINDOW."""
    now = clock.now()
    return (
        FormStart.objects.filter(
            person=person,
            catalog_item=item,
            started_at__gt=now - FORM_START_WINDOW,
            started_at__lte=now,
        )
        .order_by("-started_at")
        .first()
    )


def form_start_record(*, item: CatalogItem, person: AbstractBaseUser) -> None:
    """Record that `person` opened the item's form: once per person, item and local day.

    One INSERT that the unique constraint turns into nothing when the person already opened
    the form today, so reloading the page costs the same single query.
    """
    now = clock.now()
    FormStart.objects.bulk_create(
        [FormStart(person=person, catalog_item=item, day=timezone.localdate(now), started_at=now)],
        ignore_conflicts=True,
    )


def article_feedback_record(*, article: Article, user: AbstractBaseUser, helpful: bool) -> None:
    ArticleFeedback.objects.update_or_create(
        article=article, user=user, defaults={"helpful": helpful}
    )


@transaction.atomic
def article_draft_from_task(
    *, task: FulfilmentTask, author: AbstractBaseUser
) -> tuple[Article, bool]:
    """Start a knowledge article from a resolved task: a draft its department can edit.

    The requester's answers and conversation stay out of it: only the subject and the
    resolution note, which agents write for the employee to read.
    """
    if task.state != FulfilmentTask.State.DONE or not task.resolution.strip():
        raise ActionRefused("Resolve the task with a resolution note first.")
    service_request = task.service_request
    if service_request.is_confidential:
        raise ActionRefused("Confidential cases do not become articles.")
    base = slugify(service_request.subject)[:150] or "article"
    slug = f"{base}-{task.pk}"
    article, created = Article.objects.get_or_create(
        slug=slug,
        defaults={
            "title": service_request.subject[:200],
            "body": task.resolution,
            "department": task.department,
            "author": author,
            "status": Article.Status.DRAFT,
        },
    )
    if created:
        article.related_items.add(service_request.catalog_item)
        change_record(subject=article, actor=author, before=None, via="article_draft_from_task")
    return article, created


@transaction.atomic
def article_update(
    *,
    article: Article,
    editor: AbstractBaseUser,
    title: str,
    body: str,
    related_items: Iterable[CatalogItem],
    status: str,
) -> Article:
    """Save an article's wording, related items and status, as `editor` may.

    Who may give which status is `services.permissions.article_statuses`: refused here too,
    whatever the form offered, and nothing changes. The slug stays: links keep working.
    """
    article = Article.objects.select_for_update().select_related("department").get(pk=article.pk)
    allowed = article_statuses(editor, article)
    if not allowed:
        raise ActionRefused("Only staff of the article's department edit it.")
    if status not in allowed:
        raise ActionRefused(f"Only a manager of {article.department.name} publishes articles.")
    before = snapshot(article)
    article.title, article.body, article.status = title, body, status
    article.save(update_fields=["title", "body", "status", "updated_at"])
    article.related_items.set(related_items)
    # Publishing and retiring are changes of status: recorded here, with the wording.
    change_record(subject=article, actor=editor, before=before, via="article_update")
    return article
