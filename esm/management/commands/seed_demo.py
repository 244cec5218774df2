from collections.abc import Iterator
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from esm import demo


def _app_demo_modules() -> Iterator[ModuleType]:
    for app in apps.get_app_configs():
        if app.name != "esm" and find_spec(f"{app.name}.demo") is not None:
            yield import_module(f"{app.name}.demo")


class Command(BaseCommand):
    help = (
        "Load the demo enterprise (departments, calendars, people in every role, and what "
        "each app adds). Safe to run again: existing data and passwords are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="Give every demo account this password (also resets existing ones).",
        )
        parser.add_argument(
            "--without-history",
            action="store_true",
            help="Leave out the weeks of simulated queue work (faster; for tests).",
        )

    def handle(
        self,
        *args: Any,
        password: str | None = None,
        without_history: bool = False,
        **options: Any,
    ) -> None:
        with transaction.atomic():
            accounts = demo.seed(password=password)
            # Apps above the core (services, measuring apps) add their demo data in their
            # own `demo.seed_app()`, in INSTALLED_APPS order; the core never imports them.
            for module in _app_demo_modules():
                module.seed_app(history=not without_history)
        self._print_accounts(accounts)

    def _print_accounts(self, accounts: list[demo.SeededAccount]) -> None:
        new = [account for account in accounts if account.password]
        if not new:
            self.stdout.write(
                "Demo enterprise already loaded; accounts keep their passwords "
                "(seed_demo --password NEW sets them all)."
            )
            return
        self.stdout.write(self.style.SUCCESS("Demo accounts (passwords shown only this once):"))
        for account in new:
            self.stdout.write(f"  {account.username:<8} {account.password:<16} {account.describes}")
