from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from agencies.demo import DEMO_PASSWORD, DemoDisabled, demo_seed
from chronology.demo import demo_children_seed


class Command(BaseCommand):
    help = "Create the invented demo area, agencies, a user for every role and a few children (safe to run again)."

    def handle(self, *args, **options):
        try:
            users = demo_seed()
            children = demo_children_seed()
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
