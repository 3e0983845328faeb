"""SchedulePolicy: the [scheduler] settings the sweeps obey (quiet hours, digest time, reminder clocks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class SchedulePolicy:
    """[scheduler] settings: when reminders may go out and the clocks that are not handling limits."""

    interval_seconds: int = 60
    batch_size: int = 200
    quiet_start: time = time(20, 0)  # no reminders from here ...
    quiet_end: time = time(8, 0)  # ... until here (local time); equal times mean no quiet hours
    hold_on_non_workdays: bool = True  # staff reminders wait for the next working day
    digest_time: time = time(8, 30)
    leader_digest: bool = True
    handler_digest: bool = True
    dispatcher_digest: bool = True
    near_due_workdays: int = 1
    overdue_leader_workdays: int = 2
    rating_reminder_days: int = 1  # calendar days after resolution
    rating_window_days: int = 7  # calendar days; then the appeal closes as 未评价
