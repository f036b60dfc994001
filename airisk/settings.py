"""AIRisk settings, read once from the environment (django-environ).

Every knob is an environment variable; see the configuration table in README.md. Tests override a few
values in ``airisk/settings_test.py``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env file is convenient for development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-airisk-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(a long random string), or DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Under /api/ a CSRF refusal is problem+json like every other API error (apps/core/errors.py).
CSRF_FAILURE_VIEW = "apps.core.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    # Lowest layer first; an app imports only the apps listed above it (see the README's architecture).
    "apps.core",
    "apps.engines",
    "apps.companies",
    "apps.audit",
    "apps.accounts",
    "apps.documents",
    "apps.oauth",
    "apps.users_api",
    "apps.agents",
    "apps.scanners",
    "apps.chat",
    # dashboards before monitoring: their receivers of the chat's signals run in this order, so the rollups'
    # upserts are done before monitoring starts its background notification thread (SQLite locks whole tables).
    "apps.dashboards",
    "apps.monitoring",
    "apps.compliance",
    "apps.demo",
]

MIDDLEWARE = [
    # apps.core.middleware's classes are Django's, django-csp's and WhiteNoise's, async-capable: under ASGI they
    # hop to a thread only for a request with I/O to do (see that module). `check --deploy` counts them as the
    # Django classes they extend (apps/core/checks.py).
    "apps.core.middleware.TraceIdMiddleware",
    "apps.core.middleware.SecurityMiddleware",
    # Early, so that every response carries the policy, the health check's early answer included.
    "apps.core.middleware.CSPMiddleware",
    # Before CommonMiddleware's host validation: the container's health check calls 127.0.0.1 (see its docstring).
    "apps.core.middleware.HealthzMiddleware",
    "apps.core.middleware.WhiteNoiseMiddleware",  # whitenoise's, async-capable
    "apps.core.middleware.SessionMiddleware",  # renews the sliding expiry (SESSION_RENEW_SECONDS)
    "apps.core.middleware.CommonMiddleware",
    "apps.core.middleware.CsrfViewMiddleware",
    "apps.core.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx for the chat pages' partial updates
    "apps.core.middleware.MessageMiddleware",
    "apps.core.middleware.XFrameOptionsMiddleware",
    # Last: turns a lockout noticed during the login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "airisk.urls"
WSGI_APPLICATION = "airisk.wsgi.application"
ASGI_APPLICATION = "airisk.asgi.application"

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

# Database: PostgreSQL in production, an embedded SQLite file under var/ by default.
_DEFAULT_SQLITE = VAR_DIR / "airisk.sqlite3"
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{_DEFAULT_SQLITE}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets readers and the one writer work at the same time; the busy timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DB_POOL", default=True):
    # Served by ASGI (streamed answers), a connection must not stay tied to one thread between requests:
    # CONN_MAX_AGE=0 gives it back at the end of every request and unit of work, and psycopg's pool keeps the
    # server connections open and shared by all threads of the process (README, Serving).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A health check is a `SELECT 1` round trip before every request's first query. Without it, the first request
    # of each process after a database restart fails once (500) and the next one reconnects.
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=False))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Server-side binding lets psycopg prepare a statement that a process runs again and again, so PostgreSQL
    # stops planning the hot queries on every request: here planning costs more than running them.
    # Turn it off behind a PgBouncer in transaction mode older than 1.21.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    # Django turns psycopg's statement preparation off by default (for connection poolers); prepare from the
    # second run of a statement on a connection.
    options.setdefault("prepare_threshold", 2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: local memory by default; Redis (redis://) in production, shared by all app processes, through Django's
# backend with one client per connection pool (apps/core/cache.py: Django builds a client per call).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://airisk")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "apps.core.cache.RedisCache"

AUTH_USER_MODEL = "accounts.ApplicationUser"
# Axes first: it refuses a locked-out account or IP before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Project-wide assets (the portal stylesheet, the admin branding, vendored libraries under static/vendor/ with
# their README); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (documents of agents and conversations, agent images, company logos) go to the default storage
# under MEDIA_ROOT. They are never served from MEDIA_URL: the apps that own them read them back through their own
# scoped views.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# The largest agent file an admin may upload, in bytes.
AGENT_FILE_MAX_BYTES = env.int("AGENT_FILE_MAX_BYTES", default=20 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: safe by default in production; every flag can be relaxed from the environment behind a proxy.
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto, set TRUST_X_FORWARDED_PROTO=true.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"(?i)^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preload is off on purpose: putting a domain on the browsers' preload list binds the domain and every subdomain
# to HTTPS for months, a choice only its owner can make (https://hstspreload.org). So `check --deploy` does not
# warn about it (security.W021) while it is off; it is still one variable away.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Web logins (README, "Logins and sessions").
# Sessions end after SESSION_IDLE_TIMEOUT_SECONDS without a request (sliding: the requests of a logged-in person
# renew the expiry). A renewal is a session write, so it happens at most once per SESSION_RENEW_SECONDS
# (apps.core.middleware.SessionMiddleware), not on every request: a session ends between
# SESSION_IDLE_TIMEOUT_SECONDS - SESSION_RENEW_SECONDS and SESSION_IDLE_TIMEOUT_SECONDS after its last request.
# With Redis as the cache sessions live only in the cache ("cache" engine): no database write, every app process
# shares them, and a Redis flush just logs people out. Without Redis (local memory is per process) they stay in
# the database.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=8 * 3600)
if SESSION_IDLE_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT_SECONDS must be a positive number of seconds.")
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=min(60, SESSION_IDLE_TIMEOUT_SECONDS // 2))
if not 0 <= SESSION_RENEW_SECONDS < SESSION_IDLE_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "SESSION_RENEW_SECONDS must be 0 or more and less than SESSION_IDLE_TIMEOUT_SECONDS (0: every request)."
    )
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_SECONDS
SESSION_SAVE_EVERY_REQUEST = False  # the middleware saves a changed session, or renews one as above
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cache"
    if CACHES["default"]["BACKEND"] == "apps.core.cache.RedisCache"
    else "django.contrib.sessions.backends.db"
)

# Lockout after repeated failed logins (django-axes): AXES_FAILURE_LIMIT failures for one account, or from one
# IP, lock that account or IP out for AXES_COOLOFF_MINUTES (0: until a server admin unlocks it). Unlock with
# `manage.py axes_reset` (all), `axes_reset_username`/`axes_reset_ip`, or the admin's "Access attempts" screen.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT <= 0 or AXES_COOLOFF_MINUTES < 0:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT must be positive and AXES_COOLOFF_MINUTES zero or more.")
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES) if AXES_COOLOFF_MINUTES else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: an account, or an address
# The client IP exactly as the audit log and the rate limits read it (TRUSTED_PROXY_COUNT applies there).
AXES_CLIENT_IP_CALLABLE = "apps.core.net.client_ip"
AXES_USERNAME_CALLABLE = "apps.accounts.logins.login_username"
AXES_LOCKOUT_CALLABLE = "apps.accounts.logins.lockout_response"
# A success must not wipe the failures: someone with an account of their own could otherwise reset the
# counter of the address they attack from.
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True  # the audit log records logins and logouts
AXES_ENABLE_ADMIN = False  # our own screen unlocks through an audited service (apps/accounts/admin.py)
AXES_VERBOSE = False  # no start-up banner in every manage.py command

# Email: password reset links and invitations. EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.com:587 ; in development the mails are printed on the console.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AIRisk <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long a password-reset or invitation link works (Django's PASSWORD_RESET_TIMEOUT), default 3 days.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 24 * 3600)

# Content-Security-Policy on every response (django-csp). No inline script anywhere: scripts come from our
# own origin, or carry the request's nonce ({{ request.csp_nonce }}) when a template really needs one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# OAuth2 and tokens.
ACCESS_TOKEN_LIFETIME_SECONDS = env.int("ACCESS_TOKEN_LIFETIME_SECONDS", default=3600)
AUTH_CODE_LIFETIME_SECONDS = env.int("AUTH_CODE_LIFETIME_SECONDS", default=60)
for _name in ("ACCESS_TOKEN_LIFETIME_SECONDS", "AUTH_CODE_LIFETIME_SECONDS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number of seconds.")
# How old a token row that bearer authentication reads may be (per process, see apps/oauth/token_cache.py):
# the delay before a revocation is seen everywhere. At most one second; 0 reads the row on every request.
BEARER_ROW_MAX_AGE_SECONDS = env.float("BEARER_ROW_MAX_AGE_SECONDS", default=1.0)
if not 0 <= BEARER_ROW_MAX_AGE_SECONDS <= 1:
    raise ImproperlyConfigured("BEARER_ROW_MAX_AGE_SECONDS must be between 0 and 1 (seconds).")

# Documents (apps/documents): the largest upload accepted (35 MB, as the deployed chat client assumes) and the
# most text kept from one document (longer extractions are cut there and marked truncated).
# Scanner API: the longest text one call may scan, the largest file, and each API client's rate.
SCANNER_MAX_TEXT_CHARS = env.int("SCANNER_MAX_TEXT_CHARS", default=1_000_000)
SCANNER_MAX_FILE_BYTES = env.int("SCANNER_MAX_FILE_BYTES", default=20 * 1024 * 1024)
SCANNER_RATE_PER_CLIENT = env.str("SCANNER_RATE_PER_CLIENT", default="600/min")
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=35 * 1024 * 1024)
DOCUMENT_MAX_CHARS = env.int("DOCUMENT_MAX_CHARS", default=2_000_000)
for _name in ("DOCUMENT_MAX_BYTES", "DOCUMENT_MAX_CHARS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")
# Monitoring (apps/monitoring): threads that send notifications after the request that queued them (0: only
# evaluate_alerts sends them), and how long a webhook may take to answer.
MONITORING_NOTIFY_THREADS = env.int("MONITORING_NOTIFY_THREADS", default=2)
MONITORING_WEBHOOK_TIMEOUT_SECONDS = env.float("MONITORING_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Webhooks to loopback, private, link-local or otherwise internal addresses are refused unless this is on (a rule's
# webhook must not become a way to reach the servers behind AIRisk's firewall).
MONITORING_WEBHOOK_ALLOW_PRIVATE = env.bool("MONITORING_WEBHOOK_ALLOW_PRIVATE", default=False)
# The portal's public address (https://airisk.example.com), for links in e-mails; empty: links are paths.
PORTAL_URL = env.str("PORTAL_URL", default="").rstrip("/")
if PORTAL_URL and not PORTAL_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("PORTAL_URL must start with http:// or https://.")
if MONITORING_NOTIFY_THREADS < 0 or MONITORING_WEBHOOK_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured(
        "MONITORING_NOTIFY_THREADS must be 0 or more, MONITORING_WEBHOOK_TIMEOUT_SECONDS above 0."
    )

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded body size (DATA_UPLOAD_MAX_MEMORY_SIZE) and nesting depth: a 400, never a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.oauth.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.oauth.permissions.HasAccessToken"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "apps.core.problems.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AIRisk API",
    "DESCRIPTION": "The AIRisk REST API. Authenticate with an OAuth2 bearer token (see /api/oauth2).",
    "VERSION": "1.0.0",
    # The eight scanner names appear in requests and in results: one enum component, not two.
    "ENUM_NAME_OVERRIDES": {
        "ScannerName": "apps.scanners.detectors.base.SCANNER_NAMES",
        "DashboardElementKind": "apps.dashboards.models.ElementKind.values",
        "DashboardMeasure": "apps.dashboards.models.Measure.values",
        "DashboardPeriod": "apps.dashboards.models.Period.values",
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Users+Groups API: published path spellings, strict bodies, the OAuth2 endpoints (see apps/core/openapi.py).
    "PREPROCESSING_HOOKS": ["apps.core.openapi.preprocess_published_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.postprocess_schema",
        "apps.chat.api.schema.add_stream_endpoints",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/",
    "SORT_OPERATIONS": False,
    # validatorUrl: null keeps Swagger UI from calling validator.swagger.io (the docs work on a closed network).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # trace_id: the traceId of the request being served (the one in its problem+json body), "-" outside one.
    "formatters": {
        "plain": {
            "class": "apps.core.logs.TraceIdFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s trace=%(trace_id)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs each failed login and lockout as a warning (the audit log has the successes too); httpx2 logs
    # every LLM request at INFO, and the engines log their own failures (never a key).
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}


# Keys. Each defaults to a value derived from SECRET_KEY, so a development setup needs nothing more;
# production sets them explicitly so that SECRET_KEY can rotate without invalidating clients or tokens.
def _derived_key(purpose: str) -> str:
    import hashlib
    import hmac

    return hmac.new(SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).hexdigest()


OAUTH_HMAC_KEY = env.str("OAUTH_HMAC_KEY", default="") or _derived_key("airisk.oauth.hmac")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or _derived_key("airisk.jwt.signing")
JWT_KEY_ID = env.str("JWT_KEY_ID", default="1")
# Retired keys still accepted for verification: "kid:key,kid:key".
JWT_PREVIOUS_KEYS = dict(item.split(":", 1) for item in env.list("JWT_PREVIOUS_KEYS", default=[]) if ":" in item)
JWT_ISSUER = env.str("JWT_ISSUER", default="airisk")
JWT_LEEWAY_SECONDS = env.int("JWT_LEEWAY_SECONDS", default=0)
for _name in ("OAUTH_HMAC_KEY", "JWT_SIGNING_KEY"):
    if len(globals()[_name]) < 32:
        raise ImproperlyConfigured(f"{_name} must be at least 32 characters long.")

# OAuth2 token endpoint rate limits ("N/period", period s|m|h|d), counted in the cache (CACHE_URL: use
# Redis in production so that every app process shares the counters). Per IP counts every request of the
# token, revoke and introspect endpoints; per client counts the requests that authenticated as the client.
OAUTH_TOKEN_RATE_PER_IP = env.str("OAUTH_TOKEN_RATE_PER_IP", default="600/min")
OAUTH_TOKEN_RATE_PER_CLIENT = env.str("OAUTH_TOKEN_RATE_PER_CLIENT", default="300/min")
# The authorization endpoint is anonymous: per IP counts every request, per client every request naming a
# usable client (each issues a code).
OAUTH_AUTHORIZE_RATE_PER_IP = env.str("OAUTH_AUTHORIZE_RATE_PER_IP", default="300/min")
OAUTH_AUTHORIZE_RATE_PER_CLIENT = env.str("OAUTH_AUTHORIZE_RATE_PER_CLIENT", default="600/min")


def _require_rates(*names: str) -> None:
    """Stop at startup on a malformed rate, naming it (apps/core/rates.py: the one syntax of every rate)."""
    from apps.core.rates import is_rate

    for name in names:
        if not is_rate(globals()[name]):
            raise ImproperlyConfigured(f"{name} must look like 300/min (a positive count per s, min, hour or day).")


_require_rates(
    "OAUTH_TOKEN_RATE_PER_IP",
    "OAUTH_TOKEN_RATE_PER_CLIENT",
    "OAUTH_AUTHORIZE_RATE_PER_IP",
    "OAUTH_AUTHORIZE_RATE_PER_CLIENT",
    "SCANNER_RATE_PER_CLIENT",
)

# Behind reverse proxies: how many of them append to X-Forwarded-For. The client's address is then the entry
# that many places from the right (apps/core/net.py); with 0 the header is never read, only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 (no proxy) or the number of proxies in front.")

# Audit events older than this are deleted by `manage.py purge_expired`.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be a positive number of days.")

# Encryption of secrets at rest (provider API keys): comma-separated Fernet keys, the first encrypts, all decrypt.
# Rotation: put a new key first, run `manage.py rotate_encryption_key`, then drop the old key.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. Set it to one or more comma-separated Fernet keys (generate one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'), "
            "or DEBUG=true for local development."
        )
    from apps.core.encryption import derived_key

    FIELD_ENCRYPTION_KEYS = [derived_key(SECRET_KEY)]
else:
    from apps.core.encryption import parse_keys

    parse_keys(FIELD_ENCRYPTION_KEYS)  # fail fast on a malformed key, naming its position but never its value

# Chat (docs/chat-api.md). Prompts per user, a rate like every other: "N/s", "N/min", "N/hour" or "N/day".
CHAT_RATE_PER_USER = env.str("CHAT_RATE_PER_USER", default="60/min")
_require_rates("CHAT_RATE_PER_USER")
CHAT_MAX_PROMPT_CHARS = env.int("CHAT_MAX_PROMPT_CHARS", default=32_000)
CHAT_MAX_FILES_PER_CONVERSATION = env.int("CHAT_MAX_FILES_PER_CONVERSATION", default=20)
CHAT_CONTEXT_BUDGET_CHARS = env.int("CHAT_CONTEXT_BUDGET_CHARS", default=6_000)
CHAT_CONTEXT_PASSAGES = env.int("CHAT_CONTEXT_PASSAGES", default=8)
CHAT_ANSWER_MAX_SECONDS = env.int("CHAT_ANSWER_MAX_SECONDS", default=600)
CHAT_CANCEL_POLL_SECONDS = env.float("CHAT_CANCEL_POLL_SECONDS", default=0.5)
# On shutdown (deploys, SIGTERM), how long the answers still running may go on before they are stopped and stored
# as incomplete ("server_shutdown"). Keep it below gunicorn's --graceful-timeout (30 s in docker/Dockerfile): the
# open connections get what is left of it (airisk/workers.py).
CHAT_SHUTDOWN_GRACE_SECONDS = env.float("CHAT_SHUTDOWN_GRACE_SECONDS", default=20.0)
CHAT_PING_SECONDS = env.float("CHAT_PING_SECONDS", default=15.0)
# The garbage collector's first threshold in the server processes (airisk/collector.py): a young-generation
# collection once this many more container objects were created than freed. Python's default, 700, ran one every
# ~60 ms under 50 streaming answers, and its collections, pauses of the whole process, doubled the slowest
# first tokens (docs/chat-api.md). At least 700; the two older generations keep Python's thresholds.
GC_GEN0_THRESHOLD = env.int("GC_GEN0_THRESHOLD", default=5000)
if GC_GEN0_THRESHOLD < 700:
    raise ImproperlyConfigured("GC_GEN0_THRESHOLD must be at least 700 (Python's own default).")
# Threads per server process for the chat's database work (keep below DB_POOL_MAX_SIZE).
CHAT_DB_THREADS = env.int("CHAT_DB_THREADS", default=16)
# Simultaneous upstream connections to LLM providers per server process (one per answer being streamed).
ENGINE_MAX_CONNECTIONS = env.int("ENGINE_MAX_CONNECTIONS", default=1000)
