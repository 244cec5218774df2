import datetime as dt

import factory
from django.contrib.auth import get_user_model

from esm.models import (
    BusinessCalendar,
    Department,
    DepartmentRole,
    Holiday,
    Location,
    Profile,
    WorkingPeriod,
)

TEST_PASSWORD = "correct-horse-battery"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site-{n}")


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """Mon-Fri 09:00-17:00 in the given time zone, no holidays unless added."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "Europe/London"

    @factory.post_generation
    def office_hours(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted is not False:
            WorkingPeriod.objects.bulk_create(
                WorkingPeriod(calendar=self, weekday=day, starts_at=dt.time(9), ends_at=dt.time(17))
                for day in range(5)
            )


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    date = dt.date(2026, 12, 25)
    name = "Christmas Day"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Department {n}")
    slug = factory.Sequence(lambda n: f"department-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(TEST_PASSWORD)


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile
        django_get_or_create = ["user"]

    user = factory.SubFactory(UserFactory)
    job_title = "Analyst"


class DepartmentRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepartmentRole

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = DepartmentRole.Role.AGENT


class WorkingPeriodFactory(factory.django.DjangoModelFactory):
    """Monday 09:00-17:00 unless told otherwise."""

    class Meta:
        model = WorkingPeriod

    calendar = factory.SubFactory(BusinessCalendarFactory, office_hours=False)
    weekday = WorkingPeriod.Weekday.MONDAY
    starts_at = dt.time(9)
    ends_at = dt.time(17)
