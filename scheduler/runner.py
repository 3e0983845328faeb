"""SweepRunner: APScheduler 3.11 AsyncIOScheduler driving the sweeps, in the server or in `qihu scheduler`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.services.scheduling import SweepContext
from scheduler.jobs import run_one, run_pass

log = logging.getLogger(__name__)


class SweepRunner:
    """One interval job runs every common sweep in turn; sweeps with their own interval get their own job.

    Nothing is kept in APScheduler's memory that matters: each pass reads what is due from the
    database and claims it there, so a restart or a second runner elsewhere skips and repeats nothing.
    `max_instances=1` and `coalesce=True` keep a slow pass from piling up runs behind it; the first
    pass starts at once, so work that fell due while the process was down goes out on start-up.
    """

    def __init__(self, ctx: SweepContext) -> None:
        self.ctx = ctx
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    def jobs(self) -> list[tuple[str, int]]:
        """(job id, interval seconds) this runner schedules."""
        every = self.ctx.schedule.interval_seconds
        out = [("sweeps", every)]
        out += [(f"sweep:{s.name}", s.every_seconds) for s in self.ctx.registry.own_interval()]
        return out

    def start(self) -> None:
        now = datetime.now(UTC)
        common = dict(max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=now)
        self.scheduler.add_job(run_pass, IntervalTrigger(seconds=self.ctx.schedule.interval_seconds),
                               args=[self.ctx], id="sweeps", **common)
        for item in self.ctx.registry.own_interval():
            self.scheduler.add_job(run_one, IntervalTrigger(seconds=item.every_seconds), args=[self.ctx, item],
                                   id=f"sweep:{item.name}", **common)
        self.scheduler.start()
        log.info("scheduler started: %s", self.jobs())

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
