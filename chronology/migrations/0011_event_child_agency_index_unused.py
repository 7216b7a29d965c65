"""Events by child and agency need no index of their own: a chronology narrowed to some agencies is still read in
date order, through the child's index by date, and a child has thousands of events at most; every event written
paid for the index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0010_event_indexes_used"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="event",
            name="chronology__child_i_353a46_idx",
        ),
    ]
