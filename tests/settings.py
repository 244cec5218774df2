"""Test settings: the project's settings, plus what makes tests fast and self-contained."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from esm.settings import *  # noqa: F403
from esm.settings import CACHES, DATABASES, REDIS_URL

# Tests speak plain HTTP to their live server.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# The test database is created and dropped around the run: no connection kept past a request.
DATABASES["default"]["CONN_MAX_AGE"] = 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Sign-in throttling and API rates have tests of their own (which switch them on); every
# other test signs in and calls the API as often as it needs.
AXES_ENABLED = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"},
}

# Unit tests run tasks eagerly even with Redis configured; integration tests start a real
# worker and switch this off for themselves.
CELERY_TASK_ALWAYS_EAGER = True

if REDIS_URL:
    # Parallel test processes share one Redis: keep their cache keys apart.
    CACHES["default"]["KEY_PREFIX"] = f"esm-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

# Static files come from the finders in tests; nothing is collected.
STATIC_ROOT = None

# A second alias for the read replica's tests: the same test database under another
# connection. Reads are not routed unless a test installs the replica router
# (tests/esm/test_db_routers.py), so every other test reads and writes one connection inside
# its transaction; nothing is migrated or checked on the replica, as in production.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["esm.db_routers.PrimaryOnlyMigrations"]
