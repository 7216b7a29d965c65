"""The append-only trigger fires for every session, replicas included: a session writing as a replica
(`session_replication_role`, as the batch import does for its COPY) skips the triggers that fire only for the
application, and events must stay unchangeable there too."""

from django.db import migrations


def always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE chronology_event ENABLE ALWAYS TRIGGER chronology_event_append_only", params=None
        )


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE chronology_event ENABLE TRIGGER chronology_event_append_only", params=None)


class Migration(migrations.Migration):
    dependencies = [("chronology", "0011_event_child_agency_index_unused")]

    operations = [migrations.RunPython(always, as_before)]
