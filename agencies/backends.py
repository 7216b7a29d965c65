from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class AccountBackend(ModelBackend):
    """Django's own sign-in, except that demo accounts exist only where demo log-ins are enabled."""

    def user_can_authenticate(self, user) -> bool:
        if getattr(user, "is_demo", False) and not settings.JIGSAW_DEMO_ENABLED:
            return False
        return super().user_can_authenticate(user)

    def get_user(self, user_id):
        # Every page asks for the person's agency (and its area) for the access policy: one query, not two.
        from agencies.models import User

        try:
            user = User._default_manager.select_related("agency").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
