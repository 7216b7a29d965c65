from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from chronology.exchange import chronology_export
from chronology.models import Child
from chronology.refs import RefError, lookup_child_ref, resolve_actor


class Command(BaseCommand):
    help = "Print a child's chronology as an exchange document (chronology-exchange/1). The read is logged."

    def add_arguments(self, parser):
        parser.add_argument("child_ref", metavar="CHILD_REF", help="SOURCE:REF, a bare REF, or id:N")
        parser.add_argument("--actor", metavar="USERNAME", help="the user reading; default: the system account")

    def handle(self, *args, **options):
        try:
            actor = resolve_actor(options["actor"])
            found = lookup_child_ref(options["child_ref"])
            document = chronology_export(actor=actor, child=found.child, source=found.source, ref=found.ref)
        except RefError as exc:
            raise CommandError(str(exc)) from exc
        except Child.DoesNotExist as exc:
            # A record the actor may not read does not exist for them: the same answer as a missing one.
            raise CommandError(f"no child '{options['child_ref']}'") from exc
        self.stdout.write(json.dumps(document, ensure_ascii=False, indent=1))
