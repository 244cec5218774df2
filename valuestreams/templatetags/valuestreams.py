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


@register.inclusion_tag("valuestreams/_trend.html")
def trend(now: float | None, before: float | None, better: str = "higher") -> dict:
    """An arrow beside a figure: how it moved against the previous period, and whether
    that is good news ("lower" is better for times, "higher" for rates)."""
    if not all(isinstance(value, int | float) for value in (now, before)) or now == before:
        return {"arrow": ""}
    up = now > before
    good = up == (better == "higher")
    return {
        "arrow": "↑" if up else "↓",
        "verdict": "better" if good else "worse",
        "before": before,
        "better": better,
    }


@register.filter
def div60(minutes: int | None) -> float | None:
    """Minutes as hours, for `duration`."""
    return None if minutes is None else minutes / 60


CONFORMANCE_WORDS = {"skipped": "skipped a stage", "repeated": "repeated", "reordered": "reordered"}


@register.filter
def conformance(value: str) -> str:
    """'skipped+repeated' in words: 'skipped a stage, repeated'."""
    return ", ".join(CONFORMANCE_WORDS.get(part, part) for part in value.split("+"))
