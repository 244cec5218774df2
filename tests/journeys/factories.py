import factory

from journeys.models import JourneyMap, JourneyStage, Touchpoint
from tests.esm.factories import UserFactory


class JourneyMapFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JourneyMap

    name = factory.Sequence(lambda n: f"Journey {n}")
    slug = factory.Sequence(lambda n: f"journey-{n}")
    persona = JourneyMap.Persona.NEW_HIRE
    goal = "Productive in my first week"
    owner = factory.SubFactory(UserFactory)
    status = JourneyMap.Status.LIVE


class JourneyStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JourneyStage

    journey = factory.SubFactory(JourneyMapFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    stage = factory.SubFactory(JourneyStageFactory)
    name = factory.Sequence(lambda n: f"Touchpoint {n}")
