"""`rows_insert`: rows written from tuples, on PostgreSQL from a column array each."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from esm.bulk import rows_insert
from esm.models import Holiday
from tests.esm.factories import BusinessCalendarFactory

pytestmark = pytest.mark.django_db


def test_rows_go_in_as_given_by_attribute_name():
    calendar = BusinessCalendarFactory()
    rows = [
        (calendar.pk, dt.date(2026, 12, 25), "Christmas"),
        (calendar.pk, dt.date(2026, 12, 26), "Boxing Day"),
    ]

    rows_insert(Holiday, ("calendar_id", "date", "name"), rows)

    assert list(calendar.holidays.values_list("calendar_id", "date", "name")) == rows


def test_no_rows_send_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_insert(Holiday, ("calendar_id", "date", "name"), [])


def test_a_row_the_table_refuses_leaves_the_others_out_too():
    calendar = BusinessCalendarFactory()
    christmas = (calendar.pk, dt.date(2026, 12, 25), "Christmas")

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Holiday, ("calendar_id", "date", "name"), [christmas, christmas])

    assert not calendar.holidays.exists()
