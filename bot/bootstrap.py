"""build_app: the one place where real parts are chosen and wired; nothing connects before it."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import partial
from pathlib import Path

from bot.channels.ports import Channel
from bot.channels.registry import build_channels
from bot.channels.webchat_channel import demo_staff_key
from bot.channels.webhook_channel import WebhookSender
from bot.config import Settings
from bot.delivery_process import DeliveryProcess
from bot.domain.calendar import WorkCalendar
from bot.messages import MAILBOX_CHANNELS, InboundMessage, Vouched
from bot.pipeline import Pipeline
from bot.services.binding import vouch
from bot.services.delivery import ChannelSender, OutboxSender, RetryPolicy
from bot.services.directory import sync_org
from bot.services.links import ReportLinks
from bot.services.policy import EvaluationPolicy, ImprovementPolicy, Policy, ReportPolicy, RoutingRule, TimeLimits
from bot.services.ports import Clock, OrgUnit, Staff, SystemClock
from bot.services.ratelimit import SenderRateLimit
from bot.services.runtime import Runtime
from bot.services.schedule_policy import SchedulePolicy
from bot.services.scheduling import SweepContext
from bot.services.sweeps import build as build_sweeps
from bot.services.webhooks import CHANNEL as WEBHOOK
from bot.services.webhooks import subscription
from bot.spool import Spool
from bot.staff_reach import directory_channel, link_configured
from bot.staff_reach import run_forever as run_lookups
from handlers.notices import ChatNotices
from handlers.router import Router
from handlers.router import build as build_commands
from nlp.rules import DEFAULT_RULES, KeywordRules, RuleTagger
from scheduler.runner import SweepRunner
from storage.database import Database
from storage.engine import database_unreachable

log = logging.getLogger(__name__)


def policy_from(settings: Settings) -> Policy:
    a = settings.appeals
    return Policy(
        number_prefix=a.number_prefix, timezone=a.timezone, text_min_chars=a.text_min_chars,
        text_max_chars=a.text_max_chars, dialogue_timeout_minutes=a.dialogue_timeout_minutes,
        service_phone=a.service_phone.strip(),
        time_limits=TimeLimits(**settings.time_limits.model_dump()),
        routing=tuple(RoutingRule(r.category, r.lead, r.area, r.level, tuple(r.co)) for r in settings.routing),
        auto_dispatch_categories=frozenset(settings.dispatch.auto_categories),
        evaluation=evaluation_policy(settings),
        schedule=schedule_from(settings),
        improvement=ImprovementPolicy(tuple(settings.improvement.reviewers), settings.improvement.min_votes,
                                      settings.improvement.followup_workdays),
        reports=ReportPolicy(settings.reports.auto_monthly, settings.reports.auto_quarterly,
                             _hhmm(settings.reports.deliver_at), tuple(settings.reports.recipients),
                             settings.reports.catch_up_workdays),
    )


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def schedule_from(settings: Settings) -> SchedulePolicy:
    s = settings.scheduler
    return SchedulePolicy(
        interval_seconds=s.interval_seconds, batch_size=s.batch_size, quiet_start=_hhmm(s.quiet_start),
        quiet_end=_hhmm(s.quiet_end), hold_on_non_workdays=s.hold_on_non_workdays,
        digest_time=_hhmm(s.digest_time), leader_digest=s.leader_digest, handler_digest=s.handler_digest,
        dispatcher_digest=s.dispatcher_digest, near_due_workdays=s.near_due_workdays,
        overdue_leader_workdays=s.overdue_leader_workdays, rating_reminder_days=s.rating_reminder_days,
        rating_window_days=settings.evaluation.rating_window_days,
    )


def evaluation_policy(settings: Settings) -> EvaluationPolicy:
    e = settings.evaluation
    fields = e.model_dump(exclude={"index_weights"})
    return EvaluationPolicy(**fields, index_weights=tuple(e.index_weights.model_dump().items()))


@dataclass
class App:
    settings: Settings
    database: Database  # storage's handle: units of work, migrations, close
    runtime: Runtime
    pipeline: Pipeline
    outbox: OutboxSender
    spool: Spool  # turns kept while the database cannot be reached
    background: list[asyncio.Task] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)  # configured chat channels (bot.channels.registry)
    sweeps: SweepContext | None = None  # scheduled work (issue 5); the runner is started by start_scheduler
    scheduler: SweepRunner | None = None  # once started
    delivery_process: DeliveryProcess | None = None  # with [delivery] worker = "process"
    webhooks: WebhookSender | None = None  # with [api] enabled: signed deliveries to other systems

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    async def prepare_database(self) -> None:
        """Migrate to head and load the configured org units and staff."""
        await self.database.upgrade()
        units = [OrgUnit(u.id, u.name, u.kind, tuple(u.aliases)) for u in self.settings.units]
        staff = [Staff(s.id, s.name, s.unit, s.role, s.mobile) for s in self.settings.staff]
        async with self.runtime.uow() as uow:
            await sync_org(uow, units, staff)
            await uow.commit()
        await link_configured(self)  # dingtalk_userid: reached from the first notice on

    async def link_demo_staff(self) -> None:
        """In demo mode every demo staff member has a web chat page identity from the start, so a task
        assigned before they first open the page is waiting there for them (issue 15: told at once)."""
        web = self.settings.webchat
        if not (web.enabled and web.demo_mode):
            return
        async with self.runtime.uow() as uow:
            for s in self.settings.staff:
                if s.demo:
                    await vouch(uow, self.runtime, demo_staff_key(s.id), Vouched(staff_id=s.id))
            await uow.commit()

    def load_nlp_in_background(self) -> asyncio.Task:
        """jieba's dictionary takes ≈1.2 s: load it in a thread while the server already answers."""
        async def load() -> None:
            await asyncio.to_thread(self.runtime.tagger.tokenizer.load)
            # jieba's dictionary is ~10^6 long-lived objects: every full collection would walk them
            # (tens of ms with the loop stopped, the p99 of a loaded server). Freezing moves
            # everything alive now out of the collector's sight; it is never freed anyway.
            gc.collect()
            gc.freeze()
            gc.set_threshold(20_000, 50, 100)

        task = asyncio.create_task(load())
        self.background.append(task)
        return task

    async def start_delivery(self, config_path: str | None = None) -> None:
        """Run the outbox sender here, or ([delivery] worker = "process") in a child process started
        with the same configuration file; the server then only wakes it after each commit."""
        if self.settings.delivery.worker == "process":
            self.delivery_process = DeliveryProcess(config_path)
            await self.delivery_process.start()
            self.outbox.forward = self.delivery_process.kick
            return
        self.background.append(asyncio.create_task(self.outbox.run_forever(self.settings.delivery.poll_seconds)))

    async def start_spool(self) -> None:
        """Replay what an earlier run kept (before new messages are taken), then keep replaying."""
        if self.spool.depth:
            log.warning("spool %s holds %s turns from an earlier run: replaying", self.spool.path, self.spool.depth)
            try:
                await self.spool.replay()
            except Exception:
                log.exception("spool replay at start failed; retrying every %ss", self.settings.spool.replay_seconds)
        self.background.append(asyncio.create_task(self.spool.run_forever(self.settings.spool.replay_seconds)))

    async def handle_spooled(self, msg: InboundMessage) -> None:
        """A turn from the spool: the pipeline, which raises when it could not store it. It happens when the
        message arrived (submission time, promised deadline, timeline), not when the database came back."""
        await self.pipeline.handle(msg, arrived=True)

    async def start_channels(self) -> None:
        for channel in self.channels:
            await channel.start()

    def start_staff_lookups(self) -> asyncio.Task | None:
        """Look staff up by mobile in the DingTalk / 浙政钉 directory now and whenever a retry is due."""
        channel = directory_channel(self)
        if channel is None:
            return None
        task = asyncio.create_task(run_lookups(self, channel, self.settings.channels.dingtalk.staff_lookup_seconds))
        self.background.append(task)
        return task

    def start_scheduler(self) -> SweepRunner:
        """Run the registered sweeps on APScheduler in this process (the [scheduler] enabled flag)."""
        assert self.sweeps is not None
        self.scheduler = SweepRunner(self.sweeps)
        self.scheduler.start()
        return self.scheduler

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        for channel in self.channels:
            await channel.close()
        if self.webhooks is not None:
            await self.webhooks.close()
        await self.spool.settle()
        if self.delivery_process is not None:
            await self.delivery_process.stop()
            self.delivery_process = None
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        self.background.clear()
        await self.database.close()


def build_app(settings: Settings, *, clock: Clock | None = None,
              senders: dict[str, ChannelSender] | None = None, tagger: RuleTagger | None = None) -> App:
    """Wire the application; tests pass a FrozenClock and fake senders here."""
    db = settings.database
    database = Database(db.url, echo=db.echo, pool_size=db.pool_size, sqlite_inline=db.sqlite_inline,
                        group_commit_max=db.group_commit_max)
    policy = policy_from(settings)
    calendar = WorkCalendar.from_file(settings.calendar.extra_days_file or None, policy.timezone)
    rules_path = Path(settings.nlp.rules_file) if settings.nlp.rules_file else DEFAULT_RULES
    if tagger is None:
        tagger = RuleTagger(KeywordRules.load(rules_path)).watch(rules_path)  # `qihu tags apply` reloads
        tagger.confidence_threshold = settings.nlp.confidence_threshold
    server = settings.server
    links = ReportLinks(server.public_url, server.link_secret.get_secret_value().encode() or secrets.token_bytes(32),
                        timedelta(minutes=server.report_link_minutes))
    runtime = Runtime(clock or SystemClock(), policy, calendar, tagger, database.uow, links)
    senders = dict(senders or {})
    retry = RetryPolicy(settings.delivery.max_attempts, settings.delivery.base_backoff_seconds)
    outbox = OutboxSender(runtime.uow, runtime.clock, senders, retry)
    outbox.LEASE = timedelta(seconds=settings.delivery.lease_seconds)
    limit = SenderRateLimit(runtime.clock, settings.server.sender_per_minute, settings.server.sender_burst)
    pipeline = Pipeline(runtime, Router(build_commands()), unreachable=database_unreachable, rate_limit=limit,
                        on_commit=outbox.stored, log_text=settings.logging.log_message_text)
    app = App(settings, database, runtime, pipeline, outbox, Spool(settings.spool.path, runtime.clock))
    app.spool.attach(app.handle_spooled)
    app.sweeps = SweepContext(runtime, ChatNotices(calendar.tz), on_sent=outbox.kick, registry=build_sweeps())
    if settings.monitoring.metrics:
        from bot.metrics import metrics
        counters = metrics()
        pipeline.observe, outbox.on_delivery, app.sweeps.on_sweep = counters.turn, counters.delivery, counters.sweep
    app.channels = build_channels(app)
    for channel in app.channels:
        outbox.senders.setdefault(channel.name, channel.sender)  # a sender passed in (tests) wins
    if app.channels:  # who a notice can reach now: the senders, and the web chat's mailbox when it is on
        mailbox = MAILBOX_CHANNELS if settings.webchat.enabled else frozenset()
        runtime.reachable = frozenset(outbox.senders) | mailbox
    lookups = directory_channel(app)
    runtime.lookup_channel = lookups.name if lookups is not None else ""
    if settings.api.enabled:  # signed deliveries to other systems' webhooks, through the same outbox
        app.webhooks = WebhookSender(partial(subscription, runtime.uow), runtime.clock,
                                     settings.api.webhook_timeout_seconds)
        outbox.senders.setdefault(WEBHOOK, app.webhooks)
    return app
