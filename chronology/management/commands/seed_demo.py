from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agencies.demo import DEMO_PASSWORD, DemoDisabled, demo_seed
from chronology.demo import demo_children_seed, demo_long_seed, demo_scenarios_seed

SCENARIOS = Path(settings.BASE_DIR).parent / "shared" / "scenarios"


class Command(BaseCommand):
    help = (
        "Create the invented demo area, agencies, a user for every role, a few children and long chronologies, "
        "and import the scenario families (safe to run again)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scenarios",
            default=str(SCENARIOS),
            help="A folder of scenario families in the exchange format to import (default: ../shared/scenarios).",
        )
        parser.add_argument("--no-long", action="store_true", help="Leave out the long invented chronologies.")

    def handle(self, *args, **options):
        scenarios = Path(options["scenarios"])
        try:
            users = demo_seed()
            children = demo_children_seed()
            long_ones = [] if options["no_long"] else demo_long_seed()
            imported = demo_scenarios_seed(scenarios) if scenarios.is_dir() else []
        except DemoDisabled as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Demo data is ready. Every demo user's password is: " + DEMO_PASSWORD)
        width = max(len(u.username) for u in users)
        for user in users:
            roles = ", ".join(role.label for role in user.roles)
            self.stdout.write(f"  {user.username.ljust(width)}  {roles}")
        self.stdout.write("Demo children (all invented):")
        for child in children:
            self.stdout.write(
                f"  {child.given_name} {child.family_name}, born {child.date_of_birth}, NHS number {child.nhs_number}"
            )
        for name in long_ones:
            self.stdout.write(f"  {name}")
        if imported:
            self.stdout.write(f"Scenario families imported from {scenarios}: {', '.join(imported)}")
        else:
            self.stdout.write(f"No scenario families found at {scenarios}; none imported.")
