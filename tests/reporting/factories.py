import datetime as dt

import factory

from reporting.models import Audience, Measure, Objective, Report, ReportMeasure, Snapshot
from tests.esm.factories import UserFactory


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    level = Objective.Level.OBJECTIVE
    title = factory.Sequence(lambda n: f"Objective {n}")


class AudienceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Audience

    name = factory.Sequence(lambda n: f"Audience {n}")
    slug = factory.Sequence(lambda n: f"audience-{n}")
    members = Audience.Members.EXECUTIVES
    wants_to_know = "Whether the services deliver."
    why = "They fund them."
    acts_by = "Moving budget."
    cadence = "monthly"


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure
        django_get_or_create = ["key"]

    key = "end_to_end_attainment"
    name = factory.Sequence(lambda n: f"Measure {n}")
    definition = "Of the requests resolved, the share within their end-to-end target."
    kind = Measure.Kind.OUTCOME
    unit = "%"
    target = 0.9
    direction = Measure.Direction.HIGHER
    decision = "Whether a service needs more people"
    decision_maker = "Department manager"
    data_source = "The event log"
    objective = factory.SubFactory(ObjectiveFactory)


class ReportFactory(factory.django.DjangoModelFactory):
    """A report; `measures=[...]` puts them on it in that order."""

    class Meta:
        model = Report
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Report {n}")
    slug = factory.Sequence(lambda n: f"report-{n}")
    audience = factory.SubFactory(AudienceFactory)
    owner = factory.SubFactory(UserFactory)
    narrative = "What the audience decides with it."
    cadence = "weekly"
    created_at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)  # long enough to be judged

    @factory.post_generation
    def measures(self, create, extracted, **kwargs):
        for position, measure in enumerate(extracted or ()):
            ReportMeasure.objects.create(report=self, measure=measure, position=position)


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Snapshot

    measure = factory.SubFactory(MeasureFactory)
    day = dt.date(2026, 11, 2)
    scope = "all"
    value = 0.5
    cases = 20
