"""What the access module announces, inside the transaction that wrote it: later modules listen.

- `exceptional_access_opened(opening)`: a break-glass or audit opening, for delivery to its reviewers.
- `exceptional_access_reviewed(opening)`: someone else recorded whether it was appropriate.
"""

from __future__ import annotations

from django.dispatch import Signal

exceptional_access_opened = Signal()
exceptional_access_reviewed = Signal()
