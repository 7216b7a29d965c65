from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class AccountBackend(ModelBackend):
    """Django's own sign-in, except that demo accounts exist only where demo log-ins are enabled."""

    def user_can_authenticate(self, user) -> bool:
        if getattr(user, "is_demo", False) and not settings.JIGSAW_DEMO_ENABLED:
            return False
        return super().user_can_authenticate(user)
