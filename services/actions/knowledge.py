"""Articles read and rated."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from services.actions._base import ActionRefused
from services.models import Article, ArticleFeedback, ArticleView, CatalogItem, FulfilmentTask


@transaction.atomic
def article_view_record(
    *, article: Article, user: AbstractBaseUser, from_item: CatalogItem | None = None
) -> None:
    """Count a read; from an item page's suggestions it is also a possible deflection."""
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    if from_item is not None:
        ArticleView.objects.create(article=article, user=user, catalog_item=from_item)


def article_feedback_record(*, article: Article, user: AbstractBaseUser, helpful: bool) -> None:
    ArticleFeedback.objects.update_or_create(
        article=article, user=user, defaults={"helpful": helpful}
    )


@transaction.atomic
def article_draft_from_task(*, task: FulfilmentTask, author: AbstractBaseUser) -> Article:
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
    return article
