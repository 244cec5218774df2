"""Business-time arithmetic for millions of clocks: `esm.calendars.Schedule`'s `add` and
`between`, on whole seconds since the epoch, answered by bisection over the calendar's
working intervals laid out once for the whole period."""

from __future__ import annotations

import bisect
import datetime as dt

from esm.calendars import Schedule


class BusinessTime:
    """The working intervals of one schedule from `first` to `last` (days), with the
    business seconds worked before each; `add` and `between` agree with the schedule's
    own within that span (tested)."""

    def __init__(self, schedule: Schedule, first: dt.date, last: dt.date) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # business seconds worked before each interval
        worked = 0
        day = first
        while day <= last:
            for start, end in schedule.periods_on(day):
                begin, finish = int(start.timestamp()), int(end.timestamp())
                self.starts.append(begin)
                self.ends.append(finish)
                self.before.append(worked)
                worked += finish - begin
            day += dt.timedelta(days=1)

    def position(self, moment: int) -> int:
        """Business seconds worked from the start of the span to `moment`."""
        index = bisect.bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0
        return self.before[index] + min(
            moment - self.starts[index], self.ends[index] - self.starts[index]
        )

    def add(self, start: int, seconds: int) -> int:
        """The moment `seconds` (> 0) of working time after `start`."""
        target = self.position(start) + seconds
        # bisect_left: a target that ends exactly at an interval's end stays in it, as
        # `Schedule.add` returns the period's end rather than the next one's start.
        index = bisect.bisect_left(self.before, target) - 1
        return self.starts[index] + target - self.before[index]

    def between(self, start: int, end: int) -> int:
        return max(0, self.position(end) - self.position(start))
