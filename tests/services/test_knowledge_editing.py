"""Articles written in the portal: drafted from a resolution, edited and sent for review by
their department's staff, published by its managers, never seen by employees before."""

import pytest
from django.urls import reverse

from esm.models import Event, EventKind
from services import actions
from services.actions import ActionRefused
from services.models import Article, CatalogItem, Queue
from services.permissions import article_statuses
from tests.services.factories import ArticleFactory, CatalogItemFactory

pytestmark = pytest.mark.django_db

Status = Article.Status


@pytest.fixture
def draft(it_department, it_agent):
    return ArticleFactory(
        slug="dock", title="Dock", body="Old", department=it_department, status=Status.DRAFT
    )


@pytest.fixture
def dock_item(it_department):
    return CatalogItemFactory(name="Docking station", slug="dock-item", department=it_department)


def edit_url(article):
    return reverse("article_edit", args=[article.slug])


def form(status, items=(), title="Dock that will not wake", body="1. **Unplug** it"):
    return {"title": title, "body": body, "status": status, "related_items": [i.pk for i in items]}


# -- who may do what (one place: services.permissions) ---------------------------------------


def test_statuses_follow_the_role_in_the_articles_department(
    draft, it_agent, department_manager, hr_agent, employee
):
    assert article_statuses(it_agent, draft) == [Status.DRAFT, Status.IN_REVIEW]
    assert article_statuses(department_manager, draft) == list(Status)
    assert article_statuses(hr_agent, draft) == []
    assert article_statuses(employee, draft) == []


def test_an_agents_edit_keeps_a_published_article_published(it_agent, it_department):
    article = ArticleFactory(department=it_department, status=Status.PUBLISHED)

    assert Status.PUBLISHED in article_statuses(it_agent, article)


# -- the action ------------------------------------------------------------------------------


def test_agent_sends_a_draft_for_review(draft, it_agent, dock_item):
    actions.article_update(
        article=draft,
        editor=it_agent,
        title="Dock that will not wake",
        body="Unplug it",
        related_items=[dock_item],
        status=Status.IN_REVIEW,
    )

    draft.refresh_from_db()
    assert (draft.title, draft.body, draft.status) == (
        "Dock that will not wake",
        "Unplug it",
        "review",
    )
    assert list(draft.related_items.all()) == [dock_item]
    assert draft.slug == "dock"
    [changed] = Event.objects.filter(kind=EventKind.CONFIG_CHANGED)
    assert (changed.subject_type, changed.subject_id, changed.actor) == (
        "services.article",
        draft.pk,
        it_agent,
    )
    assert changed.department == draft.department
    assert changed.payload["via"] == "article_update"
    assert changed.payload["changes"] == {
        "body": ["Old", "Unplug it"],
        "related_items": [[], [str(dock_item)]],
        "status": ["draft", "review"],
        "title": ["Dock", "Dock that will not wake"],
    }


def test_a_manager_publishing_an_article_is_recorded_as_its_status_changing(
    draft, department_manager
):
    actions.article_update(
        article=draft,
        editor=department_manager,
        title="Dock",
        body="Old",
        related_items=[],
        status=Status.PUBLISHED,
    )

    [changed] = Event.objects.filter(kind=EventKind.CONFIG_CHANGED)
    assert changed.actor == department_manager
    assert changed.payload["changes"] == {"status": ["draft", "published"]}


def test_an_agent_cannot_publish_and_nothing_changes(draft, it_agent):
    with pytest.raises(ActionRefused, match="manager of IT"):
        actions.article_update(
            article=draft,
            editor=it_agent,
            title="X",
            body="Y",
            related_items=[],
            status="published",
        )

    draft.refresh_from_db()
    assert (draft.title, draft.body, draft.status) == ("Dock", "Old", "draft")
    assert not Event.objects.exists()


def test_staff_of_another_department_cannot_edit(draft, hr_agent):
    with pytest.raises(ActionRefused):
        actions.article_update(
            article=draft, editor=hr_agent, title="X", body="Y", related_items=[], status="draft"
        )

    draft.refresh_from_db()
    assert draft.title == "Dock"


# -- the pages -------------------------------------------------------------------------------


def test_edit_page_offers_the_agent_draft_and_review_only(client, draft, it_agent, dock_item):
    client.force_login(it_agent)

    response = client.get(edit_url(draft))

    assert response.status_code == 200
    choices = [value for value, _ in response.context["form"].fields["status"].choices]
    assert choices == ["draft", "review"]
    assert 'name="related_items"' in response.content.decode()


def test_edit_page_is_404_for_employees_and_other_departments(client, draft, employee, hr_agent):
    for person in (employee, hr_agent):
        client.force_login(person)
        assert client.get(edit_url(draft)).status_code == 404
        assert client.post(edit_url(draft), form("draft")).status_code == 404
    draft.refresh_from_db()
    assert draft.title == "Dock"


def test_form_errors_show_beside_their_fields_and_nothing_changes(client, draft, it_agent):
    client.force_login(it_agent)

    response = client.post(edit_url(draft), form("published", title=""))

    assert response.status_code == 400
    page = response.content.decode()
    assert page.count('class="field has-error"') == 2
    assert "This field is required." in page
    assert "Select a valid choice." in page
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("Dock", "draft")


def test_agent_submits_for_review_and_a_manager_publishes(
    client, draft, it_agent, department_manager, employee, dock_item
):
    client.force_login(it_agent)
    response = client.post(edit_url(draft), form("review", items=[dock_item]), follow=True)
    assert "Sent for review: a manager of IT publishes it." in response.content.decode()

    client.force_login(employee)
    assert client.get(reverse("article_detail", args=["dock"])).status_code == 404

    client.force_login(department_manager)
    listing = client.get(reverse("article_list")).content.decode()
    assert "Review and publish" in listing
    response = client.post(edit_url(draft), form("published", items=[dock_item]), follow=True)
    assert "Published: employees find it" in response.content.decode()

    client.force_login(employee)
    page = client.get(reverse("article_detail", args=["dock"]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "<strong>Unplug</strong>" in content
    assert edit_url(draft) not in content


def test_markdown_is_sanitized_when_shown(client, draft, department_manager):
    client.force_login(department_manager)
    client.post(edit_url(draft), form("published", body="Hi <script>alert(1)</script>"))

    page = client.get(reverse("article_detail", args=["dock"])).content.decode()

    assert "<script>alert(1)</script>" not in page


def test_staff_see_an_edit_link_on_the_article(client, draft, it_agent):
    client.force_login(it_agent)

    page = client.get(reverse("article_detail", args=["dock"])).content.decode()

    assert f'href="{edit_url(draft)}"' in page


def test_article_list_is_for_staff_and_shows_only_their_departments(
    client, draft, it_agent, hr_department, employee
):
    ArticleFactory(title="HR secret draft", department=hr_department, status=Status.DRAFT)
    client.force_login(it_agent)

    page = client.get(reverse("article_list")).content.decode()

    assert "Dock" in page
    assert "HR secret draft" not in page
    client.force_login(employee)
    assert client.get(reverse("article_list")).status_code == 403


def test_edit_page_keeps_a_constant_number_of_queries(
    client, draft, it_agent, it_department, django_assert_max_num_queries
):
    client.force_login(it_agent)
    with django_assert_max_num_queries(12) as small:
        client.get(edit_url(draft))
    for _ in range(5):
        item = CatalogItemFactory(department=it_department)
        draft.related_items.add(item)
    with django_assert_max_num_queries(12) as large:
        client.get(edit_url(draft))
    assert len(large) == len(small)


# -- from a resolved task ---------------------------------------------------------------------


def test_drafting_from_a_task_leads_to_the_edit_page_with_a_true_message(
    client, it_agent, it_department, employee
):
    queue = Queue.objects.create(
        department=it_department, name="Desk", slug="desk", is_default=True
    )
    item = CatalogItemFactory(department=it_department)
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject="Dock asleep", answers=[], submission_key="k"
    )
    task = service_request.tasks.get()
    assert task.queue == queue
    actions.task_resolve(task=task, agent=it_agent, resolution="Unplug the dock.")
    client.force_login(it_agent)

    response = client.post(reverse("task_draft_article", args=[task.pk]), follow=True)

    article = Article.objects.get()
    assert response.redirect_chain[-1][0] == edit_url(article)
    page = response.content.decode()
    assert "only IT staff see it. Edit it here, then send it for review." in page
    assert "admin" not in page.lower().split("<main")[1]
    assert article.related_items.get() == CatalogItem.objects.get(pk=item.pk)

    client.force_login(employee)
    assert client.get(reverse("article_detail", args=[article.slug])).status_code == 404

    client.force_login(it_agent)
    again = client.post(reverse("task_draft_article", args=[task.pk]), follow=True)
    assert "article already exists: here it is" in again.content.decode()
    assert Article.objects.count() == 1
    [created] = Event.objects.filter(kind=EventKind.CONFIG_CREATED)
    assert (created.subject_id, created.actor) == (article.pk, it_agent)
    assert created.payload["via"] == "article_draft_from_task"
