"""API keys for agencies' own systems: made and revoked by administrators, stored only as SHA-256.

A key is `jsk_` + an 8-character prefix (shown, to tell keys apart) + `_` + 40 random characters. Only its
SHA-256 is stored: a key is long and random, so a fast hash is as safe as a password hasher and can be checked
on every call without slowing it (a password hasher costs tens of milliseconds by design).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, ApiKey, ApiScope, AuditEntry, User
from agencies.policy import system_user

KEY_PREFIX = "jsk_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, agency: Agency, name: str, scopes: list[str], created_by: User | None = None, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for the agency's system: the key object and the key itself, which is never shown again."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in ApiScope.values]
    if not scopes or unknown:
        raise ValidationError({"scopes": f"Give one or more of {', '.join(ApiScope.values)}."})
    if not name.strip():
        raise ValidationError({"name": "Name the system that will use the key."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(30)}"
    api_key = ApiKey.objects.create(
        agency=agency,
        name=name.strip(),
        prefix=prefix,
        hashed=key_hash(key),
        scopes=scopes,
        created_at=timezone.now(),
        created_by=created_by,
        expires_at=expires_at,
    )
    AuditEntry.objects.create(
        at=api_key.created_at,
        user=created_by or system_user(),
        action="api_key_created",
        target=f"API key {prefix} for {agency.code}",
        detail={"scopes": scopes, "name": api_key.name, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by: User | None = None) -> ApiKey:
    """Revoked at once: the next call with it is refused. A key is never deleted: the access log names it."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at, api_key.revoked_by = timezone.now(), revoked_by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
        AuditEntry.objects.create(
            at=api_key.revoked_at,
            user=revoked_by or system_user(),
            action="api_key_revoked",
            target=f"API key {api_key.prefix} for {api_key.agency.code}",
            detail={},
        )
    return api_key
