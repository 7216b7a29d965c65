"""Assess children, keep their snapshots current, and manage threshold policies (with a second approver)."""

from __future__ import annotations

from datetime import date

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies import policy
from agencies.models import Area, AuditEntry, Role, User
from chronology.models import Child
from thresholds import engine, signals
from thresholds.facts import facts_for
from thresholds.models import Assessment, ReassessmentDue, ThresholdPolicy

log = structlog.get_logger(__name__)


def policy_for_area(area_id: int | None) -> engine.Policy:
    """The area's latest approved policy, or the defaults from the domain notes."""
    if area_id is not None:
        approved = (
            ThresholdPolicy.objects.filter(area_id=area_id, approved_at__isnull=False)
            .order_by("-approved_at", "-version")
            .first()
        )
        if approved is not None:
            return engine.policy_from_document(approved.document)
    return engine.default_policy()


def assessment_compute(child: Child, *, as_of: date | None = None, policy: engine.Policy | None = None):
    """The engine's assessment of `child` as of the end of `as_of` (today in Europe/London by default)."""
    child_facts, events = facts_for(child)
    return engine.assess(child_facts, events, as_of or timezone.localdate(), policy or policy_for_area(child.area_id))


def timeline_compute(child: Child, *, until: date | None = None, policy: engine.Policy | None = None) -> list[dict]:
    child_facts, events = facts_for(child)
    return engine.timeline(child_facts, events, until or timezone.localdate(), policy or policy_for_area(child.area_id))


def _same(snapshot: Assessment | None, result) -> bool:
    return (
        snapshot is not None
        and snapshot.level == result.level
        and round(snapshot.score, 1) == round(result.score, 1)
        and list(snapshot.flags) == list(result.flags)
        and snapshot.policy == result.policy
    )


def child_reassess(*, child_id: int) -> Assessment | None:
    """Re-assess one child now; store a snapshot only if the level, score or flags changed. Idempotent."""
    with transaction.atomic():
        child = Child.objects.select_for_update().filter(pk=child_id).first()
        # Tasks reach child data through the policy too, as the platform's system account.
        if child is None or policy.access_for(policy.system_identity(), child) is None:
            return None
        now = timezone.now()
        result = assessment_compute(child)
        # The comparison needs neither the reasons nor the rest of the stored snapshot.
        latest = (
            Assessment.objects.filter(child=child)
            .only("level", "score", "flags", "policy")
            .order_by("-assessed_at", "-pk")
            .first()
        )
        created = None
        if not _same(latest, result):
            created = Assessment.objects.create(
                child=child,
                assessed_at=now,
                as_of=result.as_of,
                policy=result.policy,
                level=result.level,
                level_name=result.level_name,
                score=round(result.score, 1),
                toxic_trio=result.toxic_trio,
                flags=list(result.flags),
                reasons=[reason.as_dict() for reason in result.reasons],
            )
            signals.assessments_stored.send(sender=Assessment, pairs=[(created, latest)])
        ReassessmentDue.objects.filter(child=child, done_at__isnull=True, created_at__lte=now).update(done_at=now)
    if created:
        log.info("assessment_changed", child=child_id, level=created.level, flags=created.flags)
    return created


def latest_assessment(child: Child) -> Assessment | None:
    return Assessment.objects.filter(child=child).order_by("-assessed_at", "-pk").first()


def reassessment_due_record(*, child_ids, reason: str) -> None:
    """Called inside the transaction that wrote the events: the durable promise to re-assess."""
    ReassessmentDue.objects.bulk_create([ReassessmentDue(child_id=pk, reason=reason) for pk in set(child_ids)])


# --- policies ---------------------------------------------------------------------------------------


def _is_area_lead(user: User, area: Area) -> bool:
    return Role.AREA_SAFEGUARDING_LEAD in user.role_codes() and user.agency_id and user.agency.area_id == area.pk


@transaction.atomic
def policy_propose(*, actor: User, area: Area, document: dict, note: str = "") -> ThresholdPolicy:
    """Propose a policy for an area. It is validated now; it takes effect only when someone else approves it."""
    if not (_is_area_lead(actor, area) or Role.ADMINISTRATOR in actor.role_codes()):
        raise PermissionDenied("Only an administrator or the area's safeguarding lead proposes a threshold policy.")
    try:
        policy = engine.policy_from_document(document)
    except engine.PolicyError as exc:
        raise ValidationError(str(exc)) from None
    if ThresholdPolicy.objects.filter(area=area, name=policy.name, version=policy.version).exists():
        raise ValidationError(f"version: {policy.label} already exists for {area}; give the new one a new version")
    proposal = ThresholdPolicy.objects.create(
        area=area,
        name=policy.name,
        version=policy.version,
        document=document,
        note=note,
        proposed_by=actor,
        proposed_at=timezone.now(),
    )
    AuditEntry.objects.create(at=timezone.now(), user=actor, action="policy_proposed", target=str(proposal))
    return proposal


@transaction.atomic
def policy_approve(*, actor: User, proposal: ThresholdPolicy) -> ThresholdPolicy:
    """A second person, an area safeguarding lead, approves; then every child in the area is re-assessed."""
    proposal = ThresholdPolicy.objects.select_for_update().get(pk=proposal.pk)
    if not _is_area_lead(actor, proposal.area):
        raise PermissionDenied("Only a safeguarding lead for the area approves its threshold policy.")
    if proposal.proposed_by_id == actor.pk:
        raise PermissionDenied("A second person must approve: you proposed this policy.")
    if proposal.approved_at is not None:
        raise ValidationError("This policy is already approved.")
    proposal.approved_by = actor
    proposal.approved_at = timezone.now()
    proposal.save(update_fields=["approved_by", "approved_at"])
    AuditEntry.objects.create(at=timezone.now(), user=actor, action="policy_approved", target=str(proposal))
    area_id = proposal.area_id

    def queue() -> None:
        from thresholds.tasks import area_reassess

        area_reassess.delay(area_id)

    transaction.on_commit(queue)
    return proposal


def children_reassess(*, child_ids: list[int]) -> int:
    """Re-assess many children in one transaction and a fixed number of queries; returns snapshots stored.

    For a whole area after a policy change, and the nightly run. Same rule as `child_reassess`: a
    snapshot only where the level, score, flags or policy changed.
    """
    from django.db.models import OuterRef, Subquery

    from thresholds.facts import facts_for_many

    system = policy.system_user()
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        latest = Assessment.objects.filter(child=OuterRef("pk")).order_by("-assessed_at", "-pk")
        children = list(
            Child.objects.filter(pk__in=child_ids, merged_into__isnull=True).annotate(
                latest_id=Subquery(latest.values("pk")[:1])
            )
        )
        children = [c for c in children if policy.access_for(system, c) is not None]
        snapshots = Assessment.objects.in_bulk([c.latest_id for c in children if c.latest_id])
        facts = facts_for_many(children)
        policies: dict[int, engine.Policy] = {}
        new = []
        for child in children:
            if child.area_id not in policies:
                policies[child.area_id] = policy_for_area(child.area_id)
            child_facts, events = facts[child.pk]
            result = engine.assess(child_facts, events, today, policies[child.area_id])
            if not _same(snapshots.get(child.latest_id), result):
                new.append(
                    Assessment(
                        child=child,
                        assessed_at=now,
                        as_of=result.as_of,
                        policy=result.policy,
                        level=result.level,
                        level_name=result.level_name,
                        score=round(result.score, 1),
                        toxic_trio=result.toxic_trio,
                        flags=list(result.flags),
                        reasons=[reason.as_dict() for reason in result.reasons],
                    )
                )
        Assessment.objects.bulk_create(new, batch_size=1000)
        if new:
            signals.assessments_stored.send(
                sender=Assessment,
                pairs=[(a, snapshots.get(a.child.latest_id)) for a in new],
            )
        ReassessmentDue.objects.filter(
            child_id__in=[c.pk for c in children], done_at__isnull=True, created_at__lte=now
        ).update(done_at=now)
    return len(new)
