"""Articles read and rated."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F

from services.models import Article, ArticleFeedback, ArticleView, CatalogItem


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
