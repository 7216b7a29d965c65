from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from agencies.models import Area
from chronology.refs import RefError, resolve_actor
from thresholds import services
from thresholds.models import ThresholdPolicy


class Command(BaseCommand):
    help = "Propose a threshold policy for an area from a JSON file, or approve one (a second person must)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        propose = sub.add_parser("propose", help="validate FILE and propose it for AREA")
        propose.add_argument("file", metavar="FILE")
        propose.add_argument("--area", required=True)
        propose.add_argument("--actor", required=True, metavar="USERNAME")
        propose.add_argument("--note", default="")
        approve = sub.add_parser("approve", help="approve proposal ID (not by the person who proposed it)")
        approve.add_argument("id", type=int)
        approve.add_argument("--actor", required=True, metavar="USERNAME")

    def handle(self, *args, **options):
        try:
            actor = resolve_actor(options["actor"])
            if options["action"] == "propose":
                area = Area.objects.filter(code=options["area"]).first()
                if area is None:
                    raise CommandError(f"no area '{options['area']}'")
                try:
                    document = json.loads(Path(options["file"]).read_text())
                except (OSError, json.JSONDecodeError) as exc:
                    raise CommandError(f"cannot read the policy: {exc}") from exc
                proposal = services.policy_propose(actor=actor, area=area, document=document, note=options["note"])
                self.stdout.write(
                    f"Proposed {proposal} as id {proposal.pk}; it takes effect when a second lead approves."
                )
            else:
                proposal = ThresholdPolicy.objects.filter(pk=options["id"]).first()
                if proposal is None:
                    raise CommandError(f"no proposal {options['id']}")
                services.policy_approve(actor=actor, proposal=proposal)
                self.stdout.write(f"Approved {proposal}; every child in {proposal.area} is being re-assessed.")
        except (RefError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
