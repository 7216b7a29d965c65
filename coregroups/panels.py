"""The core group panel on the child's page, through the chronology's panel registry: the open core group, its
chair and deputy, the last and next meetings, and the way to start one."""

from __future__ import annotations

from chronology.panels import Panel, register
from coregroups import selectors


def core_group_context(request, child, access):
    found = selectors.panel(child)
    if found is None:
        return {"child": child, "group": None, "may_start": access.can_write}
    return {"child": child, **found}


# After the alerts (order 20): what the professionals around the child are doing about it together.
register(Panel(name="core_group", template="coregroups/panel.html", context=core_group_context, order=30))
