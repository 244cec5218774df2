"""Knowledge articles as their department's staff write them: the list and the edit page.

Readers (employees and staff alike) read articles on the portal's article page; who may
edit and who may publish is decided in `services.permissions`, nowhere else.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from esm.permissions import can
from services import actions, selectors
from services.actions import ActionRefused
from services.forms import ArticleForm
from services.models import Article
from services.permissions import article_statuses

Status = Article.Status


def _status_labels(article: Article) -> dict[str, str]:
    department = article.department.name
    return {
        Status.DRAFT: f"Draft: only {department} staff see it",
        Status.IN_REVIEW: f"In review: a manager of {department} publishes it",
        Status.PUBLISHED: "Published: employees read it and see it suggested",
    }


def _saved_message(article: Article) -> str:
    return {
        Status.DRAFT: f"Saved as a draft: only {article.department.name} staff see it.",
        Status.IN_REVIEW: (
            f"Sent for review: a manager of {article.department.name} publishes it."
        ),
        Status.PUBLISHED: "Published: employees find it in the portal and in suggestions.",
    }[Status(article.status)]


@login_required
@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "esm.work_queues"):
        raise PermissionDenied
    articles = list(selectors.articles_for_staff(user=request.user))
    return render(
        request,
        "services/article_list.html",
        {
            "in_review": [a for a in articles if a.status == Status.IN_REVIEW],
            "drafts": [a for a in articles if a.status == Status.DRAFT],
            "published": [a for a in articles if a.status == Status.PUBLISHED],
            "publishes": {
                a.pk for a in articles if can(request.user, "services.publish_article", a)
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_for_editor(user=request.user, slug=slug)
    form_kwargs = {
        "items": selectors.article_related_item_choices(article=article),
        "statuses": article_statuses(request.user, article),
        "labels": _status_labels(article),
    }
    if request.method == "GET":
        initial = {
            "title": article.title,
            "body": article.body,
            "related_items": list(article.related_items.all()),
            "status": article.status,
        }
        return _edit_page(request, article, ArticleForm(initial=initial, **form_kwargs))

    form = ArticleForm(request.POST, **form_kwargs)
    if not form.is_valid():
        return _edit_page(request, article, form, status=400)
    try:
        article = actions.article_update(article=article, editor=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        form.add_error("status", str(refusal))
        return _edit_page(request, article, form, status=403)
    messages.success(request, _saved_message(article))
    return redirect("article_detail", slug=article.slug)


def _edit_page(
    request: HttpRequest, article: Article, form: ArticleForm, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "services/article_edit.html",
        {"article": article, "form": form},
        status=status,
    )
