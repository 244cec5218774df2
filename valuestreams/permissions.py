"""Who may read and shape value streams; pages, the API and exports all ask `can()`.

Streams are read by the people who run or improve work across departments: staff of any
department, managers, executives and the stream owners. A draft is shown only to who may
edit it. The cases behind a number are a separate question, answered per case by
`ServiceRequest.objects.visible_to` (a confidential case never shows its text elsewhere).
"""

from esm.permissions import owned_work_rules
from valuestreams.models import ValueStream

owned_work_rules(app="valuestreams", model=ValueStream, things="streams", thing="stream")
