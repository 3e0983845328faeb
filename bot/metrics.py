"""Prometheus metrics (prometheus-client): counters bumped on the hot paths, database gauges read at scrape time."""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TURN_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)


class Metrics:
    """This process's counters. With PROMETHEUS_MULTIPROC_DIR set (`qihu run` sets it when replies are sent
    from a child process) every process writes its values to files there and a scrape sums them."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        if self.multiprocess_dir and values.ValueClass is values.MutexValue:
            # prometheus_client picks its value class when first imported; the directory may be set after.
            values.ValueClass = values.MultiProcessValue()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turns = Counter("qihu_turns", "Chat turns handled, by channel and outcome "
                             "(ok, refused, failed, duplicate)", ["channel", "outcome"], registry=r)
        self.turn_seconds = Histogram("qihu_turn_seconds", "Time to handle one chat turn, lock wait included",
                                      ["channel"], buckets=TURN_BUCKETS, registry=r)
        self.delivery_attempts = Counter("qihu_delivery_attempts", "Outbox send attempts, by channel and status "
                                         "(sent, failed)", ["channel", "status"], registry=r)
        self.delivery_failures = Counter("qihu_delivery_failures", "Failed sends, by channel and what became of "
                                         "the message (retry, dead)", ["channel", "status"], registry=r)
        self.sweep_runs = Counter("qihu_sweep_runs", "Scheduled sweep runs, by sweep and result (ok, failed)",
                                  ["sweep", "result"], registry=r)
        self.sweep_seconds = Histogram("qihu_sweep_seconds", "Duration of one sweep run", ["sweep"],
                                       buckets=SWEEP_BUCKETS, registry=r)
        self.sweep_messages = Counter("qihu_sweep_messages", "Messages written to the outbox by sweeps",
                                      ["sweep"], registry=r)
        # labels() takes a lock and builds a tuple each call: the turn path reuses its children.
        self._turn_children: dict[tuple[str, str], tuple[object, object]] = {}

    def turn(self, channel: str, outcome: str, seconds: float) -> None:
        key = (channel, outcome)
        children = self._turn_children.get(key)
        if children is None:
            children = (self.turns.labels(channel, outcome), self.turn_seconds.labels(channel))
            self._turn_children[key] = children
        counter, histogram = children
        counter.inc()  # type: ignore[attr-defined]
        histogram.observe(seconds)  # type: ignore[attr-defined]

    def delivery(self, channel: str, status: str) -> None:
        """status: "sent", or the failed message's fate, "retry" or "dead"."""
        if status == "sent":
            self.delivery_attempts.labels(channel, "sent").inc()
        else:
            self.delivery_attempts.labels(channel, "failed").inc()
            self.delivery_failures.labels(channel, status).inc()

    def sweep(self, name: str, seconds: float, sent: int, ok: bool) -> None:
        self.sweep_runs.labels(name, "ok" if ok else "failed").inc()
        self.sweep_seconds.labels(name).observe(seconds)
        if sent:
            self.sweep_messages.labels(name).inc(sent)

    def exposition(self, snapshot: Snapshot | None) -> bytes:
        """The text format: every process's counters plus the gauges read for this scrape."""
        registry = CollectorRegistry()
        if self.multiprocess_dir:
            MultiProcessCollector(registry, self.multiprocess_dir)
        else:
            registry.register(_Forward(self.registry))
        if snapshot is not None:
            registry.register(snapshot)
        return generate_latest(registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Forward:
    """Puts one registry's metrics into another (a collector must not be in two registries' names twice)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


@dataclass(eq=False)  # a registry keeps its collectors in a dict
class Snapshot:
    """Gauges computed from the database and the calendar when /metrics is asked for."""

    database_up: bool = False
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) → rows
    appeals: dict[str, int] = field(default_factory=dict)  # status → appeals
    overdue: int = 0
    calendar_covered_days: int = 0
    calendar_missing_years: list[int] = field(default_factory=list)
    ready: bool = False
    spool_entries: int = 0
    spool_oldest_age_seconds: float = 0.0

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("qihu_up_database", "1 when the database answered this scrape",
                                value=int(self.database_up))
        yield GaugeMetricFamily("qihu_ready", "1 when every /readyz check passes", value=int(self.ready))
        outbox = GaugeMetricFamily("qihu_outbox_messages", "Outbox rows waiting (pending) or given up (dead)",
                                   labels=["channel", "status"])
        for (channel, status), n in sorted(self.outbox.items()):
            outbox.add_metric([channel, status], n)
        yield outbox
        appeals = GaugeMetricFamily("qihu_appeals", "Appeals by status", labels=["status"])
        for status, n in sorted(self.appeals.items()):
            appeals.add_metric([status], n)
        yield appeals
        yield GaugeMetricFamily("qihu_spool_entries", "Chat turns kept in the local spool while the database "
                                "was unreachable, not yet stored (alarm above 0 for minutes)", value=self.spool_entries)
        yield GaugeMetricFamily("qihu_spool_oldest_age_seconds", "Age of the oldest turn in the spool; 0 when empty",
                                value=self.spool_oldest_age_seconds)
        yield GaugeMetricFamily("qihu_appeals_overdue", "Appeals in handling past their deadline",
                                value=self.overdue)
        yield GaugeMetricFamily("qihu_calendar_covered_days", "Days from today whose holidays are known "
                                "(alarm below 60)", value=self.calendar_covered_days)
        missing = GaugeMetricFamily("qihu_calendar_missing_years", "Years without holiday data that operations "
                                    "must enter (from 1 November for next year): 1 per year", labels=["year"])
        for year in self.calendar_missing_years:
            missing.add_metric([str(year)], 1)
        yield missing


def prepare_multiprocess(configured: str = "") -> str:
    """Give this process and its children an empty metrics directory (before any counter exists).

    A configured directory is emptied of earlier runs' files; otherwise a fresh temporary one is made.
    """
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="qihu-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path)


def remove_multiprocess_dir(path: str, configured: str = "") -> None:
    if not configured:
        shutil.rmtree(path, ignore_errors=True)


def is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


_METRICS: Metrics | None = None


def metrics() -> Metrics:
    """The process's one Metrics, made on first use (after `prepare_multiprocess`, when that is called)."""
    global _METRICS
    if _METRICS is None:
        _METRICS = Metrics()
    return _METRICS

