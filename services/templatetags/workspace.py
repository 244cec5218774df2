import datetime as dt

from django import template

register = template.Library()


@register.filter
def business_time(duration: dt.timedelta | None) -> str:
    """A span of business time in working words: '2 h 15 min', '3 d 4 h' (8-hour days)."""
    if duration is None:
        return ""
    minutes = abs(int(duration.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if hours >= 8:
        days, hours = divmod(hours, 8)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
