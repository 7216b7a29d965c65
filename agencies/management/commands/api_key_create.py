"""manage.py api_key_create AGENCY_CODE --scope read --scope write [--name NAME] [--expires DATE].

Prints the new key once, on standard output."""

from __future__ import annotations

import datetime
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agencies.apikeys import api_key_create
from agencies.models import Agency, ApiScope


class Command(BaseCommand):
    help = "Make an API key for an agency's system and print it once: only its SHA-256 is kept."

    def add_arguments(self, parser):
        parser.add_argument("agency", metavar="AGENCY_CODE")
        parser.add_argument("--scope", action="append", choices=ApiScope.values, required=True, dest="scopes")
        parser.add_argument("--name", default="", help="The system that will use it (default: the agency's name).")
        parser.add_argument("--expires", type=datetime.date.fromisoformat, help="Last day of use (YYYY-MM-DD).")

    def handle(self, *args, agency, scopes, name, expires, **options):
        found = Agency.objects.filter(code=agency).first()
        if found is None:
            self.stderr.write(f"No agency has the code {agency!r}.")
            sys.exit(1)
        expires_at = None
        if expires is not None:
            end = datetime.datetime.combine(expires + datetime.timedelta(days=1), datetime.time())
            expires_at = timezone.make_aware(end)
        try:
            api_key, key = api_key_create(
                agency=found, name=name or f"{found.name} system", scopes=scopes, expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(
            f"API key {api_key.prefix} for {found.code} ({', '.join(api_key.scopes)}): shown once, keep it safe."
        )
        self.stdout.write(key)
