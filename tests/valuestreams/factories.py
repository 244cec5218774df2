import factory

from tests.esm.factories import DepartmentFactory, UserFactory
from valuestreams.models import HandoffTarget, Stage, ValueStream


class ValueStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueStream

    name = factory.Sequence(lambda n: f"Stream {n}")
    slug = factory.Sequence(lambda n: f"stream-{n}")
    outcome = "A new hire productive on day one"
    customer = "New hires"
    owner = factory.SubFactory(UserFactory)
    status = ValueStream.Status.LIVE


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    stream = factory.SubFactory(ValueStreamFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    department = factory.SubFactory(DepartmentFactory)


class HandoffTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HandoffTarget

    from_stage = factory.SubFactory(StageFactory)
    to_stage = factory.SubFactory(
        StageFactory, stream=factory.SelfAttribute("..from_stage.stream"), parallel_group=2
    )
    stream = factory.SelfAttribute("from_stage.stream")
    pickup_minutes = 240
