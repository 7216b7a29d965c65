"""Escalation's writes (and the few reads they need), one module per concern:

- `alerts`: raising, routing, acknowledging, closing with a decision, moving up tiers;
- `delivery`: the outbox, in the platform and by e-mail;
- `disagreements`: the staged procedure for professional disagreement;
- `loops`: referral outcomes, countersigned closures, the supervision list.
"""
