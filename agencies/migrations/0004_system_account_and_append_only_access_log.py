from django.contrib.auth.hashers import make_password
from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION jigsaw_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- TRUNCATE stays possible for the table's owner (the test suite's flush uses it); the application never truncates.
CREATE TRIGGER agencies_accesslog_append_only
    BEFORE UPDATE OR DELETE ON agencies_accesslog
    FOR EACH ROW EXECUTE FUNCTION jigsaw_refuse_change();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS agencies_accesslog_append_only ON agencies_accesslog;
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


def add_system_account(apps, schema_editor):
    # Commands and tasks act as this account when no person is named; it can never sign in.
    User = apps.get_model("agencies", "User")
    User.objects.get_or_create(
        username="system",
        defaults={
            "first_name": "Jigsaw",
            "last_name": "system account",
            "is_active": False,
            "password": make_password(None),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("agencies", "0003_accesslog_child_accesslog_user_and_more")]

    operations = [
        migrations.RunPython(add_system_account, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
