"""Article search and suggestions rank by relevance: PostgreSQL's full-text search there,
a count of the words found (title before body) elsewhere."""

import pytest
from django.db import connection

from services import selectors
from tests.ci import running_in_ci
from tests.services.factories import ArticleFactory, CatalogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql" and not running_in_ci():
        pytest.skip("full-text search is PostgreSQL's; set DATABASE_URL")
    assert connection.vendor == "postgresql", "CI runs the search on PostgreSQL"


@pytest.fixture
def knowledge():
    return {
        "laptop": ArticleFactory(
            title="Laptop for a new hire",
            body="Order the laptop two weeks before the start date.",
        ),
        "checklist": ArticleFactory(
            title="Onboarding checklist for managers",
            body="Before a new hire starts: order a laptop, a desk and a badge.",
        ),
        "leave": ArticleFactory(
            title="Parental leave",
            body="New parents may take up to sixteen weeks; we hire temporary cover.",
            view_count=500,
        ),
        "repair": ArticleFactory(title="Repairing a broken screen", body="Send it to IT."),
    }


def _suggested(text):
    return [
        article.title
        for article in selectors.article_suggestions(item=CatalogItemFactory(), text=text)
    ]


def test_search_words_drop_stop_words_short_words_and_repeats():
    assert selectors.search_words("A laptop for the new hire, for THE laptop!") == [
        "laptop",
        "new",
        "hire",
    ]
    assert selectors.search_words("is it on?") == []


def test_suggestions_rank_by_relevance_and_leave_out_what_shares_a_word_or_two(knowledge):
    assert _suggested("laptop for new hire") == [
        "Laptop for a new hire",
        "Onboarding checklist for managers",
    ]
    assert _suggested("the for and") == []


def test_portal_search_ranks_title_matches_first(employee, knowledge):
    ArticleFactory(title="Desk booking", body="Book a laptop-friendly desk", view_count=900)

    found = [a.title for a in selectors.articles_matching(user=employee, query="laptop")]

    assert found[0] == "Laptop for a new hire"
    assert set(found) == {
        "Laptop for a new hire",
        "Onboarding checklist for managers",
        "Desk booking",
    }
    assert "Parental leave" not in [
        a.title for a in selectors.articles_matching(user=employee, query="new laptop")
    ]


def test_postgresql_ranks_with_full_text_search_and_reads_web_search_syntax(
    postgresql, employee, knowledge
):
    def found(query):
        return [a.title for a in selectors.articles_matching(user=employee, query=query)]

    # Stemmed: "hires" and "ordering" find "hire" and "order".
    assert found("hires ordering laptops") == [
        "Laptop for a new hire",
        "Onboarding checklist for managers",
    ]
    assert found('"new hire" -checklist') == ["Laptop for a new hire"]
    assert found("parental or screen") == ["Parental leave", "Repairing a broken screen"] or (
        found("parental or screen") == ["Repairing a broken screen", "Parental leave"]
    )
    assert _suggested("laptops for new hires") == [
        "Laptop for a new hire",
        "Onboarding checklist for managers",
    ]
