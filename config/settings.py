"""Demarche settings: one module, configured from the environment.

Every variable is listed in `.env.example`. Development defaults apply only when
DEBUG is on; with DEBUG off the process refuses to start without a real secret
key and an explicit host list.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def object_storage(bucket: str, **options: str) -> dict[str, object]:
    """The default storage as an S3-compatible bucket: private objects, short-lived signed URLs.

    ``options`` are django-storages' S3 options (endpoint_url, region_name,
    access_key, secret_key, location); empty ones are left out, so boto3 finds
    AWS_ACCESS_KEY_ID and the rest of its usual chain (environment, config
    files, instance role).
    """
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            **{name: value for name, value in options.items() if value},
            # No ACL is sent, so the bucket's own (private by default) holds;
            # downloads go through the release file endpoint, which checks who
            # asks. A URL the storage signs (the admin's link) lasts 5 minutes.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "signature_version": "s3v4",
            # A release file is written once: a name already taken gets a suffix
            # rather than replacing bytes that a paper may cite.
            "file_overwrite": False,
            # Reading a file downloads it whole first; past this many bytes it
            # spools to a temporary file rather than the worker's memory.
            "max_memory_size": 5 * 1024 * 1024,
        },
    }


DEBUG = env_bool("DEBUG", default=False)

# Only ever used with DEBUG on; production refuses to start with it. Waived for
# ruff (S105) and bandit (B105): a published placeholder, not a secret.
_DEV_SECRET_KEY = "dev-only-not-secret-demarche-key-never-used-with-debug-off"  # noqa: S105  # nosec B105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random value (for example the "
            "output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use at least 50 random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. List the host names this site answers to, "
        "comma-separated (for example ALLOWED_HOSTS=demarche.example.org)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "simple_history",
    "axes",
    "django_tasks_db",
    "annotations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, to see every answer but keep the security headers: under /api/ every error is JSON
    # (a path no route matches, too), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 that
    # says the limit.
    "config.middleware.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Answers a locked-out login with the lockout page (annotations.auth.lockout_response).
    "axes.middleware.AxesMiddleware",
    # Last, so it sees what views raise: a database that is away (restart,
    # failover) answers 503 with Retry-After and a clear message, not a bare 500.
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
# Django's widget templates, written out in Python for the plain inputs and selects
# (the same markup; annotations/renderers.py).
FORM_RENDERER = "annotations.renderers.FastWidgetRenderer"
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
                "annotations.context_processors.roles",
            ],
            # {% url %} with each URL remembered (annotations/templatetags/cached_url.py).
            "builtins": ["annotations.templatetags.cached_url"],
        },
    },
]

# SQLite file by default, so `make run` needs no server; PostgreSQL (psycopg 3)
# in production. Health checks let a worker recover after a database restart
# without restarting itself.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout keep a development server usable while a
    # management command writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Behind PgBouncer in transaction pooling (or a managed pooler in that mode) a
# transaction may run on another server connection than the last one, so a
# server-side cursor (QuerySet.iterator() on PostgreSQL) can't outlive it: set
# DISABLE_SERVER_SIDE_CURSORS=1 there (docs/deployment.md, "Several web machines").
_POOLED_TRANSACTIONS = env_bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = _POOLED_TRANSACTIONS
# Prepared statements: PostgreSQL plans a query once per connection, not on every
# request. Planning the API's quote list (six tables joined) takes ~2 ms and running
# it 0.15 ms, so this is most of a read's database time. It needs the parameters
# bound on the server (psycopg 3's default; Django's is to inline them) and a
# connection that outlives the request (CONN_MAX_AGE). A transaction-mode pooler
# hands each transaction another server connection, where the statement doesn't
# exist: off there, as the server-side cursors are (docs/deployment.md).
_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", default=not _POOLED_TRANSACTIONS)
_POSTGRES_OPTIONS = {"server_side_binding": True, "prepare_threshold": 2} if _PREPARED_STATEMENTS else {}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(_POSTGRES_OPTIONS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's cache, one for every worker and machine (a local-memory cache would
# give each process its own). Nothing of Demarche's depends on it today: the
# API's throttle counts have a table of their own (annotations.throttling),
# counted in one statement a request. Redis when REDIS_URL is set; otherwise a
# table in the database (created by migration 0011, or `createcachetable`). CACHE_BACKEND=
# locmem is for one process only: the test suite, whose query counts leave the
# cache's queries out (tests/test_settings.py checks the shared cache).
REDIS_URL = env_str("REDIS_URL")
CACHE_BACKEND = env_str("CACHE_BACKEND", "database")
CACHE_TABLE = "demarche_cache"
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif CACHE_BACKEND == "database":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}}
elif CACHE_BACKEND == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_BACKEND must be database or locmem (or set REDIS_URL), not {CACHE_BACKEND!r}.")

# Work longer than a request (quote detection) runs as tasks of Django's tasks
# framework, queued in the database and run by `manage.py db_worker` (make run
# starts one beside the server; docker compose has a `worker` service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Detect the quotes of every article as it arrives (the paste form, imports, the
# API); off, detection runs only when someone asks (the article's page, detect_articles).
DETECT_ON_ARRIVAL = env_bool("DETECT_ON_ARRIVAL", default=True)
# A detection still queued or running after this many seconds is taken for lost (its
# worker stopped): the page offers to retry it, and a new request queues it again.
DETECTION_STALE_AFTER = env_int("DETECTION_STALE_AFTER", 1800)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out username before any password is checked.
# Then the published demo passwords are refused with DEBUG off (annotations/auth.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "annotations.auth.RefuseDemoPasswordsBackend",
    # Django's, reading a session's user with their roles (see there); Django's own stays
    # for the sessions it logged in, and is never asked a password.
    "annotations.auth.ModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotations:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Release files (the only files written at run time): a folder under MEDIA_ROOT,
# or with STORAGE_BUCKET an S3-compatible bucket that every web machine shares
# (docs/deployment.md, "Several web machines").
STORAGE_BUCKET = env_str("STORAGE_BUCKET")
_STORAGE_OPTIONS = {
    "endpoint_url": env_str("STORAGE_ENDPOINT_URL"),
    "region_name": env_str("STORAGE_REGION"),
    "access_key": env_str("STORAGE_ACCESS_KEY_ID"),
    "secret_key": env_str("STORAGE_SECRET_ACCESS_KEY"),
    "location": env_str("STORAGE_PREFIX").strip("/"),
}
if not STORAGE_BUCKET and any(_STORAGE_OPTIONS.values()):
    # Without the bucket each machine would write its own folder and answer 404 for the others' files.
    raise ImproperlyConfigured("STORAGE_* is set but STORAGE_BUCKET is empty: name the bucket, or unset them all.")
if bool(_STORAGE_OPTIONS["access_key"]) != bool(_STORAGE_OPTIONS["secret_key"]):
    raise ImproperlyConfigured("Set STORAGE_ACCESS_KEY_ID and STORAGE_SECRET_ACCESS_KEY together, or neither.")
_DEFAULT_STORAGE: dict[str, object] = (
    object_storage(STORAGE_BUCKET, **_STORAGE_OPTIONS)
    if STORAGE_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Release files' folder when STORAGE_BUCKET is empty (one machine). Empty (as in
# .env.example) means the default, like every other path here.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "media/"

# What a release cites and licenses (annotations/services.py writes them into its
# DATASHEET.md, CITATION.cff and release.bib). Authors are separated by ";" as a
# name may hold a comma ("Doe, Jane"); empty: the reviewer who made the release.
# DATASET_URL is the public address of this Demarche, such as https://demarche.example.org:
# a citation's url must be one readers can reach (empty: the address the API was called at).
DATASET_LICENSE = env_str("DATASET_LICENSE", "CC-BY-4.0")
DATASET_AUTHORS = [name.strip() for name in env_str("DATASET_AUTHORS").split(";") if name.strip()]
DATASET_URL = env_str("DATASET_URL").rstrip("/")

# Uploaded import files are read in memory and never stored; keep them small.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# DATA_UPLOAD_MAX_MEMORY_SIZE doesn't count uploaded files (Django streams a
# large one to a temporary file), so the upload page checks the file's size
# itself and answers 413 past this many bytes.
IMPORT_MAX_BYTES = 5 * 1024 * 1024

# Content-Security-Policy: scripts only from this origin or carrying the
# per-request nonce; no inline handlers, no eval.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Login lockout (django-axes) --------------------------------------------------
# Five wrong passwords in a row lock the username for 15 minutes, whatever
# address the attempts come from: keyed on the username alone, so neither a
# botnet nor a forged X-Forwarded-For gets more guesses, and colleagues behind
# one office address don't lock each other out. The address recorded with an
# attempt is REMOTE_ADDR, never a header the client can set.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "annotations.auth.client_ip"
AXES_LOCKOUT_CALLABLE = "annotations.auth.lockout_response"

SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way commitment for the whole domain; the operator
    # opts in with SECURE_HSTS_PRELOAD=1 once the domain is ready for it.
    "security.W021",
    # django-axes asks for the client address among the lockout keys. Demarche
    # locks per username instead (see the lockout block above): behind the
    # documented TLS proxy every client shares one REMOTE_ADDR, and an
    # address-keyed lock would let one stranger's five guesses lock everybody
    # out. Rotating user agents or cookies can't bypass a per-username count.
    "axes.W006",
]

# One handler, on the root logger, that everything reaches once. Django's defaults
# give the "django" logger a console handler of its own (DEBUG only) that also
# propagates to the root, which printed every line twice: it gets none here, and
# its children (django.request, runserver's django.server) propagate to the root
# too. A 4xx logs one line; only 5xx carry a traceback (config/log.py).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"()": "config.log.TracebacksFor5xx", "format": "{levelname} {name}: {message}", "style": "{"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "INFO"},
    },
}

# Where seed_demo finds the worked example (copied into the project).
DEMO_DATA_DIR = BASE_DIR / "annotations" / "demo"

# --- REST API (annotations/api.py): DRF, knox tokens, drf-spectacular ---------
# JSON only: the browsable API renders inline scripts the CSP refuses, and
# /api/docs/ (Swagger UI, vendored) is the human-facing page. ``format`` is not
# a content-negotiation parameter here: the export endpoint uses it to name the
# file format. Every list is cursor-paginated (annotations.api.KeysetPagination).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tokens only from the Authorization header; knox ignores query strings.
        # knox's, refusing a token that isn't ASCII with a 401 instead of a UnicodeDecodeError.
        "annotations.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["annotations.permissions.IsDemarcheMember"],
    # annotations/parsers.py: JSON refused by name when nested deeper than 64 levels, with a key
    # given twice, or with NaN/Infinity; a message echoing half a surrogate pair still renders.
    "DEFAULT_RENDERER_CLASSES": ["annotations.parsers.SafeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "annotations.parsers.StrictJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "annotations.throttling.AnonRateThrottle",
        "annotations.throttling.UserRateThrottle",
    ],
    # Counted in the database (annotations.throttling: a row per caller, one
    # UPSERT a request), which every worker and machine shares, so a limit is
    # one limit. 10,000 an hour lets a researcher page through a million quotes
    # (2,000 pages of 500) well within the hour.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "100/hour"),
        "user": env_str("API_THROTTLE_USER", "10000/hour"),
    },
    "URL_FORMAT_OVERRIDE": None,
    # Whose address an anonymous caller's count is kept under: with 0 the
    # socket's peer (REMOTE_ADDR), never a header the client can set. Behind N
    # reverse proxies that append to X-Forwarded-For, N: the address the
    # outermost proxy saw. (DRF's default, None, trusts the whole header, so a
    # client could change it on every request and never be counted.)
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0),
}

# Tokens are stored as SHA-512 digests (knox's default) and the raw token is
# shown once, on the tokens page, where each gets the expiry its owner chose
# (1–365 days). An expiry is never extended by use.
REST_KNOX = {"AUTO_REFRESH": False}
# Knox's token model is swappable; annotations.ApiTokenName points at it, and
# its migration names this setting. (ruff and bandit read "TOKEN" as a secret.)
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105  # nosec B105
# Tokens one user may hold at once (the tokens page refuses more).
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20)

SPECTACULAR_SETTINGS = {
    "TITLE": "Demarche API",
    "DESCRIPTION": (
        "Who said what, about what, with which stance, in diplomatic news. "
        "Offsets count Unicode code points of the stored article text, end exclusive "
        '(`text == article.text[start:end]`); send `offset_unit: "utf16"` to write '
        "offsets measured by a browser. Authenticate with `Authorization: Token <token>` "
        "(create one on the API tokens page) or a logged-in session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["annotations.api.schema_without_aliases"],
    "ENUM_NAME_OVERRIDES": {
        "QuoteKindEnum": "annotations.models.Quote.Kind",
        "LayerEnum": "annotations.models.Quote.Layer",
    },
}


# --- Read replica (config/db_router.py) ---------------------------------------
# Off unless DATABASE_REPLICA_URL is set. Then the API's GET requests (streamed
# exports included) read from the replica; writes and the annotators' pages stay
# on the primary, so an analyst always sees what they just saved. See
# docs/deployment.md for when a replica starts to pay.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
    )
    DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = _POOLED_TRANSACTIONS
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"].setdefault("OPTIONS", {}).update(_POSTGRES_OPTIONS)
    # Tests run against one database: the replica alias mirrors the default one.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
    MIDDLEWARE = [*MIDDLEWARE, "config.db_router.replica_reads"]
