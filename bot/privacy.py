"""`qihu privacy purge` / `qihu privacy export`: retention and access under 个人信息保护法 (docs/privacy.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from bot.cli.common import settings_from, with_app
from bot.domain.errors import DomainError
from bot.domain.identifiers import mask_phones_in_text, normalize_uscc
from storage.privacy_repository import PurgeCounts


class PrivacyRefused(Exception):
    """A one-line Chinese reason; the command exits 2 and changes nothing."""


def default_before(today: date, retain_years: int) -> date:
    """The same day `retain_years` years ago (29 February falls back to the 28th)."""
    try:
        return today.replace(year=today.year - retain_years)
    except ValueError:
        return today.replace(year=today.year - retain_years, day=28)


def parse_before(text: str | None, today: date, retain_years: int) -> date:
    if text is None:
        return default_before(today, retain_years)
    try:
        before = date.fromisoformat(text.strip())
    except ValueError:
        raise PrivacyRefused(f"日期「{text}」无法识别，请写成 YYYY-MM-DD，例如 {default_before(today, retain_years)}") \
            from None
    if before > today:
        raise PrivacyRefused(f"日期 {before} 晚于今天（{today}）：只能清理已经办结的诉求的联系人信息")
    return before


def parse_uscc(text: str) -> str:
    from handlers.render import refusal
    try:
        return normalize_uscc(text)
    except DomainError as err:
        raise PrivacyRefused(f"统一社会信用代码「{text}」有误：{refusal(err)}") from None


async def run_purge(app: Any, before_text: str | None, *, dry_run: bool = False) -> tuple[date, PurgeCounts]:
    """Anonymise contact data of appeals closed before the date (local midnight), in one transaction."""
    rt = app.runtime
    today = rt.now().astimezone(rt.tz).date()
    before = parse_before(before_text, today, app.settings.privacy.retain_years)
    cutoff = datetime.combine(before, time(0), rt.tz).astimezone(UTC)
    return before, await app.database.purge_contacts(cutoff, mask_phones_in_text, dry_run=dry_run)


async def run_export(app: Any, uscc_text: str) -> dict[str, Any] | None:
    uscc = parse_uscc(uscc_text)
    data = await app.database.export_enterprise(uscc)
    if data is not None:
        data["exported_at"] = app.runtime.now()
    return data


def to_json(data: dict[str, Any]) -> str:
    def default(value: object) -> object:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON")

    return json.dumps(data, ensure_ascii=False, indent=2, default=default)


def _refuse(exc: PrivacyRefused) -> None:
    print(exc, file=sys.stderr)
    raise SystemExit(2)


def cmd_purge(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    from zoneinfo import ZoneInfo
    try:  # refuse a bad date before anything touches the database
        parse_before(args.before, datetime.now(ZoneInfo(settings.appeals.timezone)).date(),
                     settings.privacy.retain_years)
        before, counts = asyncio.run(with_app(settings, lambda app: run_purge(app, args.before,
                                                                              dry_run=args.dry_run)))
    except PrivacyRefused as exc:
        _refuse(exc)
    verb = "将" if args.dry_run else "已"
    print(f"{before} 之前办结的诉求 {counts.appeals} 件：联系人和电话{verb}匿名化；办理记录 {counts.events} 条、"
          f"其他文字 {counts.texts} 条中的电话和联系人{verb}遮盖；企业联系人 {counts.enterprises} 家、"
          f"企业身份申请中的联系人 {counts.members} 条、"
          f"聊天身份昵称 {counts.identities} 个、闲置对话草稿 {counts.conversations} 个{verb}清除。"
          + ("（试运行，未写入任何数据）" if args.dry_run else "统计数据和办理记录均保留。"))


def cmd_export(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    try:
        parse_uscc(args.uscc)
        data = asyncio.run(with_app(settings, lambda app: run_export(app, args.uscc)))
    except PrivacyRefused as exc:
        _refuse(exc)
    if data is None:
        print(f"没有统一社会信用代码为 {args.uscc.strip().upper()} 的企业或诉求记录。", file=sys.stderr)
        raise SystemExit(1)
    text = to_json(data)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"已导出 {data['uscc']}：企业 {len(data['enterprises'])} 条、诉求 {len(data['appeals'])} 件、"
              f"聊天身份 {len(data['identities'])} 个、"
              f"身份申请 {len(data['members'])} 条、消息 {len(data['messages_sent'])} 条 → {args.out}")
    else:
        print(text)


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    """`qihu privacy purge|export`, for bot/cli/parser.py build_parser."""
    privacy = sub.add_parser("privacy", help="个人信息：到期匿名化、按企业导出")
    privacy_sub = privacy.add_subparsers(dest="privacy_command", required=True)
    purge = privacy_sub.add_parser("purge", help="匿名化某日之前办结的诉求的联系人和电话（统计与办理记录保留）")
    purge.add_argument("--before", help="日期 YYYY-MM-DD（默认：今天往前 [privacy] retain_years 年）")
    purge.add_argument("--dry-run", action="store_true", help="只统计将改动多少，不写入")
    purge.set_defaults(fn=cmd_purge)
    export = privacy_sub.add_parser("export", help="以 JSON 导出某企业及其联系人的全部数据")
    export.add_argument("--uscc", required=True, help="统一社会信用代码")
    export.add_argument("--out", help="写入文件（默认打印到标准输出）")
    export.set_defaults(fn=cmd_export)
