"""What the chronology announces. Later modules listen; `chronology` never imports them.

- `events_written(child_ids, actor)` is sent inside the transaction that wrote the events, so a
  listener can write its own durable rows (a re-assessment due) in the same transaction. Every path
  that writes events must send it: the chronology itself raises the records' `EventsVersion` on it.
- `events_recorded(child_ids, actor)` is sent after that transaction commits, for follow-on work.
"""

from __future__ import annotations

from django.dispatch import Signal

events_written = Signal()
events_recorded = Signal()
