"""On PostgreSQL the database itself refuses to update or delete events.

The model already refuses, but raw SQL, bulk tools and future code paths go around the
ORM. TRUNCATE stays possible for test-database resets and deliberate archiving.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION esm_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'esm_event is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER esm_event_append_only
    BEFORE UPDATE OR DELETE ON esm_event
    FOR EACH ROW EXECUTE FUNCTION esm_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS esm_event_append_only ON esm_event;
DROP FUNCTION IF EXISTS esm_event_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("esm", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
