"""Who may read and shape journey maps; pages, the API and exports all ask `can()`.

Journeys are read by the people who improve the employee experience: staff of any
department, managers, executives and the maps' owners. A draft is shown only to who may
shape it. The requests behind a signal are a separate question, answered per case by
`ServiceRequest.objects.visible_to` (a confidential case counts, but its text never shows).
"""

from esm.permissions import owned_work_rules
from journeys.models import JourneyMap

owned_work_rules(app="journeys", model=JourneyMap, things="journeys", thing="journey")
