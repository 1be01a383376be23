"""Parley's settings, read from the environment.

Defaults make ``git clone`` plus one command work (SQLite, a local Redis); production sets ``DATABASE_URL``,
``REDIS_URL``, ``SECRET_KEY``, ``DJANGO_DEBUG`` and ``ALLOWED_HOSTS``.
"""

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("PARLEY_STATE_DIR", BASE_DIR / ".parley"))


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean from the environment: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment (or DJANGO_DEBUG=1 for development).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
# The name chat functions call the Platform API by, from inside their sandbox (functions/sandbox.py).
ALLOWED_HOSTS.append("parley-api")
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]


def purpose_key(name: str, purpose: str) -> str:
    """A signing key of its own for one purpose: ``name`` from the environment (production sets each, so that one
    leaked key opens one thing), else derived from SECRET_KEY (development)."""
    return os.environ.get(name) or hmac.new(SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).hexdigest()


# File access grants of browser sessions; chat functions' credentials (their client secret, the origin header).
PARLEY_GRANTS_KEY = purpose_key("PARLEY_GRANTS_KEY", "parley.grants")
PARLEY_FUNCTIONS_KEY = purpose_key("PARLEY_FUNCTIONS_KEY", "parley.functions")
# How long a browser session's file access grant stays valid (it ends with its session too), in seconds.
PARLEY_FILE_GRANT_SECONDS = int(os.environ.get("PARLEY_FILE_GRANT_SECONDS", str(24 * 3600)))

# Behind TLS (PARLEY_HTTPS=1): secure cookies, HSTS and a redirect to https; the header a trusted proxy sets to say
# a request came over https (e.g. PARLEY_PROXY_SSL_HEADER=X-Forwarded-Proto).
PARLEY_HTTPS = env_bool("PARLEY_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PARLEY_HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = PARLEY_HTTPS and env_bool("PARLEY_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("PARLEY_HSTS_SECONDS", "31536000")) if PARLEY_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PARLEY_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("PARLEY_HSTS_PRELOAD", True)
if os.environ.get("PARLEY_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + os.environ["PARLEY_PROXY_SSL_HEADER"].upper().replace("-", "_"), "https")
USE_X_FORWARDED_HOST = env_bool("PARLEY_USE_X_FORWARDED_HOST", False)
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "chat",
    "platform_api",
    "functions",
    "imports",
]

# Threads that answer HTTP requests in each web process (``config.handler``): one call each, reused.
PARLEY_HTTP_THREADS = int(os.environ.get("PARLEY_HTTP_THREADS", "32"))

MIDDLEWARE = [
    "platform_api.metrics.request_metrics_middleware",
    "django.middleware.security.SecurityMiddleware",
    "platform_api.errors.UnavailableMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "platform_api.parsers.multipart_middleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "functions.origin.OriginMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
APPEND_SLASH = False
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    """Build a DATABASES entry; PostgreSQL gets psycopg's pool (design rule 7), SQLite gets WAL and a busy timeout."""
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.postgresql":
        # While PostgreSQL is away, a request waits at most DB_POOL_TIMEOUT for a connection, then answers 503
        # (``platform_api.errors``); the pool reconnects by itself when it is back.
        config["OPTIONS"] = {
            "connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "3")),
            "pool": {
                "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
                "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "16")),
                "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "3")),
            },
        }
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL") or f"sqlite:///{STATE_DIR / 'db.sqlite3'}"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# Namespace of the event bus's Redis pub/sub channels (several deployments may share one Redis).
PARLEY_EVENT_PREFIX = os.environ.get("PARLEY_EVENT_PREFIX", "parley")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep each worker process's database pool across tasks (Celery's Django fix-up would otherwise close psycopg's pool
# after every task in a prefork child, and a new pool starts four threads: a third of a short task's time).
CELERY_DB_REUSE_MAX = 1000

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Collected static files: the state folder by default; an image bakes them in at build time (PARLEY_STATIC_ROOT).
STATIC_ROOT = Path(os.environ.get("PARLEY_STATIC_ROOT") or STATE_DIR / "static")


def file_storage(url: str) -> dict[str, Any]:
    """Where stored files (chat files, display pictures, import uploads, export results) live: the local disk
    (``MEDIA_ROOT``) for an empty ``url``, or S3-compatible object storage for ``s3://bucket/prefix``, through
    django-storages. The endpoint (for MinIO, Ceph, moto...) and region come from ``PARLEY_S3_ENDPOINT_URL`` and
    ``PARLEY_S3_REGION``; credentials from boto3's own chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, an
    instance or pod role). Objects stay private: Parley streams every download through its own grant checks."""
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(f"PARLEY_STORAGE_URL must be s3://bucket[/prefix], not {url!r}.")
    endpoint = os.environ.get("PARLEY_S3_ENDPOINT_URL") or None
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": endpoint,
            "region_name": os.environ.get("PARLEY_S3_REGION") or None,
            # Self-hosted stores (MinIO, Ceph, moto) answer on one host name: bucket in the path.
            "addressing_style": os.environ.get("PARLEY_S3_ADDRESSING_STYLE") or ("path" if endpoint else None),
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # A download larger than this spills to a temporary file instead of memory (imports may be GBs).
            "max_memory_size": 8 * 1024 * 1024,
        },
    }


PARLEY_STORAGE_URL = os.environ.get("PARLEY_STORAGE_URL", "")
# The rows of a backup (chat.backups): JSON lines that keep timestamps to the microsecond.
SERIALIZATION_MODULES = {"parleyjsonl": "chat.backups"}
STORAGES = {
    "default": file_storage(PARLEY_STORAGE_URL),
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = STATE_DIR / "media"

# How long the event log keeps events for GET /v1/events (and webhook replays), in days.
PARLEY_EVENTS_RETENTION_DAYS = float(os.environ.get("PARLEY_EVENTS_RETENTION_DAYS", "7"))

# Webhooks (chat.webhooks): targets on loopback, private or link-local addresses are refused unless allowed here
# (a receiver inside your own network); how long one attempt may take; how long a delivery is retried before it is
# dead; how long an endpoint may fail before it is turned off; the longest rest of a failing endpoint between probes.
PARLEY_WEBHOOKS_ALLOW_PRIVATE = env_bool("PARLEY_WEBHOOKS_ALLOW_PRIVATE", False)
PARLEY_WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("PARLEY_WEBHOOKS_TIMEOUT_SECONDS", "10"))
PARLEY_WEBHOOKS_RETRY_HOURS = float(os.environ.get("PARLEY_WEBHOOKS_RETRY_HOURS", "24"))
PARLEY_WEBHOOKS_DISABLE_HOURS = float(os.environ.get("PARLEY_WEBHOOKS_DISABLE_HOURS", "24"))
PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS = float(os.environ.get("PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS", "60"))

# /metrics (Prometheus) answers only requests bearing this token (off when empty); a Celery worker serves its own on
# PARLEY_WORKER_METRICS_PORT (not served when empty).
PARLEY_METRICS_TOKEN = os.environ.get("PARLEY_METRICS_TOKEN", "")
PARLEY_WORKER_METRICS_PORT = int(os.environ.get("PARLEY_WORKER_METRICS_PORT") or 0)

# Largest request body the API accepts (JSON bodies; uploads have their own limits).
PARLEY_MAX_BODY_BYTES = int(os.environ.get("PARLEY_MAX_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = PARLEY_MAX_BODY_BYTES
# Browsers on any origin may upload and download through the SDK's streams: those are authorized by grants in a
# header or the URL, never by cookies.
CORS_URLS_REGEX = r"^/rtm/(streams|files|pictures)/"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_HEADERS = (*default_cors_headers, "grant")
# Socket service limits: pushed data (JSON bytes), channel names per push, messages per send-multi, and channel
# subscriptions per socket.
PARLEY_PUSH_MAX_PAYLOAD_BYTES = int(os.environ.get("PARLEY_PUSH_MAX_PAYLOAD_BYTES", str(64 * 1024)))
PARLEY_PUSH_MAX_CHANNELS = int(os.environ.get("PARLEY_PUSH_MAX_CHANNELS", "100"))
PARLEY_PUSH_MAX_MESSAGES = int(os.environ.get("PARLEY_PUSH_MAX_MESSAGES", "100"))
PARLEY_SOCKET_MAX_SUBSCRIPTIONS = int(os.environ.get("PARLEY_SOCKET_MAX_SUBSCRIPTIONS", "100"))
# Where hosted files and display pictures are served from, when not from the address they were uploaded to: another
# origin (e.g. https://usercontent.example.net, routed to the same servers) keeps user content off the dashboard's.
PARLEY_USER_CONTENT_URL = os.environ.get("PARLEY_USER_CONTENT_URL", "").rstrip("/")
# Largest file the browser SDK may upload (messages and display pictures), in bytes.
PARLEY_MAX_UPLOAD_BYTES = int(os.environ.get("PARLEY_MAX_UPLOAD_BYTES", str(25 * 1024 * 1024)))
# Websocket (STOMP) limits: the largest frame a client may send, and topic subscriptions per connection (a session
# uses 14 user topics plus 11 per open channel).
PARLEY_STOMP_MAX_FRAME_BYTES = int(os.environ.get("PARLEY_STOMP_MAX_FRAME_BYTES", str(64 * 1024)))
PARLEY_STOMP_MAX_SUBSCRIPTIONS = int(os.environ.get("PARLEY_STOMP_MAX_SUBSCRIPTIONS", "200"))
# A websocket client that stops reading is cut off once this much waits for it (chat.realtime.outbox).
PARLEY_WS_MAX_QUEUED_FRAMES = int(os.environ.get("PARLEY_WS_MAX_QUEUED_FRAMES", "2000"))
PARLEY_WS_MAX_QUEUED_BYTES = int(os.environ.get("PARLEY_WS_MAX_QUEUED_BYTES", str(4 * 1024 * 1024)))
# The longest a SIGNED_TOKEN session token may still be valid for when it is used (its exp from now), in seconds.
PARLEY_SESSION_TOKEN_MAX_LIFETIME_SECONDS = int(os.environ.get("PARLEY_SESSION_TOKEN_MAX_LIFETIME_SECONDS", "86400"))
# Platform API calls one access token may make per 10 seconds, across all processes (429 beyond); 0: no limit.
PARLEY_API_REQUESTS_PER_10_SECONDS = int(os.environ.get("PARLEY_API_REQUESTS_PER_10_SECONDS", "2000"))
# Messages (and replies) one user may send over websockets per 10 seconds, across all their connections; 0: no limit.
PARLEY_STOMP_MESSAGES_PER_10_SECONDS = int(os.environ.get("PARLEY_STOMP_MESSAGES_PER_10_SECONDS", "50"))

# Chat functions: where applications' dependencies and scripts are written (never inside the state directory: the
# sandbox mounts them), the URL their API clients call back, and each run's limits (seconds, MiB of JavaScript
# heap); warm Node workers per process that runs functions, and how many of them one application may hold at once.
PARLEY_FUNCTIONS_DIR = Path(os.environ.get("PARLEY_FUNCTIONS_DIR", BASE_DIR / ".parley-functions"))
PARLEY_FUNCTIONS_API_URL = os.environ.get("PARLEY_API_URL", "http://127.0.0.1:8000").rstrip("/")
PARLEY_FUNCTIONS_TIMEOUT = float(os.environ.get("PARLEY_FUNCTIONS_TIMEOUT", "10"))
PARLEY_FUNCTIONS_MEMORY_MB = int(os.environ.get("PARLEY_FUNCTIONS_MEMORY_MB", "128"))
PARLEY_FUNCTIONS_WORKERS = int(os.environ.get("PARLEY_FUNCTIONS_WORKERS", "4"))
PARLEY_FUNCTIONS_WORKERS_PER_APPLICATION = int(
    os.environ.get("PARLEY_FUNCTIONS_WORKERS_PER_APPLICATION", str(max(1, PARLEY_FUNCTIONS_WORKERS // 2)))
)
# The sandbox (functions/sandbox.py): bubblewrap's path, the first user id of applications' users (when Parley runs
# as root), the time an npm install may take; and the explicit choice to run tenant code without it (unsafe).
PARLEY_FUNCTIONS_BWRAP = os.environ.get("PARLEY_FUNCTIONS_BWRAP", "bwrap")
PARLEY_FUNCTIONS_UID_BASE = int(os.environ.get("PARLEY_FUNCTIONS_UID_BASE", "1900000000"))
PARLEY_FUNCTIONS_NPM_TIMEOUT = float(os.environ.get("PARLEY_FUNCTIONS_NPM_TIMEOUT", "120"))
PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX = os.environ.get("PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX", "") == "1"

# Import and export jobs (imports/): the largest import file, items written per batch (one transaction each), how
# long a worker holds a job without renewing before another may take it over, and how often workers look for such.
PARLEY_MAX_IMPORT_BYTES = int(os.environ.get("PARLEY_MAX_IMPORT_BYTES", str(4 * 1024 * 1024 * 1024)))
PARLEY_IMPORT_BATCH_SIZE = int(os.environ.get("PARLEY_IMPORT_BATCH_SIZE", "5000"))
PARLEY_JOBS_LEASE_SECONDS = float(os.environ.get("PARLEY_JOBS_LEASE_SECONDS", "60"))
PARLEY_JOBS_SWEEP_SECONDS = float(os.environ.get("PARLEY_JOBS_SWEEP_SECONDS", "30"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["platform_api.auth.ApplicationTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["platform_api.auth.IsApplication"],
    "DEFAULT_THROTTLE_CLASSES": ["platform_api.auth.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["platform_api.renderers.JSONRenderer", "platform_api.renderers.HalJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "platform_api.parsers.JSONParser",
        "platform_api.parsers.ChatKittyJSONParser",
        "platform_api.parsers.MergePatchParser",
        "platform_api.parsers.StandardMergePatchParser",
    ],
    "EXCEPTION_HANDLER": "platform_api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Parley Platform API",
    "DESCRIPTION": "Wire-compatible with the ChatKitty Platform API v1.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    "ENUM_NAME_OVERRIDES": {
        "ToggleEnum": "chat.models.application.Application.Toggle",
        "UserTypeEnum": ["PERSON", "BOT"],
        "FunctionTypeEnum": "functions.models.FunctionType",
        "JobKindEnum": "imports.models.JobType",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "application_authorization": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
            }
        }
    },
    "SECURITY": [{"application_authorization": []}],
    "AUTHENTICATION_WHITELIST": [],
    # The reference and the console from Parley's own static files; Swagger UI checks nothing with an outside validator.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "persistAuthorization": True,
        "displayOperationId": True,
        "validatorUrl": None,
    },
    "TAGS": [{"name": "parley", "description": "Parley's own additions to the ChatKitty Platform API."}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "platform_api.schema.add_user_exists_check",
    ],
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESS_TOKEN_EXPIRE_SECONDS", "43200")),
    "SCOPES": {"create:*": "Create", "read:*": "Read", "update:*": "Update", "delete:*": "Delete"},
    "DEFAULT_SCOPES": ["create:*", "read:*", "update:*", "delete:*"],
    "OAUTH2_VALIDATOR_CLASS": "platform_api.token.Validator",
    # Only the client-credentials grant is used; everything else follows the OAuth 2.0 Security BCP (RFC 9700).
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}

# Logs go to standard error, as text or (PARLEY_LOG_FORMAT=json) one JSON object per line for a log pipeline;
# config.serve then sends uvicorn's own lines (access log included) the same way.
PARLEY_LOG_FORMAT = os.environ.get("PARLEY_LOG_FORMAT", "text")
if PARLEY_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"PARLEY_LOG_FORMAT must be text or json, not {PARLEY_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": PARLEY_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
