from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from agencies.selectors import area_named
from escalation.selectors import escalation_report


class Command(BaseCommand):
    help = "Open alerts, professional disagreements and referrals awaiting an outcome in an area, for monitoring."

    def add_arguments(self, parser):
        parser.add_argument("area", metavar="AREA", help="the area's code or name")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        area = area_named(options["area"])
        if area is None:
            raise CommandError(f"no area '{options['area']}'")
        report = escalation_report(area)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=1))
            return
        overdue = sum(a["overdue"] for a in report["alerts"])
        lines = [f"{area.name} at {report['at'][:16]}: {len(report['alerts'])} open alerts ({overdue} overdue)"]
        for a in report["alerts"]:
            lines.append(
                f"  alert {a['id']:<6} {a['severity']:<8} {a['state']:<12} {a['age_hours']:>7}h "
                f"owner {a['owner'] or '-':<16} tier {a['tier']}{'  OVERDUE' if a['overdue'] else ''}  {a['cause']}"
            )
        lines.append(f"{len(report['escalations'])} professional disagreements open")
        for e in report["escalations"]:
            lines.append(
                f"  disagreement {e['id']:<6} stage {e['stage']} {e['age_hours']:>7}h "
                f"owner {e['owner'] or '-':<16}{'  OVERDUE' if e['overdue'] else ''}"
            )
        lines.append(f"{len(report['referrals_awaiting_outcome'])} referrals awaiting an outcome")
        for r in report["referrals_awaiting_outcome"]:
            lines.append(
                f"  referral {r['id']:<6} {r['from_agency']} -> {r['to_agency']}{'  OVERDUE' if r['overdue'] else ''}"
            )
        self.stdout.write("\n".join(lines))
