"""Settings, read from the environment with typed helpers (django-environ).

Every setting has a working local default: with no DATABASE_URL or REDIS_URL the embedded
PostgreSQL + pgvector and Redis (see `hilconsole.embedded`) are started on demand, so a fresh
clone runs with no `.env`. DEBUG is off unless asked for (`make run` and the tests turn it on),
and with DEBUG off the console refuses to start without the production settings: a strong
SECRET_KEY, ALLOWED_HOSTS and a DEMO_SHOP_API_KEY of its own. With those and DATABASE_URL and
REDIS_URL, `manage.py check --deploy` passes.
"""

import hashlib
import hmac
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from hilconsole import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


class StrictEnv(environ.Env):
    """django-environ, except that a boolean must be spelled as one: DEBUG=flase is an error."""

    TRUE_WORDS = {"1", "true", "yes", "on"}
    FALSE_WORDS = {"0", "false", "no", "off"}

    def bool(self, var, default=environ.Env.NOTSET):
        if var not in self.ENVIRON:
            return super().bool(var, default=default)
        word = self.ENVIRON[var].strip().lower()
        if word not in self.TRUE_WORDS | self.FALSE_WORDS:
            raise ImproperlyConfigured(f"{var}={self.ENVIRON[var]!r} is not a boolean: use true or false.")
        return word in self.TRUE_WORDS


env = StrictEnv()

# Off unless asked for (make run, make test): a forgotten variable must not expose debug pages.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-development-only-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where customers' browsers reach the console (the widget's <script src> in the admin).
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000")

# Embedded services only for what the environment does not provide.
if "DATABASE_URL" not in env or "REDIS_URL" not in env:
    try:
        EMBEDDED_SERVICES = embedded.from_environment(BASE_DIR)
        embedded.ensure_running(EMBEDDED_SERVICES)
    except embedded.EmbeddedServiceError as error:
        # A clear message instead of a traceback from every process that loads settings.
        sys.exit(f"HIL Console cannot start its embedded services:\n{error}")
else:
    EMBEDDED_SERVICES = None

DATABASE_URL = env.str("DATABASE_URL", default=EMBEDDED_SERVICES and EMBEDDED_SERVICES.database_url)
REDIS_URL = env.str("REDIS_URL", default=EMBEDDED_SERVICES and EMBEDDED_SERVICES.redis_url)

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# A psycopg connection pool per process saves a PostgreSQL backend start per request (and serves
# the Celery tasks' and the sockets' threads alike).
if env.bool("DATABASE_POOL", default=True):
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# Threads a web process runs requests on (hilconsole/asgi.py); requests beyond them wait their
# turn. As many as the pool has connections: a request thread never waits for a connection.
WEB_REQUEST_THREADS = env.int("WEB_REQUEST_THREADS", default=env.int("DATABASE_POOL_MAX_SIZE", default=20))
# The hottest statements (hilconsole/prepared.py) are prepared on each connection at their first
# run. Turn it off behind a pooler that cannot keep prepared statements (PgBouncer in
# transaction mode before 1.21); those statements then run unprepared.
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 0
# Each connection is checked as it is handed out, so one left dead by a database restart is
# replaced instead of failing a request. With the pool, the backend does it without a round trip
# when nothing points to a dead connection (hilconsole/postgresql/base.py); without the pool,
# Django checks a reused connection before a request's first query.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "hilconsole.postgresql"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = "pool" not in DATABASES["default"]["OPTIONS"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework.authtoken",
    "corsheaders",
    "channels",
    "django_htmx",
    "guardian",
    "django_celery_beat",
    "axes",
    "hilconsole",
    "conversations",
    "agents",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "conversations.middleware.WidgetCorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hilconsole.urls"
ASGI_APPLICATION = "hilconsole.asgi.application"
WSGI_APPLICATION = None

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

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while its account or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading a request's user together with their desk roles.
    "reviews.roles.DeskUserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in limits for the desk and the admin (django-axes, counted in Redis): after
# LOGIN_FAILURE_LIMIT failed attempts for one account, or from one address, signing in there is
# refused for LOGIN_LOCKOUT_MINUTES; a successful sign-in clears that account's count.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hilconsole.logins.locked_out"
AXES_CLIENT_IP_CALLABLE = "hilconsole.logins.client_ip"
# Attempts live in Redis, not in axes's tables: its admin pages would always be empty.
AXES_ENABLE_ADMIN = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk:home"
LOGOUT_REDIRECT_URL = "login"
# Django's database sessions, read with one plain statement (hilconsole/sessions.py).
SESSION_ENGINE = "hilconsole.sessions"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
# WhiteNoise serves static files from the ASGI server itself, also without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Redis: the Django cache, the Channels layer and the Celery broker all live here.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "hil",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# Redis pub/sub: one PUBLISH per group message, fanned out to a process's sockets in memory.
# (The list-based layer pops each socket's copy from Redis separately: 200 desks watching one
# inbox cost 200 Redis round trips per handover and missed bench/handover_fanout.py's target.)
# Delivery is at most once, as before: a page that was offline catches up by reloading or polling.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "hil-asgi"},
    }
}

# Celery: a task is acknowledged only once it has finished, and goes back to the queue if its
# worker dies mid-run, so nothing is lost; prefetch 1 keeps one slow task from holding others.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Redis redelivers an unacknowledged task after the visibility timeout. It must exceed the
# longest task and the longest countdown/ETA, or a task still running would run twice.
CELERY_LONGEST_COUNTDOWN = env.int("CELERY_LONGEST_COUNTDOWN", default=6 * 60 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_LONGEST_COUNTDOWN + 2 * CELERY_TASK_TIME_LIMIT,
}
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup would otherwise close every database connection, and with the pool the
# whole pool, around each task: a new PostgreSQL backend per task (about 6 ms). Tasks instead
# return their connection to the pool and health-check it like requests (hilconsole/celery.py).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=10_000)
# Queues, so that a deployment can give customers' turns workers of their own: a re-embedding
# of the whole knowledge base or a long sweep then never delays an AI reply (docs/deploy.md).
# A worker started without -Q consumes all of them, as `make run` and the tests do; every
# other task (assignment, callbacks, workflows) goes to the default queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {name: {} for name in ("celery", "turns", "ingestion", "sweeps")}
CELERY_TASK_ROUTES = {
    "agents.run_turn": {"queue": "turns"},
    "agents.resume_run": {"queue": "turns"},
    "agents.ingest_document": {"queue": "ingestion"},
    "agents.reembed_all": {"queue": "ingestion"},
    # What beat sends (hilconsole/schedules.py and each app's schedules.py).
    "agents.resume_stalled_turns": {"queue": "sweeps"},
    "reviews.presence_sweep": {"queue": "sweeps"},
    "reviews.sla_sweep": {"queue": "sweeps"},
    "reviews.assignment_sweep": {"queue": "sweeps"},
    "reviews.review_deadline_sweep": {"queue": "sweeps"},
    "hilconsole.rollups_refresh": {"queue": "sweeps"},
    "hilconsole.retention_sweep": {"queue": "sweeps"},
}

# The LLM gateway (agents/llm): LiteLLM Router retries, failures before a deployment cools
# down, how long it stays cooled down, and the Fernet key for provider keys stored in the admin.
LLM_RETRIES = env.int("LLM_RETRIES", default=2)
LLM_ALLOWED_FAILS = env.int("LLM_ALLOWED_FAILS", default=3)
LLM_COOLDOWN_SECONDS = env.int("LLM_COOLDOWN_SECONDS", default=30)
LLM_KEYS_FERNET_KEY = env.str("LLM_KEYS_FERNET_KEY", default="")
LLM_PROFILE_REFRESH_SECONDS = env.float("LLM_PROFILE_REFRESH_SECONDS", default=5.0)
# The completion a budget check expects of a call whose answer it cannot know yet.
LLM_BUDGET_COMPLETION_TOKENS = env.int("LLM_BUDGET_COMPLETION_TOKENS", default=500)
# Hosts a deployment's api_base may name even though they are link-local (by default none).
LLM_API_BASE_ALLOWED_HOSTS = env.list("LLM_API_BASE_ALLOWED_HOSTS", default=[])

# AI turns: how soon a turn waiting for another turn of its conversation tries again, and after
# how long without progress the beat sweep hands a stalled turn to a worker again.
AI_TURN_BUSY_RETRY_SECONDS = env.float("AI_TURN_BUSY_RETRY_SECONDS", default=0.1)
AI_TURN_STALLED_SECONDS = env.float("AI_TURN_STALLED_SECONDS", default=60.0)

# Readiness: Celery counts as ready when a worker answered a ping this recently.
# Retention deletes old rows this many at a time (each batch its own short transaction).
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)

# Prometheus scrapes /metrics with "Authorization: Bearer <METRICS_TOKEN>" (empty: staff sessions only).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

READYZ_CELERY_WINDOW_SECONDS = env.int("READYZ_CELERY_WINDOW_SECONDS", default=10)
READYZ_TIMEOUT_SECONDS = env.float("READYZ_TIMEOUT_SECONDS", default=1.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "hilconsole.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Behind a load balancer, the client's address is the last hop it added.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# The OpenAPI schema of the JSON APIs (drf-spectacular) at /api/schema/, browsable at /api/docs/
# with Swagger UI served from the console itself (no CDN). Public, like the widget it documents.
SPECTACULAR_SETTINGS = {
    "TITLE": "HIL Console API",
    "DESCRIPTION": "The widget API customers' browsers call, the staff API, and the demo shop's backend. "
    'Errors are {"error": {"code", "message"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "OrderStatusEnum": "agents.models.DemoOrder.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# The desk: a desk whose socket sent no heartbeat for this long shows its agent away, then
# offline (each inbox then waits its own grace period before requeueing their conversations).
DESK_AWAY_AFTER_SECONDS = env.int("DESK_AWAY_AFTER_SECONDS", default=60)
DESK_OFFLINE_AFTER_SECONDS = env.int("DESK_OFFLINE_AFTER_SECONDS", default=300)
DESK_HEARTBEAT_SECONDS = env.int("DESK_HEARTBEAT_SECONDS", default=20)
# How often an open desk socket re-reads its user's access (account, role, inbox grants) even
# when nothing told it that they changed.
DESK_PERMISSION_RECHECK_SECONDS = env.float("DESK_PERMISSION_RECHECK_SECONDS", default=30.0)

# Request bodies: larger ones get 413 before they are read (hilconsole.body_limits). The admin's
# pages may carry an upload (a knowledge document) of up to UPLOAD_MAX_BYTES on top.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=1024 * 1024)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
# Documents submitted for analysis (POST /api/v1/analyses) may be this large; that endpoint's body
# cap is this plus REQUEST_MAX_BODY_BYTES (a multipart form's other fields).
ANALYSIS_UPLOAD_MAX_BYTES = env.int("ANALYSIS_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# The ASGI body caps above refuse larger bodies before they are read; Django's own cap on a body it
# reads into memory must not refuse first what they let through.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(REQUEST_MAX_BODY_BYTES, ANALYSIS_UPLOAD_MAX_BYTES) + REQUEST_MAX_BODY_BYTES
# Outside agents' callbacks carry an HMAC-SHA256 of the body with this secret (X-HIL-Signature).
APPROVALS_CALLBACK_SECRET = env.str(
    "APPROVALS_CALLBACK_SECRET",
    default=hmac.new(SECRET_KEY.encode(), b"approvals-callback", hashlib.sha256).hexdigest(),
)
# A draft reply held for review that nobody decided within this goes to a person instead.
REVIEW_DRAFT_DEADLINE_SECONDS = env.int("REVIEW_DRAFT_DEADLINE_SECONDS", default=15 * 60)
# A handover of an auto-assigning inbox still waiting after this long is offered again by beat.
DESK_ASSIGNMENT_RETRY_SECONDS = env.int("DESK_ASSIGNMENT_RETRY_SECONDS", default=30)
# How often an open desk page re-reads its lists, so an event it missed heals by itself.
DESK_RESYNC_SECONDS = env.int("DESK_RESYNC_SECONDS", default=60)

# The widget API.
WIDGET_MAX_MESSAGE_CHARS = env.int("WIDGET_MAX_MESSAGE_CHARS", default=4000)
# A customer token unused this long stops working (the widget then starts a new conversation).
WIDGET_TOKEN_IDLE_DAYS = env.int("WIDGET_TOKEN_IDLE_DAYS", default=30)
WIDGET_RATE_LIMITS = {
    "per_customer": env.str("WIDGET_RATE_PER_CUSTOMER", default="60/min"),
    "per_ip": env.str("WIDGET_RATE_PER_IP", default="600/min"),
}
# The longest WebSocket frame the ASGI server accepts (uvicorn --ws-max-size); longer ones are
# refused before any consumer sees them.
WEBSOCKET_MAX_FRAME_BYTES = env.int("WEBSOCKET_MAX_FRAME_BYTES", default=64 * 1024)
# CORS for the widget API only, and only for origins an inbox allows (conversations.apps).
CORS_URLS_REGEX = r"^/api/widget/.*$"
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-inbox-token"]
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_PREFLIGHT_MAX_AGE = 3600

# The demo shop backend (agents/demo_shop) that the demo tools call over HTTP, on the console itself.
# Loopback on the port `make run` serves; production sets the console's own public https URL.
DEMO_SHOP_URL = env.str("DEMO_SHOP_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
# The shared secret the tools send; derived from SECRET_KEY so no usable default ships in the repo.
DEMO_SHOP_API_KEY = env.str(
    "DEMO_SHOP_API_KEY", default=hmac.new(SECRET_KEY.encode(), b"demo-shop-api-key", hashlib.sha256).hexdigest()
)
# `?delay=<seconds>` makes the shop slow (to watch timeouts); honoured only with DEBUG or this.
DEMO_SHOP_ALLOW_DELAY = env.bool("DEMO_SHOP_ALLOW_DELAY", default=False)
# The demo page lets a visitor sign in as one of the demo shop's customers: it signs their id with
# the inbox's identity secret for anyone who asks, so it is on only where the demo is a demo.
DEMO_SHOP_SIGN_IN = env.bool("DEMO_SHOP_SIGN_IN", default=DEBUG)

# HTTPS hardening, on whenever DEBUG is off (`check --deploy` passes in production).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Health probes come from the load balancer over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Error pages and reports hide the service URLs too, and log lines are scrubbed of them.
DEFAULT_EXCEPTION_REPORTER_FILTER = "hilconsole.redaction.ConsoleExceptionReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "hilconsole.redaction.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "filters": {"expected_conflicts": {"()": "hilconsole.request_log.ExpectedConflicts"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # LiteLLM logs every call at INFO; the gateway records calls as LLMCall rows instead.
        **{name: {"level": "WARNING"} for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx")},
        "django.request": {"filters": ["expected_conflicts"]},
    },
}


def unsafe_production_settings() -> list[str]:
    """What makes these settings unsafe outside development (checked with DEBUG off)."""
    problems = []
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters.")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the host names the console is served on.")
    if "DEMO_SHOP_API_KEY" not in env or len(DEMO_SHOP_API_KEY) < 32:
        problems.append("DEMO_SHOP_API_KEY must be set to a random value of at least 32 characters.")
    return problems


# Fail closed: with DEBUG off the console does not start on settings that would make it unsafe.
# Writing migrations serves no one and acts on nothing: a contributor runs it without secrets.
WRITES_CODE_ONLY = sys.argv[1:2] == ["makemigrations"]
if not DEBUG and not WRITES_CODE_ONLY and (_problems := unsafe_production_settings()):
    sys.exit(
        "HIL Console refuses to start: DEBUG is off (the default) and\n"
        + "".join(f"  - {problem}\n" for problem in _problems)
        + "For local development use `make run` / `make test`, or set DEBUG=true."
    )
