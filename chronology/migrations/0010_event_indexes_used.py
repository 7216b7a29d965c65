"""Events keep only the indexes their queries use: every index is paid for by each event written, and one import
writes tens of thousands. The child's own index goes (the three indexes on events begin with the child); so do the
agency's and the recorder's (no query selects events by either across children: within a child's chronology the
child's indexes serve); an entry's amendments are found through a partial index of the few events that amend.
Only indexes change; the foreign keys stay as they are (dropping and adding one again, as Django's AlterField does,
would check every stored event, and rebuild the table on SQLite)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DROPPED = {
    "child": "chronology_event_child_id_f2c6a415",
    "agency": "chronology_event_agency_id_0a360f1d",
    "recorded_by_user": "chronology_event_recorded_by_user_id_45ee560c",
    "amends": "chronology_event_amends_id_de19cf9e",
}


def _drop(field: str) -> migrations.RunSQL:
    name = DROPPED[field]
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "chronology_event" ("{field}_id")',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0009_drop_events_version_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="child",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="chronology.child",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="agency",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="agencies.agency",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="recorded_by_user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recorded_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="amends",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="amendments",
                        to="chronology.event",
                    ),
                ),
            ],
            database_operations=[_drop(field) for field in DROPPED],
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(condition=models.Q(amends__isnull=False), fields=["amends"], name="event_amends"),
        ),
    ]
