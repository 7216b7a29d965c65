"""Who is calling: an agency's system with an API key, on behalf of a named person (X-Acting-User), or the
browser's own calls with the signed-in session.

Every call made with a key names the person it is made for; that person must be an active user of the key's
agency, and the call is then held to exactly what the access policy lets that person do, and logged against
them and the key. A key never acts for anyone outside its agency.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from agencies.apikeys import KEY_PREFIX, key_hash
from agencies.models import ApiKey, User
from agencies.signin import second_factor_needed

ACTING_USER = "X-Acting-User"
# Recording every use would add a write to every read; once a minute says as much.
_LAST_USE_GRANULARITY = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword or not key.strip():
            raise exceptions.AuthenticationFailed('Send the API key as "Authorization: Bearer <key>".')
        key = key.strip()
        api_key = None
        if key.startswith(KEY_PREFIX):
            # No ordering: the model's default one would join the agency only to sort a single row.
            api_key = ApiKey.objects.select_related("agency").filter(hashed=key_hash(key)).order_by().first()
        now = timezone.now()
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is not known.")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("The API key has expired.")
        username = request.headers.get(ACTING_USER, "").strip()
        if not username:
            raise exceptions.AuthenticationFailed(
                f"Name the person this call is made for in the {ACTING_USER} header (their username)."
            )
        if not username.isprintable():  # a control character (NUL above all) is in no username, nor storable
            raise exceptions.AuthenticationFailed(f"{ACTING_USER} holds a control character: no username does.")
        user = (
            User.objects.select_related("agency")
            .filter(username=username, is_active=True, agency_id=api_key.agency_id)
            .order_by()
            .first()
        )
        if user is None:
            raise exceptions.AuthenticationFailed(
                f"{ACTING_USER} names nobody active in {api_key.agency.name}: a key acts only for its own agency."
            )
        if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USE_GRANULARITY:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return user, api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The browser's own calls: a signed-in session past its second factor, with the CSRF token on writes."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and second_factor_needed(result[0]):
            raise exceptions.NotAuthenticated("Finish signing in with your second factor first.")
        return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key made by an administrator for the agency's system (`manage.py api_key_create`). Every "
                f"call also names, in the `{ACTING_USER}` header, the person in that agency it is made for."
            ),
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.VerifiedSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The browser's own calls."}
