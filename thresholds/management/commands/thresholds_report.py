from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from agencies.selectors import area_named
from thresholds.selectors import area_report
from thresholds.services import policy_for_area


class Command(BaseCommand):
    help = (
        "Children per indicated level and how often each flag fires in an area: does the policy over- or under-alert?"
    )

    def add_arguments(self, parser):
        parser.add_argument("area", metavar="AREA", help="the area's code or name")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        area = area_named(options["area"])
        if area is None:
            raise CommandError(f"no area '{options['area']}'")
        report = area_report(area_id=area.pk)
        policy = policy_for_area(area.pk)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "area": area.name,
                        "policy": policy.label,
                        "children": report.children,
                        "assessed": report.assessed,
                        "per_level": report.per_level,
                        "flags": dict(report.flags),
                        "snapshots_by_policy": dict(report.policies),
                    },
                    indent=1,
                )
            )
            return
        lines = [
            f"{area.name}: {report.children} children, {report.assessed} assessed; policy in force {policy.label}",
            "Children per indicated level:",
        ]
        for level, count in report.per_level.items():
            share = f"{100 * count / report.assessed:.0f}%" if report.assessed else "-"
            lines.append(f"  {level} {policy.level_name(level):<26} {count:>6}  {share:>4}")
        lines.append("How often each flag fires:")
        lines += [f"  {flag:<34} {count:>6}" for flag, count in report.flags] or ["  none"]
        self.stdout.write("\n".join(lines))
