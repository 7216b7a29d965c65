"""What the thresholds module announces. `escalation` listens; `thresholds` never imports it.

- `assessments_stored(pairs)` is sent inside the transaction that stored new snapshots, with
  `(new, previous)` pairs (`previous` is None for a child's first snapshot), so a listener writes its
  alerts and their outbox rows in the same transaction: an assessment is never stored without them.
"""

from __future__ import annotations

from django.dispatch import Signal

assessments_stored = Signal()
