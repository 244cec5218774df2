"""`esm.pagination.PagedByIds`: a sorted queryset paged on its ids, then read by them."""

import pytest
from django.core.paginator import Paginator
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat

from esm.models import Department
from esm.pagination import PagedByIds
from tests.esm.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def departments():
    """Seven departments, each headed by someone; names sort in the opposite order of ids."""
    return [
        DepartmentFactory(name=f"Department {9 - n}", slug=f"d{n}", head=UserFactory())
        for n in range(7)
    ]


def _headed():
    return (
        Department.objects.select_related("head")
        .annotate(label=Concat(F("name"), Value(" / "), F("slug"), output_field=CharField()))
        .order_by("name")
    )


def test_pages_keep_the_querysets_order_count_and_annotations(departments):
    paginator = Paginator(PagedByIds(_headed()), 3)

    assert paginator.count == 7
    assert paginator.num_pages == 3
    pages = [list(paginator.page(number)) for number in (1, 2, 3)]
    assert [[d.name for d in page] for page in pages] == [
        ["Department 3", "Department 4", "Department 5"],
        ["Department 6", "Department 7", "Department 8"],
        ["Department 9"],
    ]
    assert pages[0][0].label == "Department 3 / d6"


def test_a_page_is_two_reads_with_its_rows_relations_loaded(departments, django_assert_num_queries):
    paged = PagedByIds(_headed())

    with django_assert_num_queries(2):
        page = paged[0:3]
        heads = [department.head.username for department in page]

    assert heads == [d.head.username for d in reversed(departments)][:3]


def test_a_row_gone_between_the_two_reads_is_left_off_its_page(departments, monkeypatch):
    queryset = _headed()
    real_in_bulk = type(queryset).in_bulk

    def in_bulk_after_a_delete(self, ids):
        Department.objects.filter(name="Department 4").delete()
        return real_in_bulk(self, ids)

    monkeypatch.setattr(type(queryset), "in_bulk", in_bulk_after_a_delete)

    assert [d.name for d in PagedByIds(queryset)[0:3]] == ["Department 3", "Department 5"]


def test_an_empty_page_reads_no_rows(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert PagedByIds(_headed())[0:25] == []


def test_only_slices_are_read():
    with pytest.raises(TypeError):
        PagedByIds(_headed())[0]


def test_a_count_the_caller_read_already_is_not_counted_again(
    departments, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert Paginator(PagedByIds(_headed(), count=7), 3).num_pages == 3


def _plain(ids):
    """The rows of `ids`, in no order of theirs, without the sort's annotation."""
    return Department.objects.select_related("head").filter(pk__in=ids).order_by("-pk")


def test_rows_read_by_a_function_of_their_own_keep_the_sorts_order(
    departments, django_assert_num_queries
):
    paged = PagedByIds(_headed(), rows=_plain)

    with django_assert_num_queries(2) as queries:
        page = paged[3:6]
        heads = [department.head.username for department in page]

    assert [d.name for d in page] == ["Department 6", "Department 7", "Department 8"]
    assert heads == [d.head.username for d in reversed(departments)][3:6]
    assert not hasattr(page[0], "label")
    assert " / " not in queries.captured_queries[1]["sql"]


def test_ids_read_elsewhere_page_the_rows_without_a_queryset(departments):
    """A page's ids from a function (a query whose text is kept, `esm.kept_queries`)."""
    by_name = [d.pk for d in sorted(departments, key=lambda d: d.name)]
    asked = []

    def ids(index: slice) -> list[int]:
        asked.append(index)
        return by_name[index]

    paged = PagedByIds(ids=ids, rows=_plain, count=7)

    assert [d.name for d in Paginator(paged, 3).page(2)] == [
        "Department 6",
        "Department 7",
        "Department 8",
    ]
    assert asked == [slice(3, 6)]
    with pytest.raises(TypeError):
        PagedByIds(ids=ids, rows=_plain).count()
    with pytest.raises(TypeError):
        PagedByIds(ids=ids)
