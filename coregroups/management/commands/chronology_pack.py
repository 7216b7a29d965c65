from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies import policy
from agencies.models import AccessChannel
from agencies.services import Origin, access_log_record
from chronology.refs import RefError, resolve_actor, resolve_child_ref
from coregroups.models import Meeting, Variant
from coregroups.packs.content import pack_content
from coregroups.packs.render import render_pack, sha256


class Command(BaseCommand):
    help = (
        "Render a child's chronology pack to a PDF file through the same code as the core group's packs "
        "(for the latest meeting of the child's core group, if there is one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("child_ref", metavar="CHILD_REF", help="SOURCE:REF, a bare REF, or id:N")
        parser.add_argument("--out", required=True, metavar="FILE.pdf")
        parser.add_argument("--significant-only", action="store_true", help="only entries marked significant")
        parser.add_argument("--parent-copy", action="store_true", help="the copy for parents (redacted)")
        parser.add_argument("--actor", metavar="USERNAME", help="who the access log records (default: system)")

    def handle(self, *args, **options):
        if options["significant_only"] and options["parent_copy"]:
            raise CommandError("choose --significant-only or --parent-copy, not both")
        try:
            actor = resolve_actor(options["actor"])
            child = resolve_child_ref(options["child_ref"])
        except RefError as exc:
            raise CommandError(str(exc)) from None
        access = policy.access_for(actor, child)
        if access is None:
            # A record the actor may not read does not exist for them.
            raise CommandError(f"no child '{options['child_ref']}'")
        out = Path(options["out"])
        if not out.parent.resolve().is_dir():
            raise CommandError(f"no folder {out.parent} to write {out.name} in")
        variant = (
            Variant.PARENTS
            if options["parent_copy"]
            else (Variant.SIGNIFICANT if options["significant_only"] else Variant.FULL)
        )
        meeting = Meeting.objects.filter(group__child=child).order_by("-held_on", "-pk").first()
        content = pack_content(child, meeting, variant)
        pdf, pages = render_pack(content)
        access_log_record(
            user=actor,
            child=child,
            access=access,
            what=f"chronology pack ({variant}) to {out.name}",
            origin=Origin(channel=AccessChannel.PDF),
        )
        out.write_bytes(pdf)
        sys.stdout.write(f"{out}: {pages} pages, {len(content.rows)} entries, sha256 {sha256(pdf)}\n")
