from django.db import migrations

TABLES = ["escalation_alerthistory", "escalation_disagreementnote"]


def add_triggers(apps, schema_editor):
    # jigsaw_refuse_change() is created by the access log's migration.
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION jigsaw_refuse_change();",
                params=None,
            )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial"), ("agencies", "0004_system_account_and_append_only_access_log")]

    operations = [migrations.RunPython(add_triggers, drop_triggers)]
