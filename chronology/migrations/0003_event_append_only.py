from django.db import migrations

TRIGGER_SQL = """
CREATE TRIGGER chronology_event_append_only
    BEFORE UPDATE OR DELETE ON chronology_event
    FOR EACH ROW EXECUTE FUNCTION jigsaw_refuse_change();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS chronology_event_append_only ON chronology_event", params=None)


class Migration(migrations.Migration):
    # jigsaw_refuse_change() is created by the access log's migration.
    dependencies = [
        ("chronology", "0002_child_elective_home_education_child_ethnicity_and_more"),
        ("agencies", "0004_system_account_and_append_only_access_log"),
    ]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
