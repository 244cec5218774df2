from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from demo import catalog, enterprise, history, journeys, reporting, reuse, valuestreams
from demo.enterprise import SeededAccount
from journeys.rollups import journeys_refresh
from journeys.suggestions import journeys_suggest
from reporting.crossings import crossings_refresh
from reporting.rollups import snapshots_backfill
from reporting.service_days import service_days_backfill
from reporting.sharing import sharing_refresh
from services.actions import catalog_items_count_recent
from valuestreams.rollups import value_streams_refresh

# Weekly snapshots of every measure over the history, so reports show a trend at once.
SNAPSHOT_WEEKS = 10


class Command(BaseCommand):
    help = (
        "Load the demo enterprise (departments, calendars, people in every role, the catalog, "
        "plans and queues) and its weeks of history. Safe to run again: existing data and "
        "passwords are kept."
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
            accounts = enterprise.seed(password=password)
            catalog.seed()
            valuestreams.seed()
            journeys.seed()
            reporting.seed()
            if not without_history:
                enterprise.seed_employees()
            catalog.seed_directory_accounts()
        # Outside the transaction: each simulated action commits at its own moment.
        history.seed(history=not without_history)
        # The measures read rollups: fill them from the history just written.
        value_streams_refresh(full=True)
        journeys_refresh(full=True)
        journeys_suggest()
        snapshots_backfill(weeks=0 if without_history else SNAPSHOT_WEEKS)
        service_days_backfill()
        crossings_refresh(full=True)
        sharing_refresh()
        catalog_items_count_recent()
        # Last: catalog items copied between departments, made weeks ago through the real
        # actions; after the history so its random draws stay as they were.
        reuse.seed()
        self._print_accounts(accounts)

    def _print_accounts(self, accounts: list[SeededAccount]) -> None:
        new = [account for account in accounts if account.password]
        if not new:
            self.stdout.write(
                "Demo enterprise already loaded; accounts keep their passwords "
                "(seed_demo --password NEW sets them all)."
            )
            return
        if any(account.generated for account in new):
            heading = "Demo accounts (generated passwords, shown only this once):"
        else:
            heading = "Demo accounts (with the password you gave):"
        self.stdout.write(self.style.SUCCESS(heading))
        for account in new:
            self.stdout.write(f"  {account.username:<8} {account.password:<16} {account.describes}")
