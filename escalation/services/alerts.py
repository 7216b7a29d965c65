"""Alerts: raised from assessments and break-glass openings, routed by the area's policy, acknowledged
within their severity's time or moved up a tier, and closed only with a recorded decision."""

from __future__ import annotations

from datetime import datetime

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from agencies import policy
from agencies.models import ExceptionalAccess, Involvement, Role, User
from chronology.linkage import record_ids
from chronology.models import Child
from escalation import clock
from escalation.models import (
    SEVERITY_RANK,
    Alert,
    AlertHistory,
    AlertRecipient,
    AlertState,
    Decision,
    Severity,
)
from escalation.policy import EscalationRules, rules_for_area
from escalation.services.delivery import Notice, notices_queue
from escalation.services.loops import closure_countersigned

log = structlog.get_logger(__name__)


def flag_words(code: str) -> str:
    from thresholds.panels import FLAG_WORDS

    words = FLAG_WORDS.get(code, code.replace("_", " "))
    return words[0].lower() + words[1:]


def _history(alert: Alert, kind: str, text: str, *, now: datetime, actor: User | None = None) -> None:
    AlertHistory.objects.create(alert=alert, at=now, actor=actor, kind=kind, text=text)


def _alert_link(alert: Alert) -> str:
    # Reviewers of break-glass access (auditors among them) work from the access reviews page.
    if alert.exceptional_access_id:
        return reverse("access-reviews")
    return reverse("alert-detail", args=[alert.pk])


# --- who receives what -------------------------------------------------------------------------


def _users_with_role(role: str, **filters):
    return User.objects.filter(is_active=True, role_grants__role=role, **filters).select_related("agency").distinct()


def _readers(child: Child, users) -> list[User]:
    """Only people who may read the child's record receive an alert about it."""
    return [u for u in users if policy.access_for(u, child) is not None]


def _involvements(child: Child, now: datetime):
    return Involvement.objects.active(now=now).filter(child_id__in=record_ids(child)).select_related("practitioner")


def _agency_leads(child: Child, now: datetime) -> list[User]:
    agencies = set(_involvements(child, now).values_list("agency_id", flat=True))
    return list(_users_with_role(Role.DESIGNATED_SAFEGUARDING_LEAD, agency_id__in=agencies))


def _area_leads(area_id: int) -> list[User]:
    return list(_users_with_role(Role.AREA_SAFEGUARDING_LEAD, agency__area_id=area_id))


class _Router:
    """Who hears of a new alert at once, for many children in a fixed number of queries.

    Everyone chosen may read the child's record by the access policy's own rules: the lead
    practitioner and designated safeguarding leads through an active involvement with the child (or a
    record merged into it), the area's safeguarding leads and emergency duty team through the area.
    """

    def __init__(self, children: list[Child], now: datetime):
        self.now = now
        group = {c.pk: c.pk for c in children}  # record id -> the child whose page shows it
        frontier = list(group)
        while frontier:
            merged = list(Child.objects.filter(merged_into_id__in=frontier).values_list("pk", "merged_into_id"))
            for pk, into in merged:
                group[pk] = group[into]
            frontier = [pk for pk, _ in merged]
        self.involvements: dict[int, list[tuple[int, int | None, bool]]] = {}
        for child_id, agency_id, practitioner_id, lead in (
            Involvement.objects.active(now=now)
            .filter(child_id__in=list(group))
            .values_list("child_id", "agency_id", "practitioner_id", "lead")
        ):
            self.involvements.setdefault(group[child_id], []).append((agency_id, practitioner_id, lead))
        agencies = {a for rows in self.involvements.values() for a, _, _ in rows}
        practitioners = {p for rows in self.involvements.values() for _, p, lead in rows if p and lead}
        areas = {c.area_id for c in children}
        self.users = {u.pk: u for u in User.objects.filter(pk__in=practitioners, is_active=True)}
        self.agency_leads: dict[int, list[User]] = {}
        for user in _users_with_role(Role.DESIGNATED_SAFEGUARDING_LEAD, agency_id__in=agencies):
            self.agency_leads.setdefault(user.agency_id, []).append(user)
        self.area: dict[tuple[str, int], list[User]] = {}
        for role in (Role.AREA_SAFEGUARDING_LEAD, Role.EMERGENCY_DUTY_TEAM):
            for user in _users_with_role(role, agency__area_id__in=areas):
                self.area.setdefault((role, user.agency.area_id), []).append(user)

    def first_tier(
        self, child: Child, *, rules: EscalationRules, severity: str, area_leads_now: bool
    ) -> list[tuple[User, str]]:
        found: dict[int, tuple[User, str]] = {}

        def add(users, why):
            for user in users:
                found.setdefault(user.pk, (user, why))

        rows = self.involvements.get(child.pk, [])
        if "lead_practitioner" in rules.route_to:
            add([self.users[p] for _, p, lead in rows if lead and p in self.users], "lead practitioner")
        if "involved_agency_leads" in rules.route_to:
            leads = [u for agency in sorted({a for a, _, _ in rows}) for u in self.agency_leads.get(agency, [])]
            add(leads, "designated safeguarding lead of an agency involved")
        if area_leads_now or not found:
            # Nobody else to tell is never a reason for nobody to hear.
            add(self.area.get((Role.AREA_SAFEGUARDING_LEAD, child.area_id), []), "safeguarding lead for the area")
        if severity == Severity.CRITICAL and not rules.calendar.in_working_hours(self.now):
            add(self.area.get((Role.EMERGENCY_DUTY_TEAM, child.area_id), []), "emergency duty team (out of hours)")
        return list(found.values())


def _tier_users(alert: Alert, kind: str, now: datetime) -> list[User]:
    child = alert.child
    if kind == "agency_leads":
        return _agency_leads(child, now)
    if kind == "line_managers":
        managers = User.objects.filter(
            is_active=True, reports__in=[r.user_id for r in alert.recipients.all()]
        ).select_related("agency")
        return list(managers.distinct())
    if kind == "senior_managers":
        agencies = set(_involvements(child, now).values_list("agency_id", flat=True))
        return list(_users_with_role(Role.SENIOR_MANAGER, agency_id__in=agencies))
    return _area_leads(alert.area_id)


def _notice(alert: Alert, users, *, what: str, title: str | None = None) -> Notice:
    return Notice(
        users=users,
        key=f"alert{alert.pk}:{what}",
        severity=alert.severity,
        title=title or f"{alert.get_severity_display()} alert: {alert.title}",
        link=_alert_link(alert),
        child=alert.child,
        alert=alert,
    )


def _deliver(alert: Alert, users: list[User], *, now: datetime, tier: int) -> None:
    notices_queue([_notice(alert, users, what=f"t{tier}")], now=now)


def _add_recipients(alert: Alert, pairs: list[tuple[User, str]], *, tier: int, now: datetime) -> list[User]:
    have = set(alert.recipients.values_list("user_id", flat=True))
    new = [(u, why) for u, why in pairs if u.pk not in have]
    AlertRecipient.objects.bulk_create(
        [AlertRecipient(alert=alert, user=u, why=why, tier=tier, added_at=now) for u, why in new]
    )
    return [u for u, _ in new]


# --- raising -----------------------------------------------------------------------------------


def _causes(assessment, previous, rules: EscalationRules) -> list[tuple[str, str, str]]:
    """(cause, severity, words) for what is new in `assessment` since `previous`."""
    causes = []
    before_level = previous.level if previous is not None else 1
    if assessment.level > before_level and assessment.level in rules.level_severity:
        causes.append(
            (
                f"level:{assessment.level}",
                rules.level_severity[assessment.level],
                f"indicated level rose from {before_level} to {assessment.level} ({assessment.level_name})",
            )
        )
    before_flags = set(previous.flags) if previous is not None else set()
    for flag in assessment.flags:
        if flag not in before_flags:
            causes.append((f"flag:{flag}", rules.severity_for_flag(flag), flag_words(flag)))
    return causes


def _explain(assessment, words: list[str]) -> str:
    lines = ["The indicated level is a prompt for professional judgement, not a decision.", ""]
    lines.append("What is new: " + "; ".join(words) + ".")
    lines.append(
        f"Indicated level {assessment.level} ({assessment.level_name}), score {assessment.score:g}, "
        f"as of {assessment.as_of:%d %B %Y}."
    )
    lines.append("")
    lines.append("Why, rule by rule:")
    for reason in assessment.reasons:
        count = len(reason.get("events", []))
        lines.append(f"- {reason['text']} ({reason['points']:g} points; {count} entr{'y' if count == 1 else 'ies'})")
    return "\n".join(lines)


def alerts_for(assessment, previous=None, *, now: datetime | None = None) -> list[Alert]:
    """Raise what one new snapshot calls for, inside the transaction that stored it."""
    return alerts_for_many([(assessment, previous)], now=now)


def alerts_for_many(pairs, *, now: datetime | None = None) -> list[Alert]:
    """Raise what new snapshots call for, inside the transaction that stored them, in a fixed number of
    queries however many (a whole area re-assessed under a new policy).

    One alert per snapshot, under its most severe new cause; a cause already carried by an open alert
    on the child is not raised again (never a flood), and an alert lists every cause it carries.
    """
    now = now or clock.now()
    rules_by_area: dict[int | None, EscalationRules] = {}
    candidates = []
    for assessment, previous in pairs:
        area_id = assessment.child.area_id
        if area_id not in rules_by_area:
            rules_by_area[area_id] = rules_for_area(area_id)
        causes = _causes(assessment, previous, rules_by_area[area_id])
        if causes:
            candidates.append((assessment, causes))
    if not candidates:
        return []
    open_causes: dict[int, set[str]] = {}
    for child_id, main, carried in (
        Alert.objects.filter(child_id__in={a.child_id for a, _ in candidates})
        .exclude(state=AlertState.CLOSED)
        .values_list("child_id", "cause", "causes")
    ):
        open_causes.setdefault(child_id, set()).update({main, *carried})
    planned = []
    for assessment, causes in candidates:
        causes = [c for c in causes if c[0] not in open_causes.get(assessment.child_id, set())]
        if any(c[0] == "flag:closed_with_unresolved_risk" for c in causes) and closure_countersigned(assessment.child):
            # A designated safeguarding lead countersigned this closure with a rationale: already decided.
            causes = [c for c in causes if c[0] != "flag:closed_with_unresolved_risk"]
        if not causes:
            continue
        # The most severe first; at equal severity a named pattern says more than a level.
        causes.sort(key=lambda c: (SEVERITY_RANK[c[1]], not c[0].startswith("flag:")))
        open_causes.setdefault(assessment.child_id, set()).update(c[0] for c in causes)
        planned.append((assessment, causes))
    if not planned:
        return []
    router = _Router([a.child for a, _ in planned], now)
    alerts, plans = [], []
    for assessment, causes in planned:
        child, rules = assessment.child, rules_by_area[assessment.child.area_id]
        cause, severity, _ = causes[0]
        words = [w for _, _, w in causes]
        title = words[0][0].upper() + words[0][1:] + (f" (and {len(words) - 1} more)" if len(words) > 1 else "")
        alerts.append(
            Alert(
                child=child,
                area_id=child.area_id,
                cause=cause,
                causes=[c[0] for c in causes],
                severity=severity,
                title=title[:200],
                text=_explain(assessment, words),
                reasons=assessment.reasons,
                assessment=assessment,
                created_at=now,
                acknowledge_by=rules.acknowledge_by(severity, now),
            )
        )
        area_leads_now = assessment.level in rules.area_leads_levels or bool(
            rules.area_leads_flags & {c[0].removeprefix("flag:") for c in causes}
        )
        plans.append((router.first_tier(child, rules=rules, severity=severity, area_leads_now=area_leads_now), words))
    Alert.objects.bulk_create(alerts, batch_size=1000)
    _route_new(alerts, [(p, f"Raised: {'; '.join(words)}.") for p, words in plans], now)
    log.info("alerts_raised", count=len(alerts))
    return alerts


def _route_new(alerts: list[Alert], plans: list[tuple[list[tuple[User, str]], str]], now: datetime) -> None:
    """Recipients, the first history row and the outbox rows of newly created alerts, in bulk."""
    AlertRecipient.objects.bulk_create(
        [
            AlertRecipient(alert=alert, user=user, why=why, tier=0, added_at=now)
            for alert, (recipients, _) in zip(alerts, plans, strict=True)
            for user, why in recipients
        ],
        batch_size=2000,
    )
    AlertHistory.objects.bulk_create(
        [
            AlertHistory(alert=alert, at=now, kind="raised", text=f"{said} Sent to {_names(recipients)}.")
            for alert, (recipients, said) in zip(alerts, plans, strict=True)
        ],
        batch_size=2000,
    )
    notices_queue(
        [
            _notice(alert, [user for user, _ in recipients], what="t0")
            for alert, (recipients, _) in zip(alerts, plans, strict=True)
        ],
        now=now,
    )


def _names(pairs) -> str:
    return ", ".join(f"{u} ({why})" for u, why in pairs) or "nobody"


def alert_raise(
    *,
    child: Child,
    cause: str,
    severity: str,
    title: str,
    text: str,
    now: datetime | None = None,
) -> Alert | None:
    """Raise an alert that does not come from an assessment; None if one for this cause is open already."""
    now = now or clock.now()
    carried = Alert.objects.filter(child=child).exclude(state=AlertState.CLOSED).values_list("causes", flat=True)
    if any(cause in causes for causes in carried):
        return None
    rules = rules_for_area(child.area_id)
    alert = Alert.objects.create(
        child=child,
        area_id=child.area_id,
        cause=cause,
        causes=[cause],
        severity=severity,
        title=title[:200],
        text=text,
        created_at=now,
        acknowledge_by=rules.acknowledge_by(severity, now),
    )
    recipients = _Router([child], now).first_tier(child, rules=rules, severity=severity, area_leads_now=False)
    _route_new([alert], [(recipients, "Raised.")], now)
    return alert


def alerts_route_again(*, child: Child, now: datetime | None = None) -> int:
    """Send the child's open alerts to first-tier people who are not on them yet (an involvement or a
    lead practitioner recorded after the alert was raised). Returns how many people were added."""
    now = now or clock.now()
    alerts = list(Alert.objects.filter(child=child, exceptional_access__isnull=True).exclude(state=AlertState.CLOSED))
    if not alerts:
        return 0
    rules = rules_for_area(child.area_id)
    router = _Router([child], now)
    added = 0
    for alert in alerts:
        area_leads_now = alert.severity == Severity.CRITICAL
        pairs = router.first_tier(child, rules=rules, severity=alert.severity, area_leads_now=area_leads_now)
        users = _add_recipients(alert, pairs, tier=alert.tier, now=now)
        if users:
            _history(alert, "routed", f"Sent also to {_names([p for p in pairs if p[0] in users])}.", now=now)
            notices_queue([_notice(alert, users, what=f"again{int(now.timestamp())}")], now=now)
            added += len(users)
    return added


def break_glass_alert(opening: ExceptionalAccess, *, now: datetime | None = None) -> Alert | None:
    """A break-glass opening reaches its reviewers (the area's safeguarding leads and auditors) as an alert."""
    if opening.kind != "break_glass":
        return None
    now = now or clock.now()
    child = opening.child
    rules = rules_for_area(child.area_id)
    alert = Alert.objects.create(
        child=child,
        area_id=child.area_id,
        cause=f"break_glass:{opening.pk}",
        causes=[f"break_glass:{opening.pk}"],
        severity=rules.break_glass,
        title=f"Break-glass access by {opening.user} to review",
        text=(
            f"{opening.user} ({opening.user.job_title or 'no job title'}, {opening.user.agency or 'no agency'}) "
            f"opened this record by break-glass at {opening.opened_at:%H:%M on %d %B %Y}.\n\n"
            f"Their reason: {opening.reason}\n\nRecord on the access reviews page whether it was appropriate."
        ),
        created_at=now,
        acknowledge_by=rules.acknowledge_by(rules.break_glass, now),
        exceptional_access=opening,
    )
    reviewers = User.objects.filter(
        is_active=True,
        role_grants__role__in=[Role.AREA_SAFEGUARDING_LEAD, Role.AUDITOR],
        agency__area_id=child.area_id,
    ).distinct()
    recipients = [(u, "reviews break-glass access") for u in reviewers if u.pk != opening.user_id]
    _route_new([alert], [(recipients, "Raised.")], now)
    return alert


def break_glass_reviewed(opening: ExceptionalAccess, actor: User, *, now: datetime | None = None) -> None:
    now = now or clock.now()
    decision = (
        Decision.REVIEWED_APPROPRIATE if opening.review_outcome == "appropriate" else Decision.REVIEWED_NOT_APPROPRIATE
    )
    for alert in Alert.objects.filter(exceptional_access=opening).exclude(state=AlertState.CLOSED):
        _close(alert, actor=actor, decision=decision, rationale=opening.review_note or "Reviewed.", now=now)


# --- working an alert --------------------------------------------------------------------------


def may_work(user: User, alert: Alert) -> bool:
    """Recipients, the area's safeguarding leads, and designated safeguarding leads of an agency involved,
    provided they may read the child's record now."""
    if policy.access_for(user, alert.child) is None:
        return False
    roles = user.role_codes()
    if Role.AREA_SAFEGUARDING_LEAD in roles and user.agency_id and user.agency.area_id == alert.area_id:
        return True
    if alert.recipients.filter(user=user).exists():
        return True
    return Role.DESIGNATED_SAFEGUARDING_LEAD in roles and user.agency_id is not None


def _locked(alert: Alert, actor: User) -> Alert:
    alert = Alert.objects.select_for_update().select_related("child", "area").get(pk=alert.pk)
    if not may_work(actor, alert):
        raise PermissionDenied("You are not among the people who work this alert.")
    return alert


@transaction.atomic
def alert_acknowledge(*, actor: User, alert: Alert, now: datetime | None = None) -> Alert:
    now = now or clock.now()
    alert = _locked(alert, actor)
    if alert.state != AlertState.OPEN:
        raise ValidationError("This alert has already been acknowledged.")
    alert.state, alert.acknowledged_at, alert.acknowledged_by = AlertState.ACKNOWLEDGED, now, actor
    if alert.owner_id is None:
        alert.owner = actor
    alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "owner"])
    _history(alert, "acknowledged", f"Acknowledged by {actor}.", now=now, actor=actor)
    return alert


@transaction.atomic
def alert_assign(*, actor: User, alert: Alert, owner: User, now: datetime | None = None) -> Alert:
    now = now or clock.now()
    alert = _locked(alert, actor)
    if alert.state == AlertState.CLOSED:
        raise ValidationError("This alert is closed.")
    if not may_work(owner, alert):
        raise ValidationError({"owner": f"{owner} cannot read this child's record or work this alert."})
    alert.owner = owner
    alert.save(update_fields=["owner"])
    AlertRecipient.objects.get_or_create(
        alert=alert, user=owner, defaults={"why": f"assigned by {actor}", "tier": alert.tier, "added_at": now}
    )
    _history(alert, "assigned", f"Assigned to {owner} by {actor}.", now=now, actor=actor)
    if owner.pk != actor.pk:
        what = f"assigned:{owner.pk}:{int(now.timestamp())}"
        notices_queue([_notice(alert, [owner], what=what, title=f"Alert assigned to you: {alert.title}")], now=now)
    return alert


@transaction.atomic
def alert_note(*, actor: User, alert: Alert, text: str, now: datetime | None = None) -> Alert:
    now = now or clock.now()
    alert = _locked(alert, actor)
    if not text.strip():
        raise ValidationError({"text": "Write the note"})
    _history(alert, "note", text.strip(), now=now, actor=actor)
    return alert


def _close(alert: Alert, *, actor: User, decision: str, rationale: str, now: datetime) -> Alert:
    alert.state, alert.closed_at, alert.closed_by = AlertState.CLOSED, now, actor
    alert.decision, alert.rationale = decision, rationale
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    alert.save(
        update_fields=["state", "closed_at", "closed_by", "decision", "rationale", "acknowledged_at", "acknowledged_by"]
    )
    label = Decision(decision).label
    _history(alert, "closed", f"Closed by {actor}: {label}. Rationale: {rationale}", now=now, actor=actor)
    return alert


@transaction.atomic
def alert_close(*, actor: User, alert: Alert, decision: str, rationale: str, now: datetime | None = None) -> Alert:
    """Nothing leaves the queue without a decision: 'decided not to refer' too, with its reason and its author."""
    now = now or clock.now()
    alert = _locked(alert, actor)
    problems = {}
    if alert.state == AlertState.CLOSED:
        raise ValidationError("This alert is already closed.")
    if alert.exceptional_access_id:
        raise ValidationError("A break-glass alert closes when the access is reviewed on the access reviews page.")
    if decision not in Decision.values or decision.startswith("reviewed_"):
        problems["decision"] = "Choose the decision made"
    if len(rationale.strip()) < 10:
        problems["rationale"] = "Write the rationale for the decision in full"
    if problems:
        raise ValidationError(problems)
    alert = _close(alert, actor=actor, decision=decision, rationale=rationale.strip(), now=now)
    if alert.owner_id and alert.owner_id != actor.pk:
        # The owner hears that someone else decided, and what.
        title = f"Alert you owned closed by {actor}: {Decision(decision).label.lower()}"
        notices_queue([_notice(alert, [alert.owner], what="closed", title=title)], now=now)
    return alert


# --- time: unacknowledged alerts move up -------------------------------------------------------


def alerts_move_up(*, now: datetime | None = None) -> int:
    """Every alert not acknowledged in time moves to the next tier, recorded on the alert."""
    now = now or clock.now()
    moved = 0
    due = list(Alert.objects.filter(state=AlertState.OPEN, acknowledge_by__lte=now).values_list("pk", flat=True)[:1000])
    for pk in due:
        with transaction.atomic():
            alert = Alert.objects.select_for_update(skip_locked=True).filter(pk=pk, state=AlertState.OPEN).first()
            if alert is None or alert.acknowledge_by > now:
                continue
            rules = rules_for_area(alert.area_id)
            tier, added, skipped = alert.tier, [], []
            while not added and tier < len(rules.tiers):
                tier += 1
                kind = rules.tiers[tier - 1]
                users = _readers(alert.child, _tier_users(alert, kind, now))
                added = _add_recipients(alert, [(u, kind.replace("_", " ")) for u in users], tier=tier, now=now)
                if not added:
                    skipped.append(kind.replace("_", " "))
            text = "Not acknowledged in time"
            if skipped:
                text += f"; nobody new to add from {', '.join(skipped)}"
            if added:
                text += f": moved to tier {tier} ({kind.replace('_', ' ')}): {_names([(u, kind) for u in added])}."
            else:
                # Past the last tier: remind everyone already on it, each time it falls due again.
                tier += 1
                added = [r.user for r in alert.recipients.select_related("user")]
                text += ": everyone on the alert reminded."
            alert.tier = tier
            alert.acknowledge_by = rules.acknowledge_by(alert.severity, now)
            alert.save(update_fields=["tier", "acknowledge_by"])
            _history(alert, "moved_up", text, now=now)
            _deliver(alert, added, now=now, tier=tier)
            moved += 1
    if moved:
        log.warning("alerts_moved_up", count=moved)
    return moved
