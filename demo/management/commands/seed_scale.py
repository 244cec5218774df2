import datetime as dt
import random
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from demo.scale import enterprise, load
from demo.scale.cases import Cases
from demo.scale.side_by_side import Part, side_by_side
from esm import clock
from esm.models import Department, DepartmentRole, Event, Profile
from journeys.models import JourneyMap, TouchpointCase, TouchpointDay
from journeys.rollups import journey_refresh
from journeys.suggestions import journey_suggest
from reporting.crossings import crossings_refresh
from reporting.models import Crossing, ServiceDay, ServiceDayDepartment, SharingFigures, Snapshot
from reporting.rollups import snapshots_backfill
from reporting.service_days import service_days_backfill
from reporting.sharing import sharing_refresh
from services.actions import catalog_items_count_recent
from services.models import (
    Approval,
    AutomationRun,
    Comment,
    Consult,
    ExperienceRating,
    FulfilmentTask,
    ServiceRequest,
    StepRun,
)
from valuestreams.models import CaseFlow, CaseHandoff, CaseStage
from valuestreams.rollups import value_streams_refresh

# Two years of requests, ending now.
HISTORY_DAYS = 730
# Weekly snapshots of every measure, as the demo takes them.
SNAPSHOT_WEEKS = 10
ROLLUP_MODELS = (
    CaseFlow,
    CaseStage,
    CaseHandoff,
    TouchpointCase,
    TouchpointDay,
    Snapshot,
    ServiceDay,
    ServiceDayDepartment,
    Crossing,
    SharingFigures,
)
# The rollups, in the order their parts are taken by ROLLUP_PROCESSES processes at once: a
# process done with a part takes the first one left that may start. The value streams come
# first: the journeys' and reporting's rollups read theirs (`CaseStage`, `CaseFlow`) and
# wait for them (`AFTER`); the other process starts the portfolio meanwhile. Then the
# longest first (at a million requests on one machine, beside one another: the larger
# journey's full refresh about 500 s, the portfolio 270 to 360, reporting's 11 days 125 to
# 145, the value streams 60 to 100, the collaboration map 15 to 35), so that the processes
# finish close together.
ROLLUPS = (
    "valuestreams",
    "portfolio",
    "journeys",
    "reporting",
    "collaboration",
    "knowledge-sharing",
)
AFTER = {"journeys": "valuestreams", "reporting": "valuestreams"}
"""A rollup -> the rollup whose rows it reads: none of its parts starts until every part of
that one is done, and none runs if that one failed."""
ROLLUP_PROCESSES = 2
"""A core each on 2 cores."""
# A rollup's parts: one for most, one per journey for the journeys (a journey's cases are
# refreshed apart from another's).
Refreshes = dict[str, list[Callable[[], Any]]]
# From this many requests on, these rollups take many minutes: the command says so first.
SLOW_ROLLUPS_FROM = 200_000
SLOW_ROLLUPS = {
    "journeys": "a full refresh reads every case of every touchpoint, about 10 minutes of work "
    "a million requests",
    "reporting": "each snapshot day computes every measure for every scope (the enterprise, "
    "each department, service and value stream) over its 28 days, about 15 seconds a day at "
    "a million requests",
}


class Command(BaseCommand):
    help = (
        "Fill an empty, migrated PostgreSQL database with a large enterprise (12 departments, "
        "--people people) and --requests requests over two years ending now, written with COPY, "
        "then refresh every rollup. Deterministic for a --seed (and a fixed --now). Refuses "
        "SQLite, and refuses a database that already holds departments or requests."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, required=True, help="How many requests.")
        parser.add_argument("--people", type=int, default=50_000, help="How many people.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random draws.")
        parser.add_argument(
            "--now",
            type=dt.datetime.fromisoformat,
            help="The moment the history ends (ISO, with its offset); default: now.",
        )
        parser.add_argument(
            "--snapshot-weeks",
            type=int,
            default=SNAPSHOT_WEEKS,
            help=f"Weekly report snapshots to take back from now (default {SNAPSHOT_WEEKS}).",
        )
        parser.add_argument(
            "--skip-rollup",
            action="append",
            choices=ROLLUPS,
            default=[],
            help="Leave this rollup unrefreshed (repeatable); its pages read empty until the "
            "next scheduled refresh.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"seed_scale writes with PostgreSQL's COPY; this database is {connection.vendor}. "
                "Set DATABASE_URL to an empty, migrated PostgreSQL database."
            )
        requests = ServiceRequest.objects.count()
        departments = Department.objects.count()
        if requests or departments:
            raise CommandError(
                f"This database already holds data ({departments} departments, {requests} "
                "requests); seed_scale refuses to mix with it and changes nothing. Create a "
                "fresh database (createdb, then migrate) and seed that."
            )
        now = options["now"] or clock.now()
        if now.tzinfo is None:
            raise CommandError("--now needs a time zone offset, e.g. 2026-11-30T12:00:00+00:00.")
        self.rng = random.Random(options["seed"])  # noqa: S311 -- demo data, not secrets
        self.timings: list[tuple[str, float]] = []
        started = time.monotonic()
        with clock.travel(now):
            self._seed(options, now)
        self.timings.append(("total", time.monotonic() - started))
        self._report()

    def _seed(self, options: dict[str, Any], now: dt.datetime) -> None:
        with self._phase("catalog (demo enterprise, catalog, plans, streams, journeys)"):
            # Ids start at 1 in every table, so a seed gives the same rows on any fresh
            # database (a sequence keeps counting after a rollback or a flush otherwise).
            load.sequences_restart([model._meta.db_table for model in apps.get_models()])
            with transaction.atomic():
                enterprise.seed_catalog()
        with self._phase(f"people ({options['people']:,})"), transaction.atomic():
            people = enterprise.seed_people(count=options["people"], rng=self.rng, now=now)
        cases = Cases(people=people, rng=self.rng, now=now, days=HISTORY_DAYS)
        tables = [table.name for table in cases.tables()]
        indexes = load.secondary_indexes(tables)
        keys = load.foreign_keys(tables)
        with self._phase(f"requests ({options['requests']:,}, COPY)"), transaction.atomic():
            load.foreign_keys_drop(keys)
            load.indexes_drop(indexes)
            cases.generate(options["requests"], progress=self._progress)
        with self._phase(f"indexes ({len(indexes)}) and foreign keys ({len(keys)}) made again"):
            load.indexes_create(indexes)
            with transaction.atomic():
                load.foreign_keys_create(keys)
        with self._phase("sequences, VACUUM and ANALYZE"):
            everything = [
                *tables,
                "auth_user",
                Profile._meta.db_table,
                DepartmentRole._meta.db_table,
            ]
            load.sequences_reset(everything)
            load.vacuum_analyze(everything)
        with self._phase("popular catalog items counted"):
            catalog_items_count_recent()
        journeys = JourneyMap.objects.exclude(status=JourneyMap.Status.RETIRED)
        refreshes: Refreshes = {
            "valuestreams": [lambda: value_streams_refresh(full=True)],
            "journeys": [partial(_journey_rollups, journey) for journey in journeys.order_by("pk")],
            # The portfolio's daily rollup, every day of the history: a batch of days at a
            # time, each a fixed number of queries.
            "portfolio": [service_days_backfill],
            "reporting": [lambda: snapshots_backfill(weeks=options["snapshot_weeks"])],
            # The collaboration map's crossings: a month of the log at a time.
            "collaboration": [lambda: crossings_refresh(full=True)],
            # The department managers' knowledge sharing: its last 90 days, up to now.
            "knowledge-sharing": [sharing_refresh],
        }
        for name in refreshes:
            if name in options["skip_rollup"]:
                self.stdout.write(f"{name} rollups skipped (--skip-rollup {name}).")
            elif options["requests"] >= SLOW_ROLLUPS_FROM and name in SLOW_ROLLUPS:
                self.stdout.write(
                    self.style.WARNING(
                        f"{name} rollups: {SLOW_ROLLUPS[name]} (docs/performance.md); "
                        f"--skip-rollup {name} leaves them to the scheduled refresh."
                    )
                )
        wanted = [name for name in ROLLUPS if name not in options["skip_rollup"]]
        self._side_by_side([(name, part) for name in wanted for part in refreshes[name]], now)
        with self._phase("rollups' VACUUM and ANALYZE, and every table not analyzed yet"):
            # The rollups were written after the tables they read were analyzed. A server
            # without autovacuum would never analyze the rest.
            rollups = [model._meta.db_table for model in ROLLUP_MODELS]
            load.vacuum_analyze(
                [*rollups, *(table for table in load.never_analyzed() if table not in rollups)]
            )

    def _side_by_side(self, parts: list[Part], now: dt.datetime) -> None:
        """The rollups' `parts` in ROLLUP_PROCESSES processes at once, in order but for
        `AFTER`; the command fails once all have run if any failed. Reports each rollup's
        time (its parts' added up), then the processes' together."""
        if not parts:
            return
        names = list(dict.fromkeys(name for name, _ in parts))
        self.stdout.write(
            f"rollups side by side ({ROLLUP_PROCESSES} at once): {', '.join(names)} ..."
        )
        self.stdout.flush()
        started = time.monotonic()
        outcome = side_by_side(
            parts, after=AFTER, processes=ROLLUP_PROCESSES, context=partial(clock.travel, now)
        )
        for name in names:
            if name in outcome.failures:
                self.stdout.write(f"  {name} failed")
                continue
            self.timings.append((f"rollups: {name}", outcome.took[name]))
            self.stdout.write(f"  {name} {outcome.took[name]:.1f} s")
        together = time.monotonic() - started
        self.timings.append(("rollups side by side, together", together))
        self.stdout.write(f"  {together:.1f} s together (peak memory so far {_peak_mb():.0f} MB)")
        if outcome.failures:
            raise CommandError(
                "A rollup failed: "
                + "\n".join(f"{name}: {why}" for name, why in outcome.failures.items())
            )

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        self.stdout.write(f"{name} ...")
        self.stdout.flush()
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        self.timings.append((name, took))
        self.stdout.write(f"  {took:.1f} s (peak memory so far {_peak_mb():.0f} MB)")

    def _progress(self, done: int) -> None:
        self.stdout.write(f"  {done:,} requests")
        self.stdout.flush()

    def _report(self) -> None:
        self.stdout.write(self.style.SUCCESS("Rows:"))
        models = [
            Department,
            Profile,
            DepartmentRole,
            ServiceRequest,
            Approval,
            AutomationRun,
            StepRun,
            FulfilmentTask,
            Consult,
            Comment,
            ExperienceRating,
            Event,
        ]
        for model in models:
            table = model._meta.db_table
            self.stdout.write(f"  {table:<32} {load.row_count(table):>12,}")
        self.stdout.write(self.style.SUCCESS("Times:"))
        for name, took in self.timings:
            self.stdout.write(f"  {name:<62} {took:>8.1f} s")
        self.stdout.write(f"Peak memory of this process: {_peak_mb():.0f} MB")
        self.stdout.write(f"Database size: {load.database_size()}")


def _journey_rollups(journey: JourneyMap) -> None:
    journey_refresh(journey=journey, full=True)
    if journey.status == JourneyMap.Status.LIVE:
        journey_suggest(journey)


def _peak_mb() -> float:
    """The most memory this process, or the largest of the rollups' processes, held."""
    return (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
