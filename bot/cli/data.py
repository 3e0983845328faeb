"""`qihu staff`, `outbox`, `import`, `report`, `cases export` and `demo --seed-pool`: commands on the stored data."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import texts
from bot.bootstrap import App
from bot.cli.common import opened_app, read_import_file, settings_from, shown, with_app
from bot.config import Settings
from bot.demo_pool import DemoClock, seed_pool
from bot.domain.errors import DomainError
from bot.services.binding import MAX_CODE_HOURS, issue_bind_code
from bot.services.cases import export_rows, report_with_cases
from bot.services.delivery import list_outbox, retry_outbox
from bot.services.directory import unit_names
from bot.services.evaluation import import_third_party, third_party_missing_columns
from bot.services.intake import import_hotline, missing_columns
from bot.services.kpi import parse_period
from handlers.render import refusal


def cmd_staff_bind_code(args: argparse.Namespace) -> None:
    if not 1 <= args.hours <= MAX_CODE_HOURS:
        raise SystemExit(f"--hours 应在 1 到 {MAX_CODE_HOURS} 之间（当前 {args.hours}），绑定码有效期以小时计。")
    settings = settings_from(args)

    async def work(app: App) -> str:
        async with app.runtime.uow() as uow:
            code = await issue_bind_code(uow, args.staff_id, app.runtime.now(), timedelta(hours=args.hours))
            await uow.commit()
        return code

    try:
        code = asyncio.run(with_app(settings, work))
    except DomainError:
        raise SystemExit(f"没有编号为 {args.staff_id} 的在职人员，请检查配置。") from None
    print(f"绑定码：{code}")
    print(f"请让 {args.staff_id} 本人在钉钉/浙政钉/Telegram 中向机器人发送「绑定 {code}」；"
          f"{args.hours} 小时内有效，只能使用一次；此前为此人生成的绑定码已作废。")


def cmd_outbox_list(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    status = None if args.status == "all" else args.status

    async def work(app: App) -> list:  # type: ignore[type-arg]
        async with app.runtime.uow() as uow:
            return await list_outbox(uow, status, args.limit)

    rows = asyncio.run(with_app(settings, work))
    if not rows:
        print("没有符合条件的消息。")
        return
    print("编号\t状态\t尝试\t渠道:接收人\t创建时间\t最后错误\t内容")
    for r in rows:
        text = str(r.body.get("text") or r.body.get("type", "")).replace("\n", " ")[:30]  # webhooks: event type
        error = (r.last_error or "").replace("\n", " ")[:60]
        print(f"{r.id}\t{r.status}\t{r.attempts}\t{r.channel}:{r.recipient}\t"
              f"{r.created_at:%Y-%m-%d %H:%M}\t{error}\t{text}")


def cmd_outbox_retry(args: argparse.Namespace) -> None:
    settings = settings_from(args)

    async def work(app: App) -> bool:
        async with app.runtime.uow() as uow:
            done = await retry_outbox(uow, args.outbox_id, app.runtime.now())
            await uow.commit()
        return done

    if not asyncio.run(with_app(settings, work)):
        raise SystemExit(f"消息 {args.outbox_id} 不存在或已发送，无需重试。")
    print(f"消息 {args.outbox_id} 已重新排队，运行中的服务会立即重新投递。")


def cmd_import_hotline(args: argparse.Namespace) -> None:
    """qihu import hotline FILE.csv: good rows become appeals, bad rows are listed by line."""
    settings = settings_from(args)
    rows = read_import_file(Path(args.file), missing_columns, "docs/handling.md")

    async def work(app: App):  # type: ignore[no-untyped-def]
        await asyncio.to_thread(app.runtime.tagger.tokenizer.load)
        return await import_hotline(app.runtime, rows)

    report = asyncio.run(with_app(settings, work, senders={}))
    for line, number in report.imported:
        print(f"第 {line} 行：已导入 {number}")
    for line, ref, number in report.skipped:
        print(f"第 {line} 行：工单 {ref} 已导入过（{number}），跳过")
    for line, err in report.errors:
        print(f"第 {line} 行：未导入，{refusal(err)}")
    print(f"共 {len(rows)} 行：导入 {len(report.imported)}，跳过 {len(report.skipped)}，"
          f"有误 {len(report.errors)}。")
    raise SystemExit(1 if report.errors else 0)


def cmd_import_third_party(args: argparse.Namespace) -> None:
    """qihu import third-party FILE.csv: scores per unit and period; all rows good or nothing stored."""
    settings = settings_from(args)
    rows = read_import_file(Path(args.file), third_party_missing_columns, "docs/evaluation.md")

    async def work(app: App):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            result = await import_third_party(uow, app.runtime, rows,
                                              lambda text: parse_period(text, app.runtime.tz).label)
            await uow.commit()
        return result

    result = asyncio.run(with_app(settings, work))
    if result.errors:
        for line, code, params in result.errors:
            print(f"第 {line} 行：{texts.ERRORS[code].format(**params)}", file=sys.stderr)
        raise SystemExit(f"共 {len(rows)} 行，有误 {len(result.errors)} 行，未导入任何数据；请改正后重新导入。")
    print(f"已导入第三方评价 {result.stored} 条。")


def cmd_report(args: argparse.Namespace) -> None:
    """qihu report --period 2026Q4 --format md|html|xlsx --out DIR."""
    # matplotlib and openpyxl take a second to import: only this command loads them.
    from bot.reports.content import build
    from bot.reports.render import html_page, markdown
    from bot.reports.workbook import write
    settings = settings_from(args)

    async def work(app: App):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            try:
                kpi, cases = await report_with_cases(uow, app.runtime, args.period)
            except DomainError as err:
                raise SystemExit(refusal(err)) from None
        sources = {k.value: v for k, v in texts.SOURCE.items()}
        return build(kpi, settings.evaluation.ranking_min_sample, sources, cases), app.runtime.tz

    started = time.monotonic()
    content, tz = asyncio.run(with_app(settings, work, senders={}))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"企业服务指数报告-{content.kpi.period.label}"
    written = []
    for fmt in args.format.split(","):
        fmt = fmt.strip()
        if fmt == "md":
            path = out / f"{stem}.md"
            path.write_text(markdown(content, tz), encoding="utf-8")
        elif fmt == "html":
            path = out / f"{stem}.html"
            path.write_text(html_page(content, tz), encoding="utf-8")
        elif fmt == "xlsx":
            path = write(content, out / f"{stem}.xlsx", tz)
        else:
            raise SystemExit(f"不支持的格式 {fmt}（可选 md、html、xlsx）")
        written.append(path)
    t = content.kpi.total
    print(f"{content.title}：受理 {t.received} 件，办结 {t.resolved} 件，指数 {t.index}；"
          f"用时 {time.monotonic() - started:.1f} 秒")
    for path in written:
        print(f"已生成 {path}")


def cmd_cases_export(args: argparse.Namespace) -> None:
    """qihu cases export --out F.xlsx: the whole typical-case library (规范 8.2 典型服务判例)."""
    from bot.reports.workbook import write_cases
    settings = settings_from(args)

    async def work(app: App):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            return await export_rows(uow), await unit_names(uow), app.runtime.tz

    cases, names, tz = asyncio.run(with_app(settings, work, senders={}))
    staff = {s.id: s.name for s in settings.staff}
    path = write_cases(cases, names, staff, Path(args.out), tz)
    print(f"已导出典型服务判例 {len(cases)} 个：{path}")


def cmd_demo_pool(settings: Settings, args: argparse.Namespace) -> None:
    """qihu demo --seed-pool N: N appeals over the last --days days, driven through the real use cases."""
    end = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(end - timedelta(days=args.days))

    async def main():  # type: ignore[no-untyped-def]
        async with opened_app(settings, clock=clock, senders={}) as app:
            async with app.runtime.uow() as uow:
                if await uow.appeals.count() and not args.force:
                    raise SystemExit(f"数据库 {shown(settings.database.url)} 中已有诉求；"
                                     "演示数据请写入空库，或加 --force。")
            return await seed_pool(app.runtime, clock, args.seed_pool, end - timedelta(days=args.days), end,
                                   args.seed)

    started = time.monotonic()
    stats = asyncio.run(main())
    print(f"已生成演示诉求 {stats.appeals} 件（评价 {stats.rated} 件，差评 {stats.bad} 件），"
          f"用时 {time.monotonic() - started:.1f} 秒：{shown(settings.database.url)}")


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    report = sub.add_parser("report", help="生成企业服务指数报告（GB/T 36733 格式）")
    report.add_argument("--period", required=True, help="期间：2026Q4、2026-11 或 2026W48")
    report.add_argument("--format", default="html", help="md、html、xlsx，可用逗号组合（默认 html）")
    report.add_argument("--out", default=".", help="输出目录")
    report.set_defaults(fn=cmd_report)
    cases = sub.add_parser("cases", help="典型服务判例")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True)
    export = cases_sub.add_parser("export", help="把判例库导出为 XLSX")
    export.add_argument("--out", default="典型服务判例.xlsx", help="输出文件（默认 典型服务判例.xlsx）")
    export.set_defaults(fn=cmd_cases_export)
    staff = sub.add_parser("staff", help="人员管理")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    bind_code = staff_sub.add_parser("bind-code", help="为人员生成一次性绑定码（在聊天中发送「绑定 绑定码」）")
    bind_code.add_argument("staff_id", help="人员编号，如 li-gdgs")
    bind_code.add_argument("--hours", type=int, default=72, help="有效小时数，1–720（默认 72）")
    bind_code.set_defaults(fn=cmd_staff_bind_code)
    outbox = sub.add_parser("outbox", help="待发送消息（发件箱）管理")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_list = outbox_sub.add_parser("list", help="列出消息（默认：投递失败的死信）")
    outbox_list.add_argument("--status", choices=["dead", "pending", "sent", "all"], default="dead")
    outbox_list.add_argument("--limit", type=int, default=50)
    outbox_list.set_defaults(fn=cmd_outbox_list)
    outbox_retry = outbox_sub.add_parser("retry", help="重新投递一条消息")
    outbox_retry.add_argument("outbox_id", type=int, help="消息编号（见 outbox list）")
    outbox_retry.set_defaults(fn=cmd_outbox_retry)
    imp = sub.add_parser("import", help="导入其他渠道的诉求")
    imp_sub = imp.add_subparsers(dest="import_command", required=True)
    hotline = imp_sub.add_parser("hotline", help="导入 12345-8 热线工单 CSV（列名见 docs/handling.md）")
    hotline.add_argument("file", help="CSV 文件（UTF-8 或 GBK）")
    hotline.set_defaults(fn=cmd_import_hotline)
    third = imp_sub.add_parser("third-party", help="导入第三方评价得分 CSV（列：单位,期间,得分[,来源,备注]）")
    third.add_argument("file", help="CSV 文件（UTF-8 或 GBK）")
    third.set_defaults(fn=cmd_import_third_party)
