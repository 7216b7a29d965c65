from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agencies import policy
from agencies.models import AccessChannel
from agencies.services import Origin, access_log_record
from chronology.models import Event
from chronology.refs import RefError, lookup_child_ref, resolve_actor
from thresholds import services


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"'{text}' is not a date: write YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Print a child's indicated level as of a date, with its reasons, or the timeline of its changes."

    def add_arguments(self, parser):
        parser.add_argument("child_ref", metavar="CHILD_REF", help="SOURCE:REF, a bare REF, or id:N")
        parser.add_argument(
            "--as-of", metavar="DATE", help="assess as of the end of DATE (Europe/London); default today"
        )
        parser.add_argument("--timeline", action="store_true", help="one row per date the level or flags changed")
        parser.add_argument("--until", metavar="DATE", help="with --timeline: the last date (default today)")
        parser.add_argument("--json", action="store_true", help="print JSON as the contract describes")
        parser.add_argument("--actor", metavar="USERNAME", help="the user reading; default: the system account")

    def handle(self, *args, **options):
        if options["until"] and not options["timeline"]:
            raise CommandError("--until goes with --timeline")
        if options["as_of"] and options["timeline"]:
            raise CommandError("--as-of does not go with --timeline: use --until")
        try:
            actor = resolve_actor(options["actor"])
            found = lookup_child_ref(options["child_ref"])
        except RefError as exc:
            raise CommandError(str(exc)) from exc
        child = found.child
        with transaction.atomic():
            access = policy.access_for(actor, child)
            if access is None:
                # A record the actor may not read does not exist for them.
                raise CommandError(f"no child '{options['child_ref']}'")
            what = "assessment timeline" if options["timeline"] else "assessment"
            access_log_record(
                user=actor, child=child, access=access, what=what, origin=Origin(channel=AccessChannel.COMMAND)
            )
        child_label = found.ref or str(child.pk)
        if options["timeline"]:
            until = _day(options["until"]) if options["until"] else timezone.localdate()
            rows = services.timeline_compute(child, until=until)
            self._print_timeline(rows, child_label, json_out=options["json"])
            return
        as_of = _day(options["as_of"]) if options["as_of"] else timezone.localdate()
        result = services.assessment_compute(child, as_of=as_of).as_dict()
        refs = dict(
            Event.objects.filter(pk__in=[int(r) for x in result["reasons"] for r in x["events"]]).values_list(
                "pk", "ref"
            )
        )
        for reason in result["reasons"]:
            reason["events"] = [refs.get(int(r), r) for r in reason["events"]]
        result["child"] = child_label
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=1))
            return
        trio = result["toxic_trio"]
        lines = [
            f"{child.full_name} ({child_label}) as of {result['as_of']}, policy {result['policy']}",
            f"Indicated level {result['level']}: {result['level_name']} (score {result['score']:.1f})",
            "Toxic trio: " + ", ".join(f"{k.replace('_', ' ')} {'yes' if v else 'no'}" for k, v in trio.items()),
            "Flags: " + (", ".join(result["flags"]) or "none"),
            "Reasons:",
        ]
        lines += [f"  {r['points']:6.1f}  {r['text']} [{', '.join(r['events'])}]" for r in result["reasons"]]
        if not result["reasons"]:
            lines.append("  none: no recorded event adds to the score")
        lines.append("The indicated level prompts professional judgement; it decides nothing by itself.")
        self.stdout.write("\n".join(lines))

    def _print_timeline(self, rows, label, *, json_out: bool) -> None:
        if json_out:
            self.stdout.write(json.dumps(rows, indent=1))
            return
        if not rows:
            self.stdout.write(f"{label}: no events")
            return
        self.stdout.write(
            "\n".join(f"{row['date']}  level {row['level']}  {', '.join(row['flags']) or 'no flags'}" for row in rows)
        )
