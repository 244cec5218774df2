"""Who reads and who shapes value streams."""

import pytest

from esm.permissions import can
from tests.esm.factories import UserFactory
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db


def test_staff_managers_and_executives_read_live_streams(
    it_agent, department_manager, executive, employee, outsider
):
    stream = ValueStreamFactory()
    for reader in (it_agent, department_manager, executive):
        assert can(reader, "valuestreams.view_streams")
        assert can(reader, "valuestreams.view_stream", stream)
    for other in (employee, outsider):
        assert not can(other, "valuestreams.view_streams")
        assert not can(other, "valuestreams.view_stream", stream)


def test_an_owner_outside_any_department_role_reads_and_shapes_their_stream(it_agent):
    owner = UserFactory()
    stream = ValueStreamFactory(owner=owner)
    assert can(owner, "valuestreams.view_streams")
    assert can(owner, "valuestreams.change_stream", stream)
    # The navigation decides without a query, so the entry is for people with roles.
    assert not can(owner, "valuestreams.browse_streams")
    assert can(it_agent, "valuestreams.browse_streams")
    assert not can(it_agent, "valuestreams.change_stream", stream)


def test_a_draft_is_shown_only_to_who_may_shape_it(it_agent, executive):
    owner = UserFactory()
    draft = ValueStreamFactory(owner=owner, status=ValueStream.Status.DRAFT)
    assert can(owner, "valuestreams.view_stream", draft)
    assert not can(it_agent, "valuestreams.view_stream", draft)
    assert not can(executive, "valuestreams.view_stream", draft)


def test_admins_shape_any_stream_and_managers_may_start_one(department_manager, it_agent):
    admin = UserFactory(is_staff=True)
    stream = ValueStreamFactory()
    assert can(admin, "valuestreams.change_stream", stream)
    assert can(department_manager, "valuestreams.add_stream")
    assert not can(it_agent, "valuestreams.add_stream")
