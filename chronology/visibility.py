"""What each reader sees of each entry: restricted entries and entries filed in error.

- Restricted entries: the recording agency and the area's safeguarding leads read the text; others
  see that the entry exists, its date, type and agency, and whom to contact.
- Filed in error: the entry and the amendment that withdrew it leave the chronology for everyone but
  safeguarding leads (area and designated) and auditors, who see them marked.
"""

from __future__ import annotations

from agencies.models import Role

FULL = "full"
PLACEHOLDER = "placeholder"


def sees_filed_in_error(user) -> bool:
    roles = user.role_codes()
    return (
        bool(roles & {Role.AREA_SAFEGUARDING_LEAD, Role.DESIGNATED_SAFEGUARDING_LEAD, Role.AUDITOR})
        or getattr(user, "username", "") == "system"
    )


def reads_restricted(user, event) -> bool:
    if getattr(user, "username", "") == "system":
        return True
    return event.agency_id == user.agency_id or Role.AREA_SAFEGUARDING_LEAD in user.role_codes()


def event_view(user, event) -> str:
    if event.sharing == "restricted" and not reads_restricted(user, event):
        return PLACEHOLDER
    return FULL
