"""Who may read and shape journey maps; pages, the API and exports all ask `can()`.

Journeys are read by the people who improve the employee experience: staff of any
department, managers, executives and the maps' owners. A draft is shown only to who may
shape it. The requests behind a signal are a separate question, answered per case by
`ServiceRequest.objects.visible_to` (a confidential case counts, but its text never shows).
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
from journeys.models import JourneyMap


@rules.predicate
def owns_a_journey(user: Any) -> bool:
    return user.is_authenticated and JourneyMap.objects.filter(owner=user).exists()


@rules.predicate
def is_journey_owner(user: Any, journey: JourneyMap | None) -> bool:
    return journey is not None and user.is_authenticated and journey.owner_id == user.pk


@rules.predicate
def is_draft(user: Any, journey: JourneyMap | None) -> bool:
    return journey is not None and journey.status == JourneyMap.Status.DRAFT


browses_journeys = is_active_person & (is_agent | is_department_manager | is_executive | is_admin)
reads_journeys = browses_journeys | (is_active_person & owns_a_journey)
shapes_journey = is_active_person & (is_journey_owner | is_admin)

rules.add_rule("journeys.browse_journeys", browses_journeys)
rules.add_rule("journeys.view_journeys", reads_journeys)
rules.add_rule("journeys.add_journey", is_active_person & (is_admin | is_department_manager))
rules.add_rule("journeys.change_journey", shapes_journey)
rules.add_rule("journeys.view_journey", (reads_journeys & ~is_draft) | shapes_journey)
