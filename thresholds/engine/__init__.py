"""The thresholds engine: plain Python over plain data, no Django.

`assess(child, events, as_of, policy)` gives the contract's assessment with its reasons;
`timeline(child, events, until, policy)` the dates on which the level or the flags changed.
"""

from __future__ import annotations

from thresholds.engine.facts import Assessment, ChildFacts, EventFacts, Reason
from thresholds.engine.policy import Policy, PolicyError, default_policy, policy_from_document, policy_from_text
from thresholds.engine.rules import assess, effective_events
from thresholds.engine.timeline import timeline

__all__ = [
    "Assessment",
    "ChildFacts",
    "EventFacts",
    "Policy",
    "PolicyError",
    "Reason",
    "assess",
    "default_policy",
    "effective_events",
    "policy_from_document",
    "policy_from_text",
    "timeline",
]
