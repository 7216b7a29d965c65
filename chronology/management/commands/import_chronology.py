from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from chronology.exchange import ImportRefused, chronology_import, document_parse
from chronology.refs import RefError, resolve_actor


class Command(BaseCommand):
    help = (
        "Import a chronology exchange document (all or nothing). Prints what was created, linked and "
        "unchanged as JSON; refusals go to standard error with exit status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the document (JSON, chronology-exchange/1); '-' reads standard input")
        parser.add_argument("--actor", metavar="USERNAME", help="the user importing; default: the system account")

    def handle(self, *args, **options):
        try:
            if options["file"] == "-":
                text = sys.stdin.read()
            else:
                with open(options["file"], encoding="utf-8") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        try:
            document = document_parse(text)
            actor = resolve_actor(options["actor"])
            summary = chronology_import(actor=actor, document=document)
        except RefError as exc:
            raise CommandError(str(exc)) from exc
        except ImportRefused as exc:
            count = len(exc.problems)
            raise CommandError(
                f"the document was refused ({count} problem{'s' if count != 1 else ''}); nothing was written:\n{exc}"
            ) from exc
        self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False, indent=1))
