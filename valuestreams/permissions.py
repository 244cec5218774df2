"""Who may read and shape value streams; pages, the API and exports all ask `can()`.

Streams are read by the people who run or improve work across departments: staff of any
department, managers, executives and the stream owners. A draft is shown only to who may
edit it. The cases behind a number are a separate question, answered per case by
`ServiceRequest.objects.visible_to` (a confidential case never shows its text elsewhere).
"""

from typing import Any

import rules

from esm.permissions import (
    is_active_person,
    is_admin,
    is_agent,
    is_department_manager,
    is_executive,
)
from valuestreams.models import ValueStream


@rules.predicate
def owns_a_stream(user: Any) -> bool:
    return user.is_authenticated and ValueStream.objects.filter(owner=user).exists()


@rules.predicate
def is_stream_owner(user: Any, stream: ValueStream | None) -> bool:
    return stream is not None and user.is_authenticated and stream.owner_id == user.pk


@rules.predicate
def is_draft(user: Any, stream: ValueStream | None) -> bool:
    return stream is not None and stream.status == ValueStream.Status.DRAFT


# Who works or leads across departments, decided from roles already loaded (no query):
# the navigation asks it on every page. Owners outside those roles read their streams too.
browses_streams = is_active_person & (is_agent | is_department_manager | is_executive | is_admin)
reads_streams = browses_streams | (is_active_person & owns_a_stream)
shapes_stream = is_active_person & (is_stream_owner | is_admin)

rules.add_rule("valuestreams.browse_streams", browses_streams)
rules.add_rule("valuestreams.view_streams", reads_streams)
rules.add_rule("valuestreams.add_stream", is_active_person & (is_admin | is_department_manager))
rules.add_rule("valuestreams.change_stream", shapes_stream)
rules.add_rule("valuestreams.view_stream", (reads_streams & ~is_draft) | shapes_stream)
