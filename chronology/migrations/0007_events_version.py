"""A version number per record, raised in the transaction that adds events to it (api.reads keys on it)."""

import django.db.models.deletion
from django.db import migrations, models


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
    ]
