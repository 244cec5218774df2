from django import template

from valuestreams import formatting

register = template.Library()


@register.filter
def duration(hours: float | None, unit: str = "") -> str:
    """`{{ stage.process|duration }}`, or `{{ handoff.delay.mean|duration:"business" }}`
    for business hours. Empty when unknown, so `|default:"not measured"` can follow."""
    return formatting.duration(hours, business=unit == "business")


@register.filter
def percent(share: float | None) -> str:
    """`{{ stream.flow_efficiency|percent }}`: a 0-1 share as '42%'."""
    return formatting.percent(share)
