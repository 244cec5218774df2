"""Celery entry points of journeys: thin, idempotent, taking ids."""

from celery import shared_task

from journeys import rollups, suggestions
from journeys.models import JourneyMap


@shared_task(acks_late=True)
def journeys_refresh_task(full: bool = False) -> int:
    """Refresh every journey's touchpoint rows: incrementally every few minutes from beat,
    whole every night (touchpoints relinked since, or an event later than the lag window);
    then suggest what the fresh signals point at (idempotent: one open finding a kind)."""
    refreshed = rollups.journeys_refresh(full=full)
    suggestions.journeys_suggest()
    return refreshed


@shared_task(acks_late=True)
def journey_refresh_task(journey_id: int, full: bool = True) -> int:
    """Refresh one journey on demand (its owner asked, or its touchpoints' links changed)."""
    journey = JourneyMap.objects.filter(pk=journey_id).first()
    if journey is None:
        return 0
    return rollups.journey_refresh(journey=journey, full=full)
