"""Readiness: the checks behind /readyz, `qihu doctor` and the /metrics gauges, on a connection of their own."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.config import Settings, channel_problems
from bot.domain.calendar import WorkCalendar
from bot.metrics import Snapshot
from storage.database import migration_heads, probe
from storage.engine import sqlite_file_missing

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str  # database, migrations, channels, calendar
    ok: bool
    detail: str  # zh-CN, for county IT
    more: str = ""  # the driver's own words: shown by `qihu doctor`, logged, never sent over HTTP


@dataclass
class Readiness:
    checks: list[Check]
    calendar_missing_years: list[int] = field(default_factory=list)
    snapshot: Snapshot | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict:
        return {
            "status": "ready" if self.ok else "not ready",
            "problems": [f"{c.name}: {c.detail}" for c in self.checks if not c.ok],
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "calendar_missing_years": self.calendar_missing_years,
        }


def _calendar_check(calendar: WorkCalendar, today: date, horizon: int) -> Check:
    last = today + timedelta(days=horizon)
    gaps = sorted({y for y in (today.year, last.year) if not calendar.covers(date(y, 1, 1))})
    if gaps:
        years = "、".join(str(y) for y in gaps)
        return Check("calendar", False, f"缺少 {years} 年节假日数据（需覆盖今天起 {horizon} 天）；请把国务院办公厅"
                     f"放假通知录入节假日补充文件，用 qihu calendar show {gaps[0]} 核对")
    return Check("calendar", True, f"已覆盖今天起 {calendar.covered_days(today)} 天")


async def check(settings: Settings, calendar: WorkCalendar, now: datetime, *,
                running_channels: list[str] | None = None, live_problems: list[str] | None = None,
                counts: bool = False) -> Readiness:
    """Every readiness check; `counts` also reads the gauges for /metrics. Never raises."""
    mon = settings.monitoring
    checks: list[Check] = []
    url = settings.database.url
    revisions: set[str] | None = None
    data = None
    missing_file = sqlite_file_missing(url)
    if missing_file:
        checks.append(Check("database", False,
                            f"数据库文件不存在：{missing_file}（请运行 qihu init 或 qihu db upgrade）"))
    else:
        try:
            revisions, data = await asyncio.wait_for(probe(url, now, counts), mon.db_timeout_seconds)
            checks.append(Check("database", True, "应答正常"))
        except TimeoutError:
            checks.append(Check("database", False, f"数据库 {mon.db_timeout_seconds:g} 秒内没有应答"))
        except Exception as exc:
            log.warning("readiness: database check failed: %s", exc)
            checks.append(Check("database", False, f"无法连接数据库（{type(exc).__name__}）", str(exc)[:300]))
    heads = migration_heads()
    if revisions is None:
        checks.append(Check("migrations", False, "数据库不可用，无法检查版本"))
    elif revisions != heads:
        have = "、".join(sorted(revisions)) or "未初始化"
        checks.append(Check("migrations", False, f"数据库版本 {have}，最新版本 {'、'.join(sorted(heads))}；"
                            "请运行 qihu db upgrade"))
    else:
        checks.append(Check("migrations", True, f"已是最新版本 {'、'.join(sorted(heads))}"))
    problems = channel_problems(settings)
    enabled = enabled_channels(settings)
    if running_channels is not None:
        problems += [f"渠道 {name} 已启用但未运行" for name in enabled if name not in running_channels]
    problems += live_problems or []
    checks.append(Check("channels", not problems, "；".join(problems) if problems else
                        f"已启用：{'、'.join(enabled) or '仅网页聊天'}"))
    today = now.astimezone(calendar.tz).date()
    checks.append(_calendar_check(calendar, today, mon.calendar_horizon_days))
    spooled, oldest = spool_check(settings, now, checks)
    result = Readiness(checks, calendar.missing_years(today, mon.calendar_horizon_days))
    if counts:
        snap = Snapshot(database_up=checks[0].ok, ready=result.ok,
                        calendar_covered_days=calendar.covered_days(today),
                        calendar_missing_years=result.calendar_missing_years)
        snap.spool_entries = spooled
        snap.spool_oldest_age_seconds = (now - oldest).total_seconds() if oldest else 0.0
        if data is not None:
            snap.outbox, snap.appeals, snap.overdue = data.outbox, data.appeals, data.overdue
        result.snapshot = snap
    return result


def spool_check(settings: Settings, now: datetime, checks: list[Check]) -> tuple[int, datetime | None]:
    """Turns kept while the database was away and not yet stored: not ready until they are."""
    from bot.spool import waiting
    path = str(Path(settings.spool.path).absolute())
    try:
        n, oldest = waiting(path)
    except OSError as exc:
        checks.append(Check("spool", False, f"无法读取消息暂存文件（{type(exc).__name__}）", f"{path}: {exc}"))
        return 0, None
    if not n:
        checks.append(Check("spool", True, "无暂存消息", path))
    else:
        age = int((now - oldest).total_seconds() // 60) if oldest else 0
        checks.append(Check("spool", False, f"{n} 条消息因数据库不可用暂存在本机，最早一条已等待 {age} 分钟；"
                            f"数据库恢复后每 {settings.spool.replay_seconds:g} 秒自动补处理", path))
    return n, oldest


def enabled_channels(settings: Settings) -> list[str]:
    """Outbox channel names of the enabled chat channels (dingtalk / zzd, telegram)."""
    names = []
    if settings.channels.dingtalk.enabled:
        names.append(settings.channels.dingtalk.channel)
    if settings.channels.telegram.enabled:
        names.append("telegram")
    return names


def warn_calendar(calendar: WorkCalendar, now: datetime, horizon_days: int = 60) -> list[int]:
    """The start-up warning of `qihu run` and `qihu scheduler` while holiday data is missing."""
    missing = calendar.missing_years(now.astimezone(calendar.tz).date(), horizon_days)
    if missing:
        log.warning("no holiday data for %s: deadlines there count Monday-Friday (marked 节假日数据缺失); enter the "
                    "State Council notice in the calendar extra-days file and check it with `qihu calendar show %s` "
                    "(docs/operations.md)", ", ".join(map(str, missing)), missing[0])
    return missing
