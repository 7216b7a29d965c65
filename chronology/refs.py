"""Naming records on the command line: a child by `SOURCE:REF`, a bare `REF` or `id:N`; a user by name.

The exchange commands use these now, and `assess` later. A child the actor may not read is reported
by the callers exactly as a child that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from agencies import policy
from agencies.models import User
from chronology.models import Child, ChildIdentifier


class RefError(LookupError):
    """The text names no record (or more than one). The message says which, in plain words."""


@dataclass(frozen=True)
class ChildRef:
    child: Child  # the surviving record: a ref to a record merged into another names that one
    source: str | None  # the sending system the ref named, None for `id:N`
    ref: str | None


def _surviving(child: Child) -> Child:
    while child.merged_into_id:
        child = child.merged_into
    return child


def lookup_child_ref(text: str) -> ChildRef:
    """Resolve `SOURCE:REF`, a bare `REF` (when only one source uses it) or `id:N`. Raises `RefError`."""
    text = text.strip()
    if text.startswith("id:") and text[3:].isdigit():
        child = Child.objects.filter(pk=int(text[3:])).first()
        if child is None:
            raise RefError(f"no child with id {text[3:]}")
        return ChildRef(_surviving(child), None, None)
    if ":" in text:
        source, ref = text.split(":", 1)
        identifier = ChildIdentifier.objects.filter(source=source, ref=ref).select_related("child").first()
        if identifier is not None:
            return ChildRef(_surviving(identifier.child), source, ref)
    # A ref may itself hold a colon: try the whole text as a bare ref before giving up.
    identifiers = list(ChildIdentifier.objects.filter(ref=text).select_related("child")[:20])
    sources = sorted({i.source for i in identifiers})
    if len(sources) > 1:
        raise RefError(f"'{text}' is used by more than one source ({', '.join(sources)}): write SOURCE:{text}")
    if not identifiers:
        raise RefError(f"no child '{text}'")
    return ChildRef(_surviving(identifiers[0].child), identifiers[0].source, text)


def resolve_child_ref(text: str) -> Child:
    """The child `text` names (see `lookup_child_ref`). Raises `RefError`."""
    return lookup_child_ref(text).child


def resolve_actor(username: str | None) -> User:
    """The named user, or the platform's system account when no name is given. Raises `RefError`."""
    if not username or username == policy.SYSTEM_USERNAME:
        return policy.system_user()
    user = User.objects.filter(username=username).first()
    if user is None:
        raise RefError(f"no user '{username}'")
    return user
