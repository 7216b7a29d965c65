"""Listening to the other modules, inside their transactions: an assessment or a break-glass opening
is never stored without the alerts it calls for, and those never without their outbox rows."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from agencies.models import Involvement
from agencies.signals import exceptional_access_opened, exceptional_access_reviewed
from chronology import checks
from chronology.signals import events_written
from escalation.services import alerts, loops
from thresholds.signals import assessments_stored


@receiver(assessments_stored)
def _alerts(sender, pairs, **kwargs):
    alerts.alerts_for_many(pairs)


@receiver(exceptional_access_opened)
def _break_glass(sender, opening, **kwargs):
    alerts.break_glass_alert(opening)


@receiver(exceptional_access_reviewed)
def _reviewed(sender, opening, actor, **kwargs):
    alerts.break_glass_reviewed(opening, actor)


@receiver(events_written)
def _referrals(sender, child_ids, **kwargs):
    loops.referrals_track(child_ids=child_ids)


@receiver(post_save, sender=Involvement)
def _involved(sender, instance, created, update_fields=None, **kwargs):
    # Someone new works with the child (or leads now): they hear of its open alerts too. A save that does
    # not touch `lead` (a renewal, an ending) changes nobody's part in the alerts.
    if created or (instance.lead and (update_fields is None or "lead" in update_fields)):
        alerts.alerts_route_again(child=instance.child)


checks.register(loops.closure_check)
