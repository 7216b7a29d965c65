from __future__ import annotations

from django.core.exceptions import ValidationError

from agencies.demo import DEMO_PASSWORD


class NotDemoPasswordValidator:
    """Refuses the published demo password (production adds this validator)."""

    def validate(self, password: str, user=None) -> None:
        if password.strip().casefold() == DEMO_PASSWORD.casefold():
            raise ValidationError(
                "This password is the published demo password. Choose another.",
                code="demo_password",
            )

    def get_help_text(self) -> str:
        return "Your password cannot be the published demo password."
