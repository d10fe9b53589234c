"""Settings, read from the environment only (twelve-factor). `.env.example` lists every variable.

Embedded default (`make run`): SQLite file in WAL mode with immediate transactions, a real Celery worker and beat
on the embedded filesystem broker (`CELERY_BROKER_URL=fsqueue://`, apilo/broker.py), DEBUG on, local-memory cache.
With no broker at all (the test suite), tasks run in-process (eager).
"""

import base64
import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet key (urlsafe base64, 32 bytes) for secrets stored in the database. In development it is derived
# from SECRET_KEY so `make run` works without set-up; production must set its own.
_derived_key = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=_derived_key if DEBUG else "")

# No django.contrib.admin: it would bypass the roles and the services (every change goes through a service).
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "apilo",
    "orders",
    "accounting",
    "integrations",
    "automation",
    "devices",
]

MIDDLEWARE = [
    "apilo.health.HealthCheckMiddleware",  # first: no Host check, no HTTPS redirect for the container health check
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "apilo.urls"
WSGI_APPLICATION = "apilo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apilo.roles.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Many writers at once (web threads, worker, beat): WAL lets readers run beside the writer; IMMEDIATE takes the
    # write lock at BEGIN so two transactions never deadlock upgrading a read lock (the "database is locked" 500s);
    # the busy timeout makes a writer wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=30),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders:list"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per (username, client address) before the login form refuses for LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)

LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", "Polski")]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "apilo.storage.StaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# --- security (production values follow from DEBUG=False) -------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# X-Forwarded-Proto is trusted only when the operator says a proxy in front of the app sets it (and strips the
# client's own); otherwise any client could claim https.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The container health check asks over plain http from inside.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- REST API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apilo.roles.IsStaffRole"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apilo.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apilo.errors.api_exception_handler",
    # JSON in, JSON out: any other request body (multipart, form) is a 415, never half-parsed.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Apilo back-office API",
    "DESCRIPTION": "Zamówienia, dokumenty sprzedaży i automatyzacja. Autoryzacja: nagłówek `Authorization: Token …`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI describe every operation: Obsługa or Administrator only, like the API itself.
    "SERVE_PERMISSIONS": ["apilo.roles.IsStaffRole"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files ship with drf-spectacular-sidecar: no CDN, nothing fetched from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ItemKindEnum": "orders.models.ItemKind",
        "DocumentKindEnum": "accounting.models.DocumentKind",
        "VatRateEnum": "orders.models.VatRate",
        "ConnectionStateEnum": "integrations.models.ConnectionState",  # inFakt and KSeF connections
    },
}

# --- Celery -------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
# Eager (in-process) only when no broker is configured at all: the test suite. `make run` uses the filesystem broker.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# The embedded broker (`fsqueue://`, apilo/broker.py): kombu's filesystem transport with atomic writes and claims,
# one folder of message files shared by the web server, the worker and beat (no server, no extra dependency).
CELERY_BROKER_FOLDER = Path(env.str("CELERY_BROKER_FOLDER", default=str(BASE_DIR / "var" / "broker")))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# --- e-mail -------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="sklep@example.pl")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- external services -----------------------------------------------------------------------------------
NBP_API_URL = env.str("NBP_API_URL", default="https://api.nbp.pl/api/")
NBP_TIMEOUT_SECONDS = env.float("NBP_TIMEOUT_SECONDS", default=5.0)
INFAKT_TIMEOUT_SECONDS = env.float("INFAKT_TIMEOUT_SECONDS", default=15.0)
# inFakt's per-IP limits (requests per 60 s); every worker shares them through the rate limiter.
INFAKT_WRITE_LIMIT_PER_MINUTE = env.int("INFAKT_WRITE_LIMIT_PER_MINUTE", default=150)
INFAKT_READ_LIMIT_PER_MINUTE = env.int("INFAKT_READ_LIMIT_PER_MINUTE", default=300)
INFAKT_POLL_SECONDS = env.float("INFAKT_POLL_SECONDS", default=1.0)
RATE_LIMIT_REDIS_URL = env.str("RATE_LIMIT_REDIS_URL", default="")
# `make run` starts a local fake of inFakt and the demo data connects a series to it.
DEMO_INFAKT_URL = env.str("DEMO_INFAKT_URL", default="")
DEMO_INFAKT_KEY = env.str("DEMO_INFAKT_KEY", default="demo-infakt-key-2026")
# Sending a document to an accounting service: attempts before it is marked failed, first retry pause.
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=12)
SYNC_RETRY_BASE_SECONDS = env.float("SYNC_RETRY_BASE_SECONDS", default=0.5)
INFAKT_RATE_WINDOW_SECONDS = env.float("INFAKT_RATE_WINDOW_SECONDS", default=62.0)
# After a create whose outcome is unknown (answer lost, timeout, 5xx) nothing is created again: the invoice is
# looked up by our marker, with backoff (first pause INFAKT_DOUBT_RECHECK_SECONDS, doubling, at most 120 s),
# until this window has passed; then the document waits for a person ("Wymaga uwagi").
INFAKT_DOUBT_WINDOW_SECONDS = env.int("INFAKT_DOUBT_WINDOW_SECONDS", default=600)
INFAKT_DOUBT_RECHECK_SECONDS = env.float("INFAKT_DOUBT_RECHECK_SECONDS", default=5.0)
# A sync's lease on its document; renewed while the sync waits (rate limiter, polling).
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=300)
# The documents sweeper re-enqueues documents left `issuing`, with no live lease, older than this.
SWEEP_MIN_AGE_SECONDS = env.int("SWEEP_MIN_AGE_SECONDS", default=120)
# KSeF 2.0: request timeout, pause between status polls, retry pauses, when failing sends switch documents to
# offline mode, when an idle online session is closed. `make run` starts a fake KSeF (DEMO_KSEF_URL).
KSEF_TIMEOUT_SECONDS = env.float("KSEF_TIMEOUT_SECONDS", default=20.0)
KSEF_POLL_SECONDS = env.float("KSEF_POLL_SECONDS", default=1.0)
KSEF_RETRY_BASE_SECONDS = env.float("KSEF_RETRY_BASE_SECONDS", default=2.0)
KSEF_RETRY_MAX_SECONDS = env.float("KSEF_RETRY_MAX_SECONDS", default=300.0)
KSEF_OFFLINE_AFTER_SECONDS = env.float("KSEF_OFFLINE_AFTER_SECONDS", default=900.0)
KSEF_SESSION_IDLE_SECONDS = env.float("KSEF_SESSION_IDLE_SECONDS", default=600.0)
KSEF_LEASE_SECONDS = env.float("KSEF_LEASE_SECONDS", default=120.0)
KSEF_SWEEP_GRACE_SECONDS = env.float("KSEF_SWEEP_GRACE_SECONDS", default=30.0)
KSEF_EAGER_SECONDS = env.float("KSEF_EAGER_SECONDS", default=5.0)  # in-process mode: inline steps per send
DEMO_KSEF_URL = env.str("DEMO_KSEF_URL", default="")
if env.str("EMAIL_FILE_PATH", default=""):
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")

# Celery: named queues and routing; idempotent tasks are acknowledged late, so a killed worker loses nothing.
CELERY_TASK_ROUTES = {
    "accounting.document_sync": {"queue": "documents"},
    "accounting.ksef_send": {"queue": "ksef"},
    "accounting.sweep_ksef": {"queue": "ksef"},
    "automation.*": {"queue": "default"},
    "devices.*": {"queue": "devices"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
if CELERY_BROKER_URL.startswith(("fsqueue://", "filesystem://")):
    for _sub in ("queue", "control", "processed"):
        (CELERY_BROKER_FOLDER / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
            "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
            "control_folder": str(CELERY_BROKER_FOLDER / "control"),
            "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
            "store_processed": False,
            "polling_interval": env.float("CELERY_BROKER_POLLING_SECONDS", default=0.2),
        }
    )
# Sweepers (beat): the database rows are the outbox; anything whose enqueue or worker was lost is picked up here.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=30.0)
# An order event with no "processed" marker older than this is enqueued again (exactly once: see automation).
SWEEP_EVENT_MIN_AGE_SECONDS = env.int("SWEEP_EVENT_MIN_AGE_SECONDS", default=60)
SWEEP_MIN_AGE_SECONDS = env.int("SWEEP_MIN_AGE_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "sweep-order-events": {"task": "automation.sweep_events", "schedule": SWEEP_INTERVAL_SECONDS},
    "sweep-documents": {"task": "accounting.sweep_documents", "schedule": SWEEP_INTERVAL_SECONDS},
    "sweep-print-jobs": {"task": "devices.sweep_print_jobs", "schedule": SWEEP_INTERVAL_SECONDS},
    # KSeF: due sends whose enqueue or worker was lost; idle online sessions closed
    "sweep-ksef": {"task": "accounting.sweep_ksef", "schedule": env.float("KSEF_SWEEP_SECONDS", default=60.0)},
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
AUTOMATION_MAX_CHAIN_DEPTH = env.int("AUTOMATION_MAX_CHAIN_DEPTH", default=5)
PRINTNODE_API_URL = env.str("PRINTNODE_API_URL", default="https://api.printnode.com")
