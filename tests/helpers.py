from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "t3st-" + "Kq8vZ2xR7mN4pL9sW1yB6cH3jF5gD0aE" * 2,
    "DJANGO_ALLOWED_HOSTS": "jigsaw.example.org",
    "DATABASE_URL": "postgres://jigsaw:secret@db.example.invalid:5432/jigsaw",
    "REDIS_URL": "redis://redis.example.invalid:6379/0",
    "EMAIL_URL": "smtp+tls://relay:secret@mail.example.invalid:587",
}


def manage(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh interpreter with only the given environment (plus PATH and HOME)."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def current_code(device) -> str:
    """The code an authenticator app would show now for this TOTP device."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


_RANDOM_VALUES = re.compile(r'(name="csrfmiddlewaretoken" value|nonce)="[^"]*"')


def readable(response_or_html) -> str:
    """A page's HTML without its random tokens (CSRF values, script nonces).

    A short name such as "Kit" can turn up by chance inside a 64-character random token, so a test
    that says a refused page does not name the child must look at the page without them.
    """
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.content.decode()
    return _RANDOM_VALUES.sub(r'\1=""', html)
