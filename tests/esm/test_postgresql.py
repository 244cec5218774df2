"""A web connection keeps as many prepared statements as configured (esm/postgresql.py).

PostgreSQL only: psycopg prepares statements, SQLite's driver keeps its own cache.
"""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are psycopg's"
    ),
]


def _new_connection(prepare_threshold):
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    options = {**wrapper.settings_dict["OPTIONS"], "prepare_threshold": prepare_threshold}
    wrapper.settings_dict = {**wrapper.settings_dict, "OPTIONS": options}
    wrapper.ensure_connection()
    return wrapper


def test_a_preparing_connection_keeps_the_configured_number_of_statements(settings):
    settings.DATABASE_PREPARED_MAX = 3
    wrapper = _new_connection(prepare_threshold=0)
    try:
        with wrapper.cursor() as cursor:
            for number in range(10):
                cursor.execute(f"SELECT {number} + %s", [1])
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            # Ten texts prepared: the least recently used were let go, but for the three
            # kept and this count's own (psycopg lets the oldest go at the next run).
            assert wrapper.connection.prepared_max == 3
            assert cursor.fetchone()[0] == 4
    finally:
        wrapper.close()


def test_a_connection_that_never_prepares_is_left_as_psycopg_makes_it(settings):
    settings.DATABASE_PREPARED_MAX = 3
    wrapper = _new_connection(prepare_threshold=None)
    try:
        assert wrapper.connection.prepared_max == 100
    finally:
        wrapper.close()
