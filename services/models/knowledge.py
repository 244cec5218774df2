"""Knowledge articles, shared across the enterprise and suggested before a request is raised."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from esm import clock
from esm.models import Department
from services.models.catalog import CatalogItem
from services.models.form_starts import FormStart


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(status=Article.Status.PUBLISHED)


class Article(models.Model):
    class Status(models.TextChoices):
        """Only published articles reach employees. Staff of the department write drafts and
        send them for review; its managers publish (`services.permissions.article_statuses`)."""

        DRAFT = "draft", "Draft"
        IN_REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField(help_text="Markdown. Raw HTML is stripped when shown.")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="articles")
    related_items = models.ManyToManyField(CatalogItem, blank=True, related_name="articles")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    view_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = clock.UpdatedAtField()

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ArticleFeedback(models.Model):
    """A reader's answer to "did this help?" (one per person and article, last answer wins)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField()
    created_at = clock.UpdatedAtField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="one_feedback_per_reader"),
        ]

    def __str__(self) -> str:
        return f"{self.article}: {'helpful' if self.helpful else 'not helpful'}"


class ArticleView(models.Model):
    """An article opened from an item page's suggestions: the raw signal of deflection.

    It is a deflection when the reader raises no request for that item within
    `selectors.DEFLECTION_WINDOW` of reading it (see `selectors.deflections`).
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    catalog_item = models.ForeignKey(
        CatalogItem, on_delete=models.CASCADE, related_name="article_views"
    )
    viewed_at = models.DateTimeField(default=clock.now, editable=False)
    form_start = models.ForeignKey(
        FormStart,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="article_views",
        help_text="The form start it was suggested in.",
    )

    class Meta:
        indexes = [models.Index(fields=["catalog_item", "viewed_at"], name="article_view_by_item")]

    def __str__(self) -> str:
        return f"{self.article} read from {self.catalog_item}"
