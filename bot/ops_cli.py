"""`qihu doctor` and `qihu calendar show YEAR`: what county IT runs to see whether the service can work."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from bot.config import EXAMPLE_CONFIG, ConfigError, Settings, load_settings
from bot.services.ports import Clock, SystemClock

WEEKDAYS = "一二三四五六日"
clock: Clock = SystemClock()  # tests put a FrozenClock here: the calendar verdict depends on the date


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def config_in_use(given: str | None) -> Path:
    """The file load_settings reads: --config, $QIHU_CONFIG, ./config.toml, else the shipped example."""
    chosen = given or os.environ.get("QIHU_CONFIG")
    if not chosen:
        chosen = "config.toml" if Path("config.toml").exists() else str(EXAMPLE_CONFIG)
    return Path(chosen).resolve()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text in them."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _shown(value: object) -> str:
    if isinstance(value, SecretStr):
        return "已设置（已隐藏）" if value.get_secret_value() else "未设置"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "（空）"
    return str(value) if value != "" else "（空）"


def channel_rows(settings: Settings) -> list[list[str]]:
    """Every channel setting, secrets replaced by whether they are set."""
    sections: list[tuple[str, BaseModel]] = [
        ("channels.dingtalk", settings.channels.dingtalk), ("channels.telegram", settings.channels.telegram),
        ("webchat", settings.webchat), ("monitoring", settings.monitoring)]
    rows = []
    for name, section in sections:
        for key in type(section).model_fields:
            rows.append([name, key, _shown(getattr(section, key))])
    return rows


def cmd_doctor(args: argparse.Namespace) -> None:
    """The /readyz checks, the configuration file and the channel settings; exit 1 if a check fails."""
    from bot.domain.calendar import WorkCalendar
    from bot.health import check
    from storage.engine import shown_url
    settings = _settings(args)
    try:
        calendar = WorkCalendar.from_file(settings.calendar.extra_days_file or None, settings.appeals.timezone)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"节假日补充文件有误：{exc}") from None
    now = clock.now()
    result = asyncio.run(check(settings, calendar, now))
    print(f"配置文件：{config_in_use(args.config)}")
    print(f"数据库：{shown_url(settings.database.url)}")
    print(f"节假日补充文件：{settings.calendar.extra_days_file or '（内置）bot/domain/calendar_days.toml'}")
    print()
    rows = []
    for c in result.checks:
        detail = f"{c.detail}：{c.more}" if c.more else c.detail
        rows.append([c.name, "正常" if c.ok else "失败", detail])
    print(table(["检查", "结果", "说明"], rows))
    if result.calendar_missing_years and all(c.ok for c in result.checks if c.name == "calendar"):
        years = "、".join(map(str, result.calendar_missing_years))
        print(f"\n注意：缺少 {years} 年节假日数据（每年 11 月 1 日起检查下一年）。请录入国务院办公厅放假通知后用 "
              f"qihu calendar show {result.calendar_missing_years[0]} 核对。")
    print()
    print(table(["渠道/接口", "配置项", "值"], channel_rows(settings)))
    failed = [c.name for c in result.checks if not c.ok]
    print()
    if failed:
        print(f"未通过：{'、'.join(failed)}")
        raise SystemExit(1)
    print("全部检查通过。")


def cmd_calendar_show(args: argparse.Namespace) -> None:
    """A year's holidays and make-up workdays with the source of each; exit 1 when the year has no data."""
    from datetime import date
    from importlib.metadata import version

    from bot.domain.calendar import DEFAULT_EXTRA_DAYS, WorkCalendar
    settings = _settings(args)
    path = settings.calendar.extra_days_file or str(DEFAULT_EXTRA_DAYS)
    try:
        calendar = WorkCalendar.from_file(settings.calendar.extra_days_file or None, settings.appeals.timezone)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"节假日补充文件有误：{exc}") from None
    year = args.year
    library = f"chinesecalendar {version('chinesecalendar')}"
    if not calendar.covers(date(year, 1, 1)):
        print(f"{year} 年没有节假日数据：{library} 不含该年，补充文件 {path} 也未给出（years = [{year}]）。"
              f"该年的期限按周一至周五计算并标注“节假日数据缺失”。")
        raise SystemExit(1)
    days = calendar.schedule(year)
    source = {"chinesecalendar": library, "file": path}
    print(f"{year} 年节假日安排（{library}；补充文件 {path}）")
    for title, off in (("放假", True), ("调休上班", False)):
        chosen = [d for d in days if d.off == off]
        print(f"\n{title}（{len(chosen)} 天）：")
        print(table(["日期", "星期", "节日", "来源"],
                    [[d.day.isoformat(), f"周{WEEKDAYS[d.day.weekday()]}", d.name or "—", source[d.source]]
                     for d in chosen]) if chosen else "（无）")


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    sub.add_parser("doctor", help="检查数据库、迁移版本、渠道配置、节假日数据，列出配置（密钥隐藏）").set_defaults(
        fn=cmd_doctor)
    cal = sub.add_parser("calendar", help="节假日数据")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    show = cal_sub.add_parser("show", help="列出一年的放假和调休上班日及其来源")
    show.add_argument("year", type=int, help="年份，如 2027")
    show.set_defaults(fn=cmd_calendar_show)


def metrics_dir_for_run(settings: Settings):  # type: ignore[no-untyped-def]
    """With replies sent from a child process, both processes keep their counters in one directory
    (prometheus-client's multiprocess mode); returns what removes a temporary one at exit."""
    if not (settings.monitoring.metrics and settings.delivery.worker == "process"):
        return lambda: None
    from bot.metrics import prepare_multiprocess, remove_multiprocess_dir
    configured = settings.monitoring.multiprocess_dir
    path = prepare_multiprocess(configured)
    return lambda: remove_multiprocess_dir(path, configured)
