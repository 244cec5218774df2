"""The settings module reads everything from the environment, with embedded defaults."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parents[2] / "esm" / "settings.py"
ROOT = SETTINGS.parent.parent

CONFIG_VARIABLES = [
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECURE_SSL_REDIRECT",
    "DATABASE_JIT",
    "DATABASE_RANDOM_PAGE_COST",
    "DATABASE_PARALLEL_WORKERS",
    "DATABASE_PREPARE_THRESHOLD",
    "DATABASE_PREPARED_MAX",
    "CONN_MAX_AGE",
]


@pytest.fixture
def load_settings(monkeypatch):
    """Evaluate esm/settings.py afresh under the given environment."""

    def load(**environment):
        for name in CONFIG_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return load


def test_embedded_defaults_need_no_services(load_settings):
    settings = load_settings(DEBUG="1")

    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["DATABASES"]["default"]["NAME"].endswith("db.sqlite3")
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is True
    assert settings["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    assert settings["MAILERS"]["default"]["BACKEND"].endswith("console.EmailBackend")
    assert settings["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_embedded_sqlite_waits_for_the_write_lock_instead_of_failing(load_settings):
    options = load_settings(DEBUG="1")["DATABASES"]["default"]["OPTIONS"]

    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 20
    assert "journal_mode=WAL" in options["init_command"]


def test_postgresql_gets_none_of_the_sqlite_options(load_settings):
    database = load_settings(DEBUG="1", DATABASE_URL="postgres://portal:pw@db.internal/esm")[
        "DATABASES"
    ]["default"]

    assert "transaction_mode" not in database.get("OPTIONS", {})
    assert "init_command" not in database.get("OPTIONS", {})


def test_postgresql_connections_start_without_jit_or_parallel_workers_and_with_ssd_reads(
    load_settings,
):
    def options(**environment):
        database = load_settings(
            DEBUG="1", DATABASE_URL="postgres://portal:pw@db.internal/esm", **environment
        )["DATABASES"]["default"]
        return database["OPTIONS"].get("options")

    serial = "-c max_parallel_workers_per_gather=0"
    assert options() == f"-c jit=off -c random_page_cost=1.1 {serial}"
    assert options(DATABASE_RANDOM_PAGE_COST="2") == f"-c jit=off -c random_page_cost=2.0 {serial}"
    assert options(DATABASE_PARALLEL_WORKERS="2") == (
        "-c jit=off -c random_page_cost=1.1 -c max_parallel_workers_per_gather=2"
    )
    assert (
        options(DATABASE_JIT="1", DATABASE_RANDOM_PAGE_COST="", DATABASE_PARALLEL_WORKERS="")
        is None
    )


def test_postgresql_binds_parameters_on_the_server_and_prepares_repeated_queries(load_settings):
    def options(**environment):
        database = load_settings(
            DEBUG="1", DATABASE_URL="postgres://portal:pw@db.internal/esm", **environment
        )["DATABASES"]["default"]
        return database["OPTIONS"]["server_side_binding"], database["OPTIONS"]["prepare_threshold"]

    # Workers and commands: bound, never prepared (the web's wsgi.py asks for 5).
    assert options() == (True, None)
    assert options(DATABASE_PREPARE_THRESHOLD="5") == (True, 5)
    assert options(DATABASE_PREPARE_THRESHOLD="") == (True, None)


def test_a_preparing_connection_keeps_500_statements_unless_told_otherwise(load_settings):
    # psycopg's own 100 is fewer than the texts a web process runs (esm/postgresql.py).
    assert load_settings(DEBUG="1")["DATABASE_PREPARED_MAX"] == 500
    assert load_settings(DEBUG="1", DATABASE_PREPARED_MAX="800")["DATABASE_PREPARED_MAX"] == 800


def test_web_processes_prepare_repeated_queries_and_others_do_not():
    """esm/wsgi.py asks for prepared statements before the settings load; a worker or a
    command, which never imports it, plans each query afresh."""
    environment = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "esm.settings",
        "DEBUG": "1",
        "DATABASE_URL": "postgres://portal:pw@db.internal/esm",
    }
    show = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])"
    )

    def threshold(*imports: str) -> str:
        code = "; ".join([*imports, "import django", "django.setup()", show])
        result = subprocess.run(  # noqa: S603 - this interpreter, code written above
            [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[-1]

    assert threshold("import esm.wsgi") == "5"
    assert threshold() == "None"


def test_production_keeps_its_postgresql_connection_and_development_does_not(load_settings):
    postgres = "postgres://portal:pw@db.internal/esm"

    def kept(**environment):
        database = load_settings(SECRET_KEY="k" * 50, **environment)["DATABASES"]["default"]
        assert database["CONN_HEALTH_CHECKS"]
        return database["CONN_MAX_AGE"]

    assert kept(DATABASE_URL=postgres) == 60
    assert kept(DATABASE_URL=postgres, CONN_MAX_AGE="0") == 0
    assert kept(DATABASE_URL=postgres, DEBUG="1") == 0
    assert kept(DEBUG="1") == 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("DATABASE_RANDOM_PAGE_COST", "1; DROP", "could not convert string to float"),
        ("DATABASE_PARALLEL_WORKERS", "2 -c work_mem=1GB", "invalid literal for int"),
        ("DATABASE_PREPARE_THRESHOLD", "often", "invalid literal for int"),
    ],
)
def test_a_postgresql_setting_that_is_not_a_number_stops_the_start(
    load_settings, setting, value, message
):
    """Each goes into the connection's options: anything but a number is refused."""
    with pytest.raises(ValueError, match=message):
        load_settings(
            DEBUG="1", DATABASE_URL="postgres://portal:pw@db.internal/esm", **{setting: value}
        )


def test_database_and_redis_urls_switch_to_postgresql_and_redis(load_settings):
    settings = load_settings(
        DEBUG="1",
        DATABASE_URL="postgres://portal:pw@db.internal:5432/esm",
        REDIS_URL="redis://cache.internal:6379/2",
    )

    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5432, "esm")
    assert settings["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert settings["CELERY_RESULT_BACKEND"] == "redis://cache.internal:6379/2"
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is False
    assert settings["CACHES"]["default"]["BACKEND"] == "esm.cache.FailOpenRedisCache"
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://cache.internal:6379/2"
    # A Redis outage must never sign anyone out.
    assert settings["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_email_url_configures_smtp(load_settings):
    settings = load_settings(DEBUG="1", EMAIL_URL="smtp+tls://mailer:pw@mail.internal:587")

    mailer = settings["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"]["host"] == "mail.internal"
    assert mailer["OPTIONS"]["port"] == 587
    assert mailer["OPTIONS"]["username"] == "mailer"
    assert mailer["OPTIONS"]["use_tls"] is True


def test_production_refuses_to_start_without_a_secret_key(load_settings):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        load_settings(DEBUG="0")


def test_production_turns_on_transport_security(load_settings):
    settings = load_settings(SECRET_KEY="x" * 60, ALLOWED_HOSTS="portal.example.com")

    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == ["portal.example.com"]
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SECURE_HSTS_SECONDS"] >= 31_536_000


def test_ssl_redirect_can_be_left_to_the_proxy(load_settings):
    settings = load_settings(SECRET_KEY="x" * 60, SECURE_SSL_REDIRECT="0")

    assert settings["SECURE_SSL_REDIRECT"] is False


def test_check_deploy_is_clean_with_production_settings():
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in CONFIG_VARIABLES and key != "DJANGO_SETTINGS_MODULE"
    }
    environment |= {
        "DJANGO_SETTINGS_MODULE": "esm.settings",
        "SECRET_KEY": "a-long-random-production-secret-" + "k3y" * 12,
        "ALLOWED_HOSTS": "portal.example.com",
        "EMAIL_URL": "smtp+tls://portal:secret@mail.example.com:587",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_replica_url_adds_the_replica_alias_and_its_router(load_settings, monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader:pw@replica.internal:5432/esm")
    settings = load_settings(DEBUG="1", DATABASE_URL="postgres://portal:pw@db.internal/esm")

    replica = settings["DATABASES"]["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica.internal", "reader")
    assert settings["DATABASE_ROUTERS"] == ["esm.db_routers.ReplicaRouter"]


def test_without_a_replica_url_there_is_one_database_and_no_router(load_settings, monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    settings = load_settings(DEBUG="1")

    assert list(settings["DATABASES"]) == ["default"]
    assert "DATABASE_ROUTERS" not in settings
