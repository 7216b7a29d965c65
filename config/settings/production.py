"""Production: PostgreSQL, Redis, Celery workers and beat, gunicorn behind a TLS proxy.

It refuses to start without a secret key, allowed hosts, a database and Redis, and it refuses the
demo log-ins. `manage.py check --deploy` is clean with these settings.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, env

JIGSAW_DEMO_ENABLED = False
DEBUG = False

if env.bool("JIGSAW_DEMO_SKIPS_SECOND_FACTOR", default=False):
    raise ImproperlyConfigured(
        "JIGSAW_DEMO_SKIPS_SECOND_FACTOR is refused in production: every user needs a second factor."
    )
JIGSAW_DEMO_SKIPS_SECOND_FACTOR = False

SECRET_KEY = env("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("embedded-default"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be a random value of at least 50 characters "
        '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name at least one host.")

if "DATABASE_URL" not in env.ENVIRON and "DATABASE_URL_FILE" not in env.ENVIRON:
    raise ImproperlyConfigured("Set the DATABASE_URL environment variable (postgres://...).")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database in production.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)

if not REDIS_URL:
    raise ImproperlyConfigured("Set the REDIS_URL environment variable (redis://...): Celery needs it.")

if "EMAIL_URL" not in env.ENVIRON and "EMAIL_URL_FILE" not in env.ENVIRON:
    raise ImproperlyConfigured(
        "Set the EMAIL_URL environment variable (smtp+tls://user:password@host:587): alerts go by e-mail."
    )

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# TLS ends at the proxy in front of gunicorn, which must set X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The container health check calls /healthz over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Demo passwords are refused by this validator whenever a password is set.
AUTH_PASSWORD_VALIDATORS = [
    *AUTH_PASSWORD_VALIDATORS,  # noqa: F405
    {"NAME": "agencies.passwords.NotDemoPasswordValidator"},
]

JIGSAW_LOG_FORMAT = env("JIGSAW_LOG_FORMAT", default="json")
LOGGING = logging_config(fmt=JIGSAW_LOG_FORMAT, level=JIGSAW_LOG_LEVEL)  # noqa: F405
