"""Which agencies' events each sending system has sent, kept as pairs: whether a source is another agency's system
was asked of every event of the source (all of them read, for every document an agency sends). Filled from the
events stored."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    Event, SourceAgency = apps.get_model("chronology", "Event"), apps.get_model("chronology", "SourceAgency")
    pairs = Event.objects.exclude(source_system="jigsaw").values_list("source_system", "agency_id").distinct()
    SourceAgency.objects.bulk_create(
        [SourceAgency(source=source, agency_id=agency) for source, agency in pairs.order_by()], batch_size=500
    )


class Migration(migrations.Migration):

    dependencies = [
        ('agencies', '0010_chronology_visits'),
        ('chronology', '0013_event_types_looked_for'),
    ]

    operations = [
        migrations.CreateModel(
            name='SourceAgency',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=64)),
                ('agency', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='agencies.agency')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('source', 'agency'), name='unique_source_agency')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
