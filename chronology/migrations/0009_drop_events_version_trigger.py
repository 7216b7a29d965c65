"""An earlier form of migration 0007 raised EventsVersion with a database trigger; the chronology now raises it on
`events_written` (EventsVersion.raise_for). A database migrated with that form would raise it twice and pay the
trigger's cost on every COPY: the trigger goes, wherever it is."""

from django.db import migrations

DROP = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS chronology_events_version ON chronology_event; "
        "DROP FUNCTION IF EXISTS chronology_events_version_raise();"
    ),
    "sqlite": "DROP TRIGGER IF EXISTS chronology_events_version;",
}


def drop_trigger(apps, schema_editor):
    statement = DROP.get(schema_editor.connection.vendor)
    if statement:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0008_name_keys_transliterated"),
    ]

    operations = [migrations.RunPython(drop_trigger, migrations.RunPython.noop)]
