"""Settings shared by every deployment.

Every value that differs between machines comes from the environment (django-environ). A variable
`NAME_FILE` may name a file holding the value of `NAME`, so secrets can come from mounted files.
The variables are listed, with their meaning, in README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

from config.mail import mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.FileAwareEnv()

# The demo log-ins (see agencies/demo.py) work only where this is true; production sets it False.
JIGSAW_DEMO_ENABLED = True

DEBUG = env.bool("DJANGO_DEBUG", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_structlog",
    "rules",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "agencies",
    "chronology",
    "thresholds",
    "escalation",
    "coregroups",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "config.middleware.RequestIdHeaderMiddleware",
    # Agencies' systems reading a chronology page again: answered from the cache, checked and logged (api.reads).
    "api.reads.ChronologyReads",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says otherwise: no page can forget.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "agencies.signin.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.jigsaw",
            ],
            "builtins": ["config.govuk"],
        },
    },
]
FORM_RENDERER = "config.forms.GovukFormRenderer"

EMBEDDED_DATABASE = BASE_DIR / "var" / "jigsaw.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{EMBEDDED_DATABASE}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    EMBEDDED_DATABASE.parent.mkdir(exist_ok=True)
    # IMMEDIATE transactions and WAL keep the embedded database safe with in-process tasks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        }
    )
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "agencies.backends.AccountBackend",
    "rules.permissions.ObjectPermissionBackend",
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "sign-in"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions end after 30 minutes idle (the cookie's age, renewed on every request) and 12 hours after
# sign-in whatever happens (agencies.signin.SessionPolicyMiddleware). Django rotates the session key
# at sign-in and flushes the session at sign-out.
JIGSAW_SESSION_IDLE_MINUTES = env.int("JIGSAW_SESSION_IDLE_MINUTES", default=30)
JIGSAW_SESSION_ABSOLUTE_HOURS = env.int("JIGSAW_SESSION_ABSOLUTE_HOURS", default=12)
SESSION_COOKIE_AGE = JIGSAW_SESSION_IDLE_MINUTES * 60
# The idle clock restarts when the session is saved: agencies.signin.SessionPolicyMiddleware saves it at most
# once a minute (a write on every page would add a commit to each), so a session ends 30 to 31 minutes idle.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Every user proves a second factor (TOTP) after the password. Only the embedded default may let
# the demo accounts skip it; production refuses.
JIGSAW_DEMO_SKIPS_SECOND_FACTOR = False
OTP_TOTP_ISSUER = "Jigsaw"

# django-axes: five failures for one username from one address lock it out for 30 minutes.
AXES_FAILURE_LIMIT = env.int("JIGSAW_SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("JIGSAW_SIGN_IN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "agencies/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    # GOV.UK Frontend comes from the npm registry (package.json), never copied into the repository.
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    # htmx, for the parts of a page that update themselves (a pack's progress); pages work without it.
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    # Built by `npm run build` from assets/scss.
    BASE_DIR / "static_build",
    BASE_DIR / "static",
]

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True

# E-mail: printed to the console unless EMAIL_URL names a server (smtp://, smtp+tls://, ...).
MAILERS = {"default": mailer_from_url(env.email_url("EMAIL_URL", default="consolemail://"))}
DEFAULT_FROM_EMAIL = env("JIGSAW_FROM_EMAIL", default="Jigsaw <no-reply@jigsaw.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails point here; Message-IDs of notices end in this domain.
JIGSAW_BASE_URL = env("JIGSAW_BASE_URL", default="http://127.0.0.1:8000")
JIGSAW_MESSAGE_ID_DOMAIN = env("JIGSAW_MESSAGE_ID_DOMAIN", default="jigsaw.invalid")

# REST API (docs/api.md): throttling per key, body limits, how long Idempotency-Key responses are kept.
JIGSAW_API_RATE = env("JIGSAW_API_RATE", default="1200/minute")
JIGSAW_API_MAX_BODY = env.int("JIGSAW_API_MAX_BODY", default=1024 * 1024)
JIGSAW_API_MAX_BATCH_BODY = env.int("JIGSAW_API_MAX_BATCH_BODY", default=64 * 1024 * 1024)
JIGSAW_API_IDEMPOTENCY_DAYS = env.int("JIGSAW_API_IDEMPOTENCY_DAYS", default=7)
# A chronology page an agency's system reads again is answered from the cache (api.reads), for this long at most.
JIGSAW_API_READ_CACHE = env.bool("JIGSAW_API_READ_CACHE", default=True)
JIGSAW_API_READ_CACHE_SECONDS = env.int("JIGSAW_API_READ_CACHE_SECONDS", default=600)
# Django's own cap on a body read whole; each API endpoint applies its own, smaller, limit first.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(JIGSAW_API_MAX_BATCH_BODY, 2621440)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ScopeAllows"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JsonParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.base.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jigsaw REST API",
    "DESCRIPTION": (
        "For agencies' own systems: push events, read chronologies, assessments and alerts. Every call names "
        "the person it is made for (X-Acting-User) and is held to what the access policy lets that person do; "
        "records the caller may not know exist answer 404. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.headers_documented"],
    # Named after their models' choices, so two endpoints' "state" fields can never collide.
    "ENUM_NAME_OVERRIDES": {
        "AlertStateEnum": "escalation.models.AlertState",
        "AlertSeverityEnum": "escalation.models.Severity",
        "AccessChannelEnum": "agencies.models.AccessChannel",
        "AccessBasisEnum": "agencies.models.AccessBasis",
    },
}

# Redis is the broker, the result store and the cache. Without REDIS_URL, tasks run in-process
# (eagerly, in the same transaction's on-commit hooks), which is the embedded default.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jigsaw",
        }
    }
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only after it has run, and a worker killed mid-task hands it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# A proxy's or an agency system's request id is kept, so one id follows a request across systems.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True

# How old the last worker heartbeat may be before /healthz reports the workers as down.
JIGSAW_HEARTBEAT_MAX_AGE_SECONDS = env.int("JIGSAW_HEARTBEAT_MAX_AGE_SECONDS", default=120)

JIGSAW_LOG_FORMAT = env("JIGSAW_LOG_FORMAT", default="console")
JIGSAW_LOG_LEVEL = env("JIGSAW_LOG_LEVEL", default="INFO")

from config.logging import logging_config  # noqa: E402

LOGGING = logging_config(fmt=JIGSAW_LOG_FORMAT, level=JIGSAW_LOG_LEVEL)

# Access (agencies.policy). Each is partnership policy; these are the defaults.
JIGSAW_INVOLVEMENT_LAPSE_DAYS = env.int("JIGSAW_INVOLVEMENT_LAPSE_DAYS", default=365)
JIGSAW_BREAK_GLASS_HOURS = env.int("JIGSAW_BREAK_GLASS_HOURS", default=24)
JIGSAW_AUDIT_OPENING_HOURS = env.int("JIGSAW_AUDIT_OPENING_HOURS", default=8)
