"""Personas shared by every test (who is asking shapes almost every answer), and a cache of
a test's own."""

import uuid

import pytest

from esm.models import DepartmentRole
from tests.esm.factories import (
    DepartmentFactory,
    DepartmentRoleFactory,
    ProfileFactory,
    UserFactory,
)

AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER


@pytest.fixture
def it_department(db):
    return DepartmentFactory(name="IT", slug="it")


@pytest.fixture
def hr_department(db):
    return DepartmentFactory(name="HR", slug="hr")


@pytest.fixture
def facilities_department(db):
    return DepartmentFactory(name="Facilities", slug="facilities")


@pytest.fixture
def sales_department(db):
    return DepartmentFactory(name="Sales", slug="sales")


def _person(username, *, department, manager=None, roles=(), is_executive=False):
    # Fixed names, unlike the factory's random ones: a search for one person's name must
    # never match another persona by chance.
    first, _, rest = username.partition("_")
    user = UserFactory(
        username=username, first_name=first.title(), last_name=f"{(rest or first).title()}-Persona"
    )
    ProfileFactory(user=user, department=department, manager=manager, is_executive=is_executive)
    for role_department, role in roles:
        DepartmentRoleFactory(user=user, department=role_department, role=role)
    return user


@pytest.fixture
def manager(sales_department):
    """The employee's line manager (no department role in service work)."""
    return _person("manager", department=sales_department)


@pytest.fixture
def employee(sales_department, manager):
    return _person("employee", department=sales_department, manager=manager)


@pytest.fixture
def it_agent(it_department):
    return _person("it_agent", department=it_department, roles=[(it_department, AGENT)])


@pytest.fixture
def hr_agent(hr_department):
    return _person("hr_agent", department=hr_department, roles=[(hr_department, AGENT)])


@pytest.fixture
def facilities_agent(facilities_department):
    return _person(
        "facilities_agent",
        department=facilities_department,
        roles=[(facilities_department, AGENT)],
    )


@pytest.fixture
def department_manager(it_department):
    """The IT department's manager."""
    return _person("it_manager", department=it_department, roles=[(it_department, MANAGER)])


@pytest.fixture
def executive(sales_department):
    return _person("executive", department=sales_department, is_executive=True)


@pytest.fixture
def outsider(db):
    """Signed in, but in no department and with no role: must see nothing of anyone's."""
    return UserFactory(username="outsider")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def test_actions(monkeypatch):
    """Register the stand-in automated actions for this test only (monkeypatch takes them
    out of the global registry again), with an empty call log."""
    from services.automation import registry
    from tests.services.automation_doubles import CALLS, TEST_ACTIONS

    for key, action in TEST_ACTIONS.items():
        monkeypatch.setitem(registry._ACTIONS, key, action)
    CALLS.clear()
    return CALLS


@pytest.fixture
def own_cache(settings):
    """A cache of this test's own (in memory): what the test keeps in it stays until it
    reads it again. Tests in other processes share Redis, and one that clears it would
    drop what this test kept."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
