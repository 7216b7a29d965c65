"""Search keys again for names holding letters outside plain Latin: names are now transliterated ('Hołt' is
found as 'Holt'), where such letters used to be dropped."""

from django.db import migrations


def refill_name_keys(apps, schema_editor):
    from chronology.search import name_keys

    for model_name in ("Child", "ChildAlias"):
        model = apps.get_model("chronology", model_name)
        changed = []
        rows = model.objects.only("pk", "given_name", "family_name", "name_keys").order_by("pk")
        for record in rows.iterator(chunk_size=2000):
            if (record.given_name + record.family_name).isascii():
                continue  # plain Latin names keep their keys
            keys = name_keys(record.given_name, record.family_name)
            if keys != record.name_keys:
                record.name_keys = keys
                changed.append(record)
        model.objects.bulk_update(changed, ["name_keys"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0007_events_version"),
    ]

    operations = [migrations.RunPython(refill_name_keys, migrations.RunPython.noop)]
