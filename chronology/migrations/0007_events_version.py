"""A version number per record, raised by the database whenever events are added to it (api.reads keys on it).

On PostgreSQL one statement-level trigger raises it once per record per statement, so a batch import's COPY
costs one upsert per child, not one per event; on SQLite a row-level trigger does the same per event.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = """
CREATE FUNCTION chronology_events_version_raise() RETURNS trigger AS $$
BEGIN
    INSERT INTO chronology_eventsversion (child_id, version)
        SELECT DISTINCT child_id, 1 FROM added
    ON CONFLICT (child_id) DO UPDATE SET version = chronology_eventsversion.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER chronology_events_version
    AFTER INSERT ON chronology_event REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chronology_events_version_raise();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS chronology_events_version ON chronology_event;
DROP FUNCTION IF EXISTS chronology_events_version_raise();
"""
SQLITE = """
CREATE TRIGGER chronology_events_version AFTER INSERT ON chronology_event
BEGIN
    INSERT INTO chronology_eventsversion (child_id, version) VALUES (NEW.child_id, 1)
    ON CONFLICT (child_id) DO UPDATE SET version = version + 1;
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS chronology_events_version;"


def add_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE, params=None)
    else:
        raise NotImplementedError(f"No events-version trigger for {vendor}.")


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(POSTGRESQL_DROP if vendor == "postgresql" else SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0006_child_name_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventsVersion",
            fields=[
                (
                    "child",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="chronology.child",
                    ),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
