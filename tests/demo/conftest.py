import logging
from io import StringIO

import pytest
from django.core.management import call_command


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """seed_demo with its history, committed (the automated steps run on commit, as they
    would on a worker), once per module; the database is emptied again afterwards.

    Yields the warnings the demo logged (a story stopped early, an item left out).
    """
    warnings = _Warnings()
    logger = logging.getLogger("demo")
    logger.addHandler(warnings)
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        try:
            call_command("seed_demo", password="x", stdout=StringIO())
            yield warnings.messages
        finally:
            logger.removeHandler(warnings)
            call_command("flush", interactive=False, verbosity=0)
