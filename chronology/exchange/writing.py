"""Import, second half: write what was planned, in the caller's transaction, once nothing is wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies.models import AuditEntry
from chronology import linkage, signals
from chronology.exchange.contract import _BATCH
from chronology.exchange.planning import _Planner
from chronology.exchange.plans import ImportSummary, _EventPlan
from chronology.models import ChildIdentifier, Event, Person, SourceAgency


class _Importer(_Planner):
    # --- writing: only once nothing is wrong ---

    def write(self) -> ImportSummary:
        now, counts = timezone.now(), self.summary.counts
        for area in self.new_areas:
            area.save()
            counts["areas"]["created"] += 1
        for _, agency in self.new_agencies:
            agency.area = self.agency_area[agency.code]
            agency.save()
            counts["agencies"]["created"] += 1
        touched: dict[int, dict[str, Any]] = {}
        created = []
        for plan in self.children.values():
            if plan.status == "created":
                plan.child.area = plan.area
                plan.child.save()
                created.append(plan.child)
            counts["children"][plan.status] += 1
        ChildIdentifier.objects.bulk_create(
            [
                ChildIdentifier(child=plan.child, source=self.source, ref=plan.ref, record=plan.record)
                for plan in self.children.values()
                if plan.status != "unchanged"
            ]
        )
        for plan in self.children.values():
            if plan.status != "unchanged":
                touched.setdefault(plan.child.pk, {"source": self.source, "identifier": plan.status})
        self.write_people(touched)
        self.write_events(now, touched)
        self.summary.match_candidates = sum(len(linkage.likely_matches_queue(child) or []) for child in created)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    at=now,
                    user=self.actor,
                    action="import",
                    child_id=child_id,
                    target=f"source {self.source}",
                    detail=detail,
                )
                for child_id, detail in sorted(touched.items())
            ]
        )
        child_ids = sorted(touched)
        if child_ids:
            actor = self.actor
            signals.events_written.send(sender=Event, child_ids=child_ids, actor=actor)
            transaction.on_commit(lambda: signals.events_recorded.send(sender=Event, child_ids=child_ids, actor=actor))
        return self.summary

    def write_people(self, touched: dict[int, dict[str, Any]]) -> None:
        counts = self.summary.counts["people"]
        new = [plan.person for plan in self.people.values() if plan.person.pk is None]
        Person.objects.bulk_create(new)
        counts["created"] += len(new)
        through = Person.children.through
        linked = set(
            through.objects.filter(person_id__in=[p.person.pk for p in self.people.values()]).values_list(
                "person_id", "child_id"
            )
        )
        links = []
        for plan in self.people.values():
            added = False
            for child in {c.child.pk: c.child for c in plan.children}.values():
                if (plan.person.pk, child.pk) not in linked:
                    links.append(through(person_id=plan.person.pk, child_id=child.pk))
                    linked.add((plan.person.pk, child.pk))
                    touched.setdefault(child.pk, {"source": self.source})
                    touched[child.pk]["people_linked"] = touched[child.pk].get("people_linked", 0) + 1
                    added = True
            if plan.person not in new:
                counts["linked" if added else "unchanged"] += 1
        through.objects.bulk_create(links)

    def write_events(self, now: datetime, touched: dict[int, dict[str, Any]]) -> None:
        plans = {plan.index: plan for plan in self.events}
        depth: dict[int, int] = {}

        def depth_of(plan: _EventPlan) -> int:
            if plan.index not in depth:
                target = plans.get(plan.amends) if isinstance(plan.amends, int) else None
                depth[plan.index] = depth_of(target) + 1 if target else 0
            return depth[plan.index]

        # An amendment needs the id of the entry it amends: write the entries before their amendments.
        for level in sorted({depth_of(plan) for plan in plans.values()}):
            layer = [plan for plan in plans.values() if depth_of(plan) == level]
            for plan in layer:
                plan.event.child = plan.plan.child
                plan.event.recorded_at = plan.event.recorded_at or now
                if plan.amends is not None:
                    plan.event.amends = plans[plan.amends].event if isinstance(plan.amends, int) else plan.amends
            Event.objects.bulk_create([plan.event for plan in layer], batch_size=_BATCH)
        rows = [
            Event.people.through(event_id=plan.event.pk, person_id=getattr(person, "person", person).pk)
            for plan in sorted(plans.values(), key=lambda p: p.index)
            for person in plan.people
        ]
        Event.people.through.objects.bulk_create(rows, batch_size=_BATCH)
        SourceAgency.record((plan.event.source_system, plan.event.agency_id) for plan in plans.values())
        self.summary.counts["events"]["created"] += len(plans)
        for plan in plans.values():
            detail = touched.setdefault(plan.event.child_id, {"source": self.source})
            detail["events_created"] = detail.get("events_created", 0) + 1
