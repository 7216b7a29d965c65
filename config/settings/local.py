"""The embedded default: SQLite, tasks in-process, e-mail to the console, demo log-ins allowed.

It needs no environment at all; `make run` uses it.
"""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A fixed key is fine here: this configuration refuses nothing and is never production.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="embedded-default-not-secret-" + "x" * 40)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# Static files come straight from their sources (node_modules, static_build, static): no collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Demo accounts may skip the second factor here, so the demo starts with a password alone.
JIGSAW_DEMO_SKIPS_SECOND_FACTOR = env.bool("JIGSAW_DEMO_SKIPS_SECOND_FACTOR", default=True)
