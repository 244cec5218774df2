"""Knowledge sharing per person and department: each figure on hand-built data with the
answer worked out by hand, the pages and the API that show it, and who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from esm import clock
from esm.models import Department, DepartmentRole
from esm.permissions import can
from services.knowledge_sharing import (
    knowledge_sharing_by_department,
    knowledge_sharing_by_person,
    knowledge_sharing_contributors,
    knowledge_sharing_ranking,
    recent,
)
from services.models import Article, ArticleView, Consult
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory, UserFactory
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    ConsultFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
IN_PERIOD = NOW - dt.timedelta(days=10)
BEFORE = NOW - dt.timedelta(days=120)
AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def person(username, *, home=None, roles=(), first_name=""):
    user = UserFactory(username=username, first_name=first_name or username.title())
    if home is not None:
        ProfileFactory(user=user, department=home)
    for department, role in roles:
        DepartmentRoleFactory(user=user, department=department, role=role)
    return user


def article(author, department, *, at=IN_PERIOD, status=Article.Status.PUBLISHED):
    with clock.travel(at):
        return ArticleFactory(author=author, department=department, status=status)


def read(article, reader, *, item, at=IN_PERIOD):
    with clock.travel(at):
        return ArticleView.objects.create(article=article, user=reader, catalog_item=item)


def consult(*, asked_by, answered_by, from_department, to_department, at=IN_PERIOD):
    return ConsultFactory(
        from_department=from_department,
        to_department=to_department,
        asked_by=asked_by,
        asked_at=at - dt.timedelta(hours=2),
        state=Consult.State.ANSWERED if answered_by else Consult.State.OPEN,
        answered_by=answered_by,
        answered_at=at if answered_by else None,
    )


@pytest.fixture
def enterprise(it_department, hr_department, sales_department, facilities_department):
    """Ana (IT agent) and Bob (IT manager) share what they know; the answers by hand:

    Ana: articles written 2 (a draft and an article from before the period do not count);
    deflections 6: Ivy (IT), Sam, Sue twice, Hal (HR), Nobody (no department) (Fred raised a
    request anyway; Ola read before the period); consults answered 2 (Hal's and Hank's:
    the open one and the old one do not count); colleagues helped 5: Sam, Sue, Hal,
    Nobody, Hank (Ivy is IT like Ana; Hal counts once, as reader and as asker).

    Bob: 1 article, deflections 2 (Sam, Fay of Facilities), helped 2.

    IT: 3 articles, 8 deflections, 2 consults answered, helped 6: Sam, Sue, Hal, Nobody,
    Hank, Fay.
    """
    it, hr, sales, facilities = (
        it_department,
        hr_department,
        sales_department,
        facilities_department,
    )
    ana = person("ana", home=it, roles=[(it, AGENT)])
    bob = person("bob", home=it, roles=[(it, MANAGER)])
    ivy = person("ivy", home=it)
    sam, sue, fred, ola = (person(name, home=sales) for name in ("sam", "sue", "fred", "ola"))
    hal, hank = person("hal", home=hr, roles=[(hr, AGENT)]), person("hank", home=hr)
    fay = person("fay", home=facilities)
    nobody = person("nobody")
    item = CatalogItemFactory(department=it)

    first, second = article(ana, it), article(ana, it)
    article(ana, it, status=Article.Status.DRAFT)
    old = article(ana, it, at=BEFORE)
    for reader in (ivy, sam, sue, sue, hal, fred):
        read(first, reader, item=item)
    read(old, nobody, item=item)
    read(second, ola, item=item, at=BEFORE)
    ServiceRequestFactory(catalog_item=item, requester=fred, submitted_at=IN_PERIOD)

    consult(asked_by=hal, answered_by=ana, from_department=hr, to_department=it)
    consult(asked_by=hank, answered_by=ana, from_department=hr, to_department=it)
    consult(asked_by=hank, answered_by=None, from_department=hr, to_department=it)
    consult(asked_by=sam, answered_by=ana, from_department=hr, to_department=it, at=BEFORE)

    bobs = article(bob, it)
    read(bobs, sam, item=item)
    read(bobs, fay, item=item)
    return {"ana": ana, "bob": bob, "ivy": ivy, "hal": hal, "it": it, "hr": hr}


@pytest.fixture
def hal(enterprise):
    """An HR agent: staff of HR only."""
    return enterprise["hal"]


def figures(sharing):
    return (
        sharing.articles_written,
        sharing.deflections,
        sharing.consults_answered,
        sharing.colleagues_helped,
    )


def test_a_persons_figures_count_articles_deflections_consults_and_people_helped(enterprise):
    since, until = recent()
    people = [enterprise["ana"].pk, enterprise["bob"].pk, enterprise["ivy"].pk]

    sharing = knowledge_sharing_by_person(people=people, since=since, until=until)

    assert figures(sharing[enterprise["ana"].pk]) == (2, 6, 2, 5)
    assert figures(sharing[enterprise["bob"].pk]) == (1, 2, 0, 2)
    assert figures(sharing[enterprise["ivy"].pk]) == (0, 0, 0, 0)


def test_a_departments_figures_count_distinct_people_outside_it(enterprise):
    since, until = recent()
    ids = [enterprise["it"].pk, enterprise["hr"].pk]

    sharing = knowledge_sharing_by_department(department_ids=ids, since=since, until=until)

    assert figures(sharing[enterprise["it"].pk]) == (3, 8, 2, 6)
    assert figures(sharing[enterprise["hr"].pk]) == (0, 0, 0, 0)


def test_a_deflected_colleague_of_the_same_department_is_not_helping_another_department(
    it_department, sales_department
):
    ana = person("ana", home=it_department, roles=[(it_department, AGENT)])
    at_home = person("colleague", home=it_department)
    by_role = person("agent", home=sales_department, roles=[(it_department, AGENT)])
    item = CatalogItemFactory(department=it_department)
    written = article(ana, it_department)
    read(written, at_home, item=item)
    read(written, by_role, item=item)
    read(written, ana, item=item)
    since, until = recent()

    mine = knowledge_sharing_by_person(people=[ana.pk], since=since, until=until)[ana.pk]
    ours = knowledge_sharing_by_department(
        department_ids=[it_department.pk], since=since, until=until
    )[it_department.pk]

    assert (mine.deflections, mine.colleagues_helped) == (3, 0)
    assert (ours.deflections, ours.colleagues_helped) == (3, 0)


def test_a_reader_in_any_of_the_authors_departments_is_not_another_department(
    it_department, facilities_department
):
    """Ana works for IT and Facilities and writes for IT: a Facilities reader is her own
    colleague, but is help across departments for IT."""
    ana = person(
        "ana", home=it_department, roles=[(it_department, AGENT), (facilities_department, AGENT)]
    )
    fay = person("fay", home=facilities_department)
    item = CatalogItemFactory(department=it_department)
    read(article(ana, it_department), fay, item=item)
    since, until = recent()

    mine = knowledge_sharing_by_person(people=[ana.pk], since=since, until=until)[ana.pk]
    ours = knowledge_sharing_by_department(
        department_ids=[it_department.pk], since=since, until=until
    )[it_department.pk]

    assert mine.colleagues_helped == 0
    assert ours.colleagues_helped == 1


def test_the_ranking_puts_the_most_help_across_departments_first(enterprise):
    since, until = recent()
    people = (
        type(enterprise["ana"])
        .objects.filter(pk__in=[enterprise[name].pk for name in ("ivy", "bob", "ana")])
        .order_by("username")
    )

    ranking = knowledge_sharing_ranking(people=people, since=since, until=until)

    assert [contributor.person.username for contributor in ranking] == ["ana", "bob", "ivy"]


def test_contributors_are_the_ranking_of_those_who_shared_anything(enterprise):
    """Only authors and consult answerers can have a figure: the others are never ranked,
    and an author with nothing in the period is left out like them."""
    it, hr = enterprise["it"], enterprise["hr"]
    carl = person("carl", home=it, roles=[(it, AGENT)])
    consult(asked_by=enterprise["hal"], answered_by=carl, from_department=hr, to_department=it)
    dora = person("dora", home=it, roles=[(it, AGENT)])
    article(dora, it, status=Article.Status.DRAFT, at=BEFORE)
    names = ("ivy", "bob", "ana", "dora")
    people = (
        type(carl)
        .objects.filter(pk__in=[carl.pk, *(enterprise.get(n, dora).pk for n in names)])
        .order_by("username")
    )
    since, until = recent()

    contributors = knowledge_sharing_contributors(people=people, since=since, until=until)

    assert [(c.person.username, figures(c.sharing)) for c in contributors] == [
        ("ana", (2, 6, 2, 5)),
        ("bob", (1, 2, 0, 2)),
        ("carl", (0, 0, 1, 1)),
    ]


def test_figures_take_a_constant_number_of_queries(enterprise, django_assert_num_queries):
    since, until = recent()
    with django_assert_num_queries(1):
        knowledge_sharing_by_person(
            people=[enterprise["ana"].pk, enterprise["bob"].pk], since=since, until=until
        )
    with django_assert_num_queries(1):
        knowledge_sharing_by_department(
            department_ids=[enterprise["it"].pk, enterprise["hr"].pk], since=since, until=until
        )


# -- the person's own figures on the workspace ----------------------------------------------


def test_staff_read_their_own_knowledge_sharing_on_the_workspace(
    client, enterprise, django_assert_max_num_queries
):
    client.force_login(enterprise["ana"])
    with django_assert_max_num_queries(16):
        response = client.get(reverse("workspace"))

    sharing = response.context["sections"][0].context["sharing"]
    assert figures(sharing) == (2, 6, 2, 5)
    content = response.content.decode()
    assert "Your knowledge sharing" in content
    assert "Colleagues helped in other departments" in content
    assert reverse("knowledge_sharing") in content


def test_the_workspace_says_how_to_start_when_nothing_was_shared(client, it_agent):
    client.force_login(it_agent)
    content = client.get(reverse("workspace")).content.decode()
    assert "Your knowledge sharing" in content
    assert "Nothing in these days yet" in content


# -- the department's page ------------------------------------------------------------------


def test_the_department_page_thanks_its_people_by_name_biggest_contribution_first(
    client, enterprise, django_assert_max_num_queries
):
    client.force_login(enterprise["bob"])
    url = reverse("knowledge_sharing_department", args=[enterprise["it"].slug])
    with django_assert_max_num_queries(14):
        response = client.get(url)

    assert response.status_code == 200
    assert figures(response.context["totals"]) == (3, 8, 2, 6)
    ranked = [contributor.person.username for contributor in response.context["page"]]
    assert ranked == ["ana", "bob"]  # Ivy has no role: she reads, she does not answer for IT
    assert "thank you, Ana" in response.content.decode()


def test_the_department_page_costs_the_same_queries_with_more_people(
    client, it_department, django_assert_max_num_queries
):
    manager = person("boss", home=it_department, roles=[(it_department, MANAGER)])
    item = CatalogItemFactory(department=it_department)
    client.force_login(manager)
    url = reverse("knowledge_sharing_department", args=[it_department.slug])
    with django_assert_max_num_queries(14):
        client.get(url)
    for n in range(30):
        writer = person(f"writer{n}", home=it_department, roles=[(it_department, AGENT)])
        read(article(writer, it_department), person(f"reader{n}"), item=item)

    with django_assert_max_num_queries(14):
        response = client.get(url, {"page": 2})

    assert len(response.context["page"].object_list) == 31 - 25


@pytest.mark.parametrize(
    ("viewer", "status"),
    [
        ("department_manager", 200),
        ("it_agent", 200),
        ("executive", 200),
        ("superuser", 200),
        ("hr_agent", 403),
        ("employee", 403),
        ("outsider", 403),
    ],
)
def test_a_departments_page_is_for_its_staff_executives_and_admins(
    client, request, it_department, viewer, status
):
    client.force_login(request.getfixturevalue(viewer))
    url = reverse("knowledge_sharing_department", args=[it_department.slug])
    assert client.get(url).status_code == status


def test_the_choice_leads_staff_of_one_department_straight_to_it(client, it_agent, it_department):
    client.force_login(it_agent)
    response = client.get(reverse("knowledge_sharing"))
    assert response.status_code == 302
    assert response.url == reverse("knowledge_sharing_department", args=[it_department.slug])


def test_executives_choose_among_every_department_with_its_totals(client, enterprise, executive):
    client.force_login(executive)
    response = client.get(reverse("knowledge_sharing"))
    rows = {department.slug: figures(sharing) for department, sharing in response.context["rows"]}
    assert rows[enterprise["it"].slug] == (3, 8, 2, 6)
    assert len(rows) == Department.objects.count()


def test_an_outsider_may_not_choose_a_department(client, outsider, employee):
    for viewer in (outsider, employee):
        client.force_login(viewer)
        assert client.get(reverse("knowledge_sharing")).status_code == 403


def test_the_rule_answers_per_department(it_agent, hr_agent, it_department, executive, outsider):
    assert can(it_agent, "services.view_knowledge_sharing", it_department)
    assert not can(hr_agent, "services.view_knowledge_sharing", it_department)
    assert can(executive, "services.view_knowledge_sharing", it_department)
    assert can(hr_agent, "services.browse_knowledge_sharing")
    assert not can(outsider, "services.browse_knowledge_sharing")


# -- the API --------------------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_gives_each_department_the_reader_may_read(enterprise, executive, hal):
    rows = api(executive).get(reverse("api:knowledge-sharing")).json()["results"]
    it = next(row for row in rows if row["department"] == enterprise["it"].slug)
    assert (
        it["articles_written"],
        it["deflections"],
        it["consults_answered"],
        it["colleagues_helped"],
    ) == (3, 8, 2, 6)
    assert len(rows) == Department.objects.count()

    mine = api(hal).get(reverse("api:knowledge-sharing")).json()["results"]
    assert [row["department"] for row in mine] == [enterprise["hr"].slug]


def test_the_api_filters_by_department_with_the_pages_rule(enterprise, executive, hal, outsider):
    url = reverse("api:knowledge-sharing")
    only_it = api(executive).get(url, {"department": enterprise["it"].slug}).json()["results"]
    assert [row["department"] for row in only_it] == [enterprise["it"].slug]
    assert api(hal).get(url, {"department": enterprise["it"].slug}).status_code == 403
    assert api(outsider).get(url).status_code == 403
    people = reverse("api:knowledge-sharing-people")
    assert api(outsider).get(people).status_code == 403
    assert api(hal).get(people, {"department": enterprise["it"].slug}).status_code == 403


def test_the_api_ranks_a_departments_people(enterprise, django_assert_max_num_queries):
    client = api(enterprise["bob"])
    url = reverse("api:knowledge-sharing-people")
    with django_assert_max_num_queries(12):
        rows = client.get(url, {"department": enterprise["it"].slug}).json()["results"]
    assert [(row["username"], row["colleagues_helped"]) for row in rows] == [
        ("ana", 5),
        ("bob", 2),
    ]
