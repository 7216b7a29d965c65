"""Events by child and type are indexed only for the types records are searched by (referrals and the outcomes
answering them, case closures, plans): every event written paid for the whole index, and the chronology's filter by type reads a record
in date order through the child's index by date. The new index is built before the old one goes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chronology", "0012_event_append_only_always"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(
                    (
                        "type__in",
                        [
                            "assessment",
                            "case_closed",
                            "child_protection_conference",
                            "plan_end",
                            "plan_start",
                            "referral",
                            "strategy_discussion",
                        ],
                    )
                ),
                fields=["child", "type"],
                name="event_types_looked_for",
            ),
        ),
        migrations.RemoveIndex(
            model_name="event",
            name="chronology__child_i_884b88_idx",
        ),
    ]
