"""The escalation panel on the child's page, through the chronology's panel registry: open alerts, open
professional disagreements, and the ways to raise one or to ask for the case to be closed."""

from __future__ import annotations

from chronology.panels import Panel, register
from escalation import selectors
from escalation.services import disagreements
from escalation.views_alerts import cause_words


def escalation_context(request, child, access):
    user = request.user
    alerts = [
        {"alert": alert, "cause": cause_words(alert.cause), "may_open": may_open}
        for alert, may_open in selectors.child_alerts_for_panel(user, child)
    ]
    open_disagreements = selectors.child_disagreements_open(user, child)
    return {
        "child": child,
        "alerts": alerts,
        "disagreements": [(d, stage) for d, stage, may_open in open_disagreements if may_open],
        "others": sum(1 for *_, may_open in open_disagreements if not may_open),
        "may_raise": disagreements.may_raise(user, child, access=access),
        "may_close": access.can_write,
    }


# After the indicated level (order 10): the level says what the pattern shows, this panel what is being done.
register(Panel(name="escalation", template="escalation/panel.html", context=escalation_context, order=20))
