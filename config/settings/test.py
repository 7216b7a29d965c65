"""Settings for the test suite: the embedded default, with a fast password hasher.

DATABASE_URL and REDIS_URL still apply, so the same suite runs on PostgreSQL and Redis in CI.
"""

from __future__ import annotations

from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The suite proves the second factor as production has it; demo accounts get no exemption here.
JIGSAW_DEMO_SKIPS_SECOND_FACTOR = False
