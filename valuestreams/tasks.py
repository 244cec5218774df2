"""Celery entry points of value streams: thin, idempotent, taking ids."""

from celery import shared_task

from valuestreams import rollups
from valuestreams.models import ValueStream


@shared_task(acks_late=True)
def value_streams_refresh_task(full: bool = False) -> int:
    """Refresh every stream's case rows: incrementally every few minutes from beat, whole
    every night (a model edited since, or an event later than the lag window)."""
    return rollups.value_streams_refresh(full=full)


@shared_task(acks_late=True)
def value_stream_refresh_task(stream_id: int, full: bool = True) -> int:
    """Refresh one stream on demand (its owner asked, or its stages changed)."""
    stream = ValueStream.objects.filter(pk=stream_id).first()
    if stream is None:
        return 0
    return rollups.value_stream_refresh(stream=stream, full=full)
