"""Search keys for the tolerant name search (chronology.search), filled for every existing child and alias."""

from django.db import migrations, models


def fill_name_keys(apps, schema_editor):
    from chronology.search import name_keys

    for model_name in ("Child", "ChildAlias"):
        model = apps.get_model("chronology", model_name)
        batch = []
        for record in model.objects.only("pk", "given_name", "family_name").order_by("pk").iterator(chunk_size=2000):
            record.name_keys = name_keys(record.given_name, record.family_name)
            batch.append(record)
            if len(batch) >= 2000:
                model.objects.bulk_update(batch, ["name_keys"])
                batch = []
        if batch:
            model.objects.bulk_update(batch, ["name_keys"])


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0005_batchimport"),
    ]

    operations = [
        migrations.AddField(
            model_name="child",
            name="name_keys",
            field=models.CharField(blank=True, default="", editable=False, max_length=1000),
        ),
        migrations.AddField(
            model_name="childalias",
            name="name_keys",
            field=models.CharField(blank=True, default="", editable=False, max_length=1000),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
    ]
