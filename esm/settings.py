"""One settings module for every environment, configured only by environment variables.

Unset, everything falls back to the embedded default: a SQLite file in the project, Celery
tasks run eagerly in-process, a local-memory cache and e-mail printed to the console. Set
`DATABASE_URL` and `REDIS_URL` to run on PostgreSQL and Redis.
"""

import datetime as dt
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# A development key is only acceptable while DEBUG is on; a deployment must bring its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "esm.admin_apps.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules",
    "axes",
    "esm",
    "services",
    "valuestreams",
    "journeys",
    "reporting",
    # Last: the demo data and its seed_demo command; no app imports it.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one: every answer carries the policy, even one refused early.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view hook reads the body (CSRF reads the form): an oversized request is
    # refused unread, on a page that knows who is signed in.
    "esm.request_limits.RequestBodyLimitMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so the page it renders has the signed-in person and their navigation.
    "esm.middleware.PortalNotFoundInDebugMiddleware",
    # Answers a locked-out sign-in (axes' backend refuses it) with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "esm.urls"
WSGI_APPLICATION = "esm.wsgi.application"

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
                "esm.context_processors.navigation",
            ],
        },
    },
]

# Django's form templates, with selects of many options written out faster.
FORM_RENDERER = "esm.form_renderer.FormRenderer"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# In production a web or worker process keeps its PostgreSQL connection (checked before
# reuse after an error): a new one per request costs the connection's start and, cold, the
# planning of every query that reads the monthly partitions of the event log (12 ms for a
# case's timeline on a new connection at a million requests, 1.5 ms on a warm one). Behind
# PgBouncer in transaction mode set CONN_MAX_AGE=0. Development servers start a thread per
# request, so they gain nothing from keeping it.
_persistent = not DEBUG and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if _persistent else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server and Celery beat write to one file from two processes. WAL lets
    # readers go on while one writes. IMMEDIATE takes the write lock when a transaction
    # begins: a deferred one reads first, and its write then fails at once ("database is
    # locked") if the other process committed meanwhile, since waiting cannot help a stale
    # snapshot. Taken up front, a busy lock is waited for, up to `timeout` seconds.
    # synchronous=NORMAL is durable in WAL mode except for the last commits on power loss.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# PostgreSQL compiles a query to machine code when its estimated cost passes jit_above_cost.
# The pages' grouped reads (the portfolio, a department's knowledge sharing) estimate past it
# on a large history and then spend 100 to 200 ms compiling for a few ms of work: the JIT is
# off for the portal's connections (DATABASE_JIT=1 turns it back on).
# random_page_cost: the server's default (4) prices a random read at four sequential ones, as
# on spinning disks; on SSDs PostgreSQL's own advice is about 1.1. Priced as a disk, a
# department's 400 agents were found by reading all 50,000 people (14 ms a queue page, 2 ms
# through the index). DATABASE_RANDOM_PAGE_COST sets another; empty keeps the server's.
# Parallel query: a plan whose estimate passes parallel_setup_cost starts worker processes,
# a few ms each: at a million requests a queue page's 25 tasks sorted by two workers took
# 14 ms where one process takes 9 (2 cores). The portal's reads are many and small, on as many
# processes as there are cores; DATABASE_PARALLEL_WORKERS lets a rollup worker on a large
# machine take more (empty keeps the server's).
_postgres_settings = [] if env.bool("DATABASE_JIT", default=False) else ["-c jit=off"]
if random_page_cost := env.str("DATABASE_RANDOM_PAGE_COST", default="1.1"):
    _postgres_settings.append(f"-c random_page_cost={float(random_page_cost)}")
if parallel_workers := env.str("DATABASE_PARALLEL_WORKERS", default="0"):
    _postgres_settings.append(f"-c max_parallel_workers_per_gather={int(parallel_workers)}")
# Parameters are bound by the server. A query that a kept connection has run
# DATABASE_PREPARE_THRESHOLD times is prepared: PostgreSQL then plans it once for that
# connection instead of at every run. A page's queries are the same few texts with other
# ids, and some take longer to plan than to run (the task page's own row, 20 relations
# joined by primary key: 9 ms planned, 0.4 ms run), so the web processes prepare after 5
# runs (esm/wsgi.py). Elsewhere it is empty, never prepare: a rollup's reads over ranges of
# days, planned once for any range, ran up to 2.4 times slower. Leave it empty for the web
# too behind a PgBouncer in transaction mode older than 1.21, which cannot follow a prepared
# statement from one server connection to the next.
_prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="")
# A preparing connection keeps at most this many statements, and counts the runs of at most
# as many texts not prepared yet, forgetting the least recently used. psycopg's own limit,
# 100, is fewer than the texts a web process runs across the pages (about 200 over the
# bench's): each page's queries were forgotten before their next run, so none stayed
# prepared, and the task page planned its own row at every visit (48 ms a visit at a million
# requests; 31 ms kept). PostgreSQL holds each plan in the connection's memory, about 180 KB
# on average for the pages' queries: 500 of them is about 90 MB a connection at most.
DATABASE_PREPARED_MAX = env.int("DATABASE_PREPARED_MAX", default=500)
POSTGRES_OPTIONS: dict[str, Any] = {
    "server_side_binding": True,
    "prepare_threshold": int(_prepare_threshold) if _prepare_threshold else None,
}
if _postgres_settings:
    POSTGRES_OPTIONS["options"] = " ".join(_postgres_settings)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)

# Redis is the Celery broker, result store and cache when REDIS_URL is set. Unset, tasks run
# eagerly in the web process and the cache lives in local memory.
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # Fails open: a Redis outage slows pages down, it never breaks them.
            "BACKEND": "esm.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="esm"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes a worker's database connections before and after every task
# unless told to reuse them: every automated step then paid a new PostgreSQL connection
# (2 to 8 ms here, more than half a no-op step). Reused, they are closed every this many
# tasks; in between, esm.celery closes one that failed or outlived CONN_MAX_AGE before and
# after each task, as Django does around a web request.
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Nothing reads task results. Storing them would also make every publish first subscribe
# to the result store, which during a Redis outage blocks the caller for ~20 s.
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# Sessions live in the database, never in Redis: a cache outage must not sign people out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# First, axes: a password sign-in is refused while its username and address are locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # Django's, reading the signed-in person's profile with them (esm/backends.py).
    "esm.backends.PasswordBackend",
]

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failed passwords for one
# username from one address, that pair is locked out for AXES_COOLOFF_MINUTES; the count
# is kept in the database, so parallel attempts and several web processes share it. A
# username alone is not locked: a stranger could otherwise lock anyone out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# Behind a proxy, the client's address is the one the proxy says (as TRUST_X_FORWARDED_PROTO
# trusts its scheme).
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    if env.bool("TRUST_X_FORWARDED_FOR", default=False)
    else ["REMOTE_ADDR"]
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587; the console when unset.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email_options = {}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _email_options = {
        "host": _email.get("EMAIL_HOST"),
        "port": _email.get("EMAIL_PORT"),
        "username": _email.get("EMAIL_HOST_USER") or None,
        "password": _email.get("EMAIL_HOST_PASSWORD") or None,
        "use_tls": bool(_email.get("EMAIL_USE_TLS")),
        "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
        "timeout": env.int("EMAIL_TIMEOUT", default=10),
    }
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ESM Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "esm.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Past its rate a caller gets 429 with Retry-After; counted in the cache (Redis), which
    # fails open: a Redis outage lifts the limit rather than refusing everyone.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANONYMOUS", default="30/minute"),
        "user": env.str("API_RATE_PERSON", default="600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ESM Portal API",
    "DESCRIPTION": "Service catalog, requests, queues and measures of the ESM portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get components of their own, so a required text field says it may
    # not be blank (`minLength`) and read-only fields are not offered as input.
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the errors it can answer, with their bodies (esm/api.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "esm.api.document_errors",
    ],
    # The schema and its docs describe the enterprise's internal service (its departments'
    # operations, fields and filters): for signed-in people only, like the API itself.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: /api/docs/ needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Fields named `status` carry different choice sets: each keeps a name of its own (the
    # clock's keeps the name it had before value streams had a status too). A journey map's
    # status has the same choices as a stream's, so it shares ValueStreamStatusEnum.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "services.models.clocks.ClockState",
        "ValueStreamStatusEnum": "valuestreams.models.ValueStream.Status",
        "FindingStatusEnum": "journeys.models.Finding.Status",
        "FindingKindEnum": "journeys.models.Finding.Kind",
    },
}

# Production security: on whenever DEBUG is off, so `manage.py check --deploy` is clean.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
        # Only behind a proxy that sets this header itself; otherwise clients could spoof it.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Attachments on requests and comments, and how long a resolved request may be reopened.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The whole request body (a form with a few attachments); a larger one is refused unread.
REQUEST_BODY_MAX_BYTES = env.int(
    "REQUEST_BODY_MAX_BYTES", default=4 * ATTACHMENT_MAX_BYTES + 1024 * 1024
)
ATTACHMENT_ALLOWED_EXTENSIONS = set(
    env.list(
        "ATTACHMENT_ALLOWED_EXTENSIONS",
        default=["pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "docx", "xlsx", "pptx", "odt"],
    )
)
REOPEN_WINDOW_DAYS = env.int("REOPEN_WINDOW_DAYS", default=7)
# A task is "at risk" once less than this share of its resolution time is left.
SLA_AT_RISK_SHARE = env.float("SLA_AT_RISK_SHARE", default=0.25)
# What one automated step saves a person, in minutes: the staff-hours-saved measure.
AUTOMATION_MINUTES_SAVED_PER_STEP = env.int("AUTOMATION_MINUTES_SAVED_PER_STEP", default=15)
# A watermelon (reporting): attainment from which a service looks green, and the mean rating
# under which its experience is red, where the measures themselves set none.
WATERMELON_ATTAINMENT_TARGET = env.float("WATERMELON_ATTAINMENT_TARGET", default=0.9)
WATERMELON_RATING_BELOW = env.float("WATERMELON_RATING_BELOW", default=3.5)
# The currency of cost rates and the cost-per-request measure.
REPORTING_CURRENCY = env.str("REPORTING_CURRENCY", default="EUR")
# Where links in e-mails point.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

CELERY_BEAT_SCHEDULE = {
    "sla-breach-sweep": {"task": "services.tasks.sla_breach_sweep_task", "schedule": 60.0},
    "automation-sweep": {"task": "services.tasks.step_runs_sweep_task", "schedule": 30.0},
    "popular-catalog-items": {
        "task": "services.tasks.catalog_items_count_recent_task",
        "schedule": 3600.0,
    },
    "close-resolved-requests": {
        "task": "services.tasks.service_requests_close_sweep_task",
        "schedule": 3600.0,
    },
    # Named by string: the settings never import the apps. Incremental every five minutes
    # (with a lag window for late commits); whole once a night, in case a stream's model
    # changed or an event came later than the lag window.
    "value-stream-rollups": {
        "task": "valuestreams.tasks.value_streams_refresh_task",
        "schedule": 300.0,
    },
    "reporting-snapshots": {
        "task": "reporting.tasks.snapshots_refresh_task",
        "schedule": 3600.0,
    },
    # The portfolio's daily rollup: the recent days hourly (reopenings, early ratings), its
    # whole window (`reporting.portfolio.WINDOW_DAYS`) nightly, for the ratings given later.
    "portfolio-rollups": {
        "task": "reporting.tasks.service_days_refresh_task",
        "schedule": 3600.0,
    },
    "portfolio-rollups-nightly": {
        "task": "reporting.tasks.service_days_refresh_task",
        "schedule": crontab(hour=3, minute=0),
        "kwargs": {"whole_window": True},
    },
    # The collaboration map's crossings of the cases with new events.
    "collaboration-rollups": {
        "task": "reporting.tasks.crossings_refresh_task",
        "schedule": 300.0,
    },
    # The department managers' knowledge sharing over its last 90 days.
    "knowledge-sharing-rollups": {
        "task": "reporting.tasks.sharing_refresh_task",
        "schedule": 900.0,
    },
    # Once a day, at 06:00 UTC, before the working day; `reporting.delivery` decides which
    # subscriptions are due (weekly, monthly), so a missed run is made up by the next one.
    "reporting-subscriptions": {
        "task": "reporting.tasks.subscriptions_send_task",
        "schedule": crontab(hour=6, minute=0),
    },
    "value-stream-rollups-nightly": {
        "task": "valuestreams.tasks.value_streams_refresh_task",
        "schedule": crontab(hour=2, minute=30),
        "kwargs": {"full": True},
    },
    # Journeys read the same log (and value streams' stage links): the same rhythm, after.
    "journey-rollups": {
        "task": "journeys.tasks.journeys_refresh_task",
        "schedule": 300.0,
    },
    "journey-rollups-nightly": {
        "task": "journeys.tasks.journeys_refresh_task",
        "schedule": crontab(hour=2, minute=45),
        "kwargs": {"full": True},
    },
}

# Single sign-on (OpenID Connect), on mozilla-django-oidc (`esm/oidc.py`). Off unless
# OIDC_ISSUER and OIDC_CLIENT_ID are set; the endpoints come from the issuer's discovery
# document unless given one by one. The redirect URI to register at the provider is
# https://<portal>/account/oidc/callback/ (and https://<portal>/account/sign-in/ as the
# post-logout redirect URI).
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGORITHM", default="RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_ENDPOINT", default="")
OIDC_OP_END_SESSION_ENDPOINT = env.str("OIDC_END_SESSION_ENDPOINT", default="")
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
# On the sign-in page: "Sign in with <name>".
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
# The stable claim that links a first sign-in to a person already in the portal: `email`,
# or `sub` (then only people signed in before, or new, are found).
OIDC_LINK_CLAIM = env.str("OIDC_LINK_CLAIM", default="email")
if OIDC_LINK_CLAIM not in ("sub", "email"):
    raise ImproperlyConfigured("OIDC_LINK_CLAIM is `sub` or `email`.")
OIDC_CLAIM_DEPARTMENT = env.str("OIDC_CLAIM_DEPARTMENT", default="department")
OIDC_CLAIM_MANAGER = env.str("OIDC_CLAIM_MANAGER", default="manager")
OIDC_CLAIM_JOB_TITLE = env.str("OIDC_CLAIM_JOB_TITLE", default="job_title")
OIDC_CLAIM_GROUPS = env.str("OIDC_CLAIM_GROUPS", default="groups")
# group=department-slug:role[;department-slug:role], comma-separated. A department with
# confidential cases (HR) gets no role from a group unless it is listed in the second one.
OIDC_GROUP_ROLES = env.dict("OIDC_GROUP_ROLES", default={})
OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS = env.list(
    "OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS", default=[]
)
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
# Kept in the (database) session for the provider's sign-out (`id_token_hint`); the access
# token is not kept.
OIDC_STORE_ID_TOKEN = True
# Off: only the break-glass administrators (usernames) sign in with a password, for when
# the provider is down; everyone else signs in with it. Ignored without single sign-on.
LOCAL_PASSWORDS = env.bool("LOCAL_PASSWORDS", default=True)
BREAK_GLASS_USERNAMES = env.list("BREAK_GLASS_USERNAMES", default=[])
if OIDC_ISSUER and OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "rules.permissions.ObjectPermissionBackend",
        "esm.oidc.LocalPasswordBackend",
        "esm.oidc.SignInBackend",
    ]

# --- Directory provisioning (SCIM 2.0) ---------------------------------------------------------
# The identity provider signs in with a provisioning client's token (made in the admin, stored
# hashed): no setting is needed to run it. Deactivating a person raises this catalog item for
# them, raised by the client's account on their behalf.
SCIM_OFFBOARDING_ITEM = env.str("SCIM_OFFBOARDING_ITEM", default="offboarding")

# E-mail in ---------------------------------------------------------------------------------
# Each inbound address (admin: Services > Inbound addresses) names an IMAP mailbox; mailbox
# NAME is described by MAIL_IN_<NAME>_HOST, _USER, _PASSWORD, and optionally _PORT (993)
# and _SSL (true). None set: nothing is fetched.
MAIL_IN_MAILBOXES = {
    name.lower(): {
        "host": env.str(f"MAIL_IN_{name}_HOST"),
        "port": env.int(f"MAIL_IN_{name}_PORT", default=993),
        "user": env.str(f"MAIL_IN_{name}_USER"),
        "password": env.str(f"MAIL_IN_{name}_PASSWORD"),
        "ssl": env.bool(f"MAIL_IN_{name}_SSL", default=True),
    }
    for key in sorted(env.ENVIRON)
    if key.startswith("MAIL_IN_")
    and key.endswith("_HOST")
    and (name := key.removeprefix("MAIL_IN_").removesuffix("_HOST"))
}
# A sender writing more often than this to one address within an hour is refused (a loop
# with another system's auto-responder, or a flood).
MAIL_IN_PER_SENDER_PER_HOUR = env.int("MAIL_IN_PER_SENDER_PER_HOUR", default=20)
CELERY_BEAT_SCHEDULE["mail-in-fetch"] = {"task": "services.tasks.mail_fetch_task", "schedule": 60.0}

# --- Content Security Policy ---------------------------------------------------------------
# Every page's scripts and styles come from the portal's own static files (no inline script
# or style anywhere; Chart.js and htmx style elements through the CSSOM, which the policy
# allows). A form posts only to the portal, or to the identity provider on sign-out, where
# the portal's sign-out redirects.
_FORM_ACTIONS = [CSP.SELF]
for _name in ("OIDC_ISSUER", "OIDC_END_SESSION_ENDPOINT"):
    if env.str(_name, default=""):
        _origin = env.url(_name)._replace(path="", query="", fragment="").geturl()
        if _origin not in _FORM_ACTIONS:
            _FORM_ACTIONS.append(_origin)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": _FORM_ACTIONS,
    "frame-ancestors": [CSP.NONE],
}

# --- Past one machine (docs/scaling.md) --------------------------------------------------------
# A read replica: reads of the measuring pages (value streams, journeys, reporting and their
# exports) go to it when DATABASE_REPLICA_URL is set; everything else, and every write, to
# the primary (esm/db_routers.py says why by page, not by model).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.LoginRequiredMiddleware") + 1,
    "esm.db_routers.ReplicaReadsMiddleware",
)
if DATABASE_REPLICA_URL := env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
    DATABASE_ROUTERS = ["esm.db_routers.ReplicaRouter"]

# Celery work in queues of its own, so each pool scales (and fails) on its own: automated
# steps, notifications (e-mail), rollups (the measuring apps' refreshes), mail fetch (IMAP),
# and the default queue for the sweeps. `make worker` consumes them all on one machine.
CELERY_TASK_DEFAULT_QUEUE = "default"
WORKER_QUEUES = ["default", "automation", "notifications", "rollups", "mail"]
CELERY_TASK_ROUTES = {
    "services.tasks.run_step_task": {"queue": "automation"},
    "services.tasks.step_runs_sweep_task": {"queue": "automation"},
    "services.tasks.notify_task": {"queue": "notifications"},
    "reporting.tasks.subscriptions_send_task": {"queue": "notifications"},
    "reporting.tasks.snapshots_refresh_task": {"queue": "rollups"},
    "reporting.tasks.service_days_refresh_task": {"queue": "rollups"},
    "reporting.tasks.crossings_refresh_task": {"queue": "rollups"},
    "reporting.tasks.sharing_refresh_task": {"queue": "rollups"},
    "services.tasks.catalog_items_count_recent_task": {"queue": "rollups"},
    "valuestreams.tasks.*": {"queue": "rollups"},
    "journeys.tasks.*": {"queue": "rollups"},
    "services.tasks.mail_fetch_task": {"queue": "mail"},
}

# The event log's monthly partitions (PostgreSQL), created this many months ahead, daily.
EVENT_PARTITIONS_AHEAD_MONTHS = env.int("EVENT_PARTITIONS_AHEAD_MONTHS", default=3)
CELERY_BEAT_SCHEDULE["event-partitions"] = {
    "task": "esm.tasks.event_partitions_create_task",
    "schedule": crontab(hour=1, minute=15),
}

# Files (attachments) in an S3-compatible bucket when STORAGE_S3_BUCKET is set, so any
# number of web processes serve the same files; the local MEDIA_ROOT otherwise. The bucket
# stays private: files are only ever streamed through the permission-checked view.
if STORAGE_S3_BUCKET := env.str("STORAGE_S3_BUCKET", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": env.str("STORAGE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STORAGE_S3_REGION", default="") or None,
            # Unset: boto3's own chain (instance role, AWS_* variables, config files).
            "access_key": env.str("STORAGE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("STORAGE_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("STORAGE_S3_PREFIX", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            # Two uploads of one name on a request keep both, as on the file system.
            "file_overwrite": False,
        },
    }

# `make bench` ---------------------------------------------------------------------------------
# Only under the bench: a signed-in no-op page (the floor pages are measured against) and the
# SQL query count of every response in a header (esm/bench.py). Its web processes publish
# every task to a queue of their own that no worker reads and the bench removes afterwards,
# so no worker on the same Redis runs a bench submission against another database. Never on
# in production.
BENCH = env.bool("BENCH", default=False)
if BENCH:
    MIDDLEWARE.insert(0, "esm.bench.QueryCountMiddleware")
    CELERY_TASK_ROUTES = {"*": {"queue": env.str("BENCH_CELERY_QUEUE", default="esm-bench")}}
