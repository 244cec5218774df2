from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from esm import clock
from valuestreams.metrics import Period

DEFAULT_DAYS = 28
MAX_DAYS = 366
PRESETS = ((7, "Last week"), (28, "Last 4 weeks"), (56, "Last 8 weeks"), (91, "Last 13 weeks"))


class PeriodForm(forms.Form):
    """The period a page measures: whole days in the portal's time zone, both ends included."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        today = local_today()
        end = end or today
        start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", "Start on or before the end date.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"Choose a period of at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> Period:
        """The chosen period, or the last four weeks when the form is empty or invalid."""
        if self.is_valid():
            start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        else:
            end = local_today()
            start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
        return day_period(start, end)


def day_period(start: dt.date, end: dt.date) -> Period:
    zone = timezone.get_current_timezone()
    return Period(
        dt.datetime.combine(start, dt.time(), tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    )


def presets(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    return [(label, today - dt.timedelta(days=days - 1), today) for days, label in PRESETS]


def local_today() -> dt.date:
    return timezone.localtime(clock.now()).date()
