"""`qihu init`, `db upgrade`, `run`, `deliver`, `scheduler`, `chat` and `demo`: the processes qihu runs."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import tempfile
from pathlib import Path
from typing import Any

from bot.channels.console_channel import CHANNEL, ConsoleSender, console_loop
from bot.cli.common import opened_app, settings_from, shown
from bot.config import EXAMPLE_CONFIG
from bot.delivery_process import run_sender
from bot.health import warn_calendar
from bot.messages import ConversationKey, InboundMessage
from bot.ops_cli import metrics_dir_for_run
from bot.server import serve
from bot.services.binding import link_staff_identity
from bot.startup import check_port_free
from scheduler.jobs import run_pass
from storage.migrate import upgrade


async def until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def deployment_config(example: str) -> str:
    """The shipped example as a deployment starts from it: the web chat's demo picker switched off."""
    changed, count = re.subn(r"(?m)^demo_mode = true\b", "demo_mode = false", example)
    if count != 1:
        raise AssertionError("config.example.toml should set demo_mode exactly once")
    return changed


def cmd_init(args: argparse.Namespace) -> None:
    target = Path(args.config or "config.toml")
    if not target.exists():
        target.write_text(deployment_config(EXAMPLE_CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"已生成配置文件 {target}（演示县，网页聊天演示模式已关闭），请按本县实际修改。")
    settings = settings_from(args, target)

    async def prepare() -> None:
        async with opened_app(settings):
            pass

    asyncio.run(prepare())
    print(f"数据库已就绪：{shown(settings.database.url)}")


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    upgrade(settings.database.url)
    print(f"数据库已升级到最新版本：{shown(settings.database.url)}")


def cmd_run(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    metrics_dir = metrics_dir_for_run(settings)  # before any counter exists: the delivery child shares it
    check_port_free(settings.server.host, settings.server.port)

    async def main() -> None:
        # Closed however it ends: the delivery child and the scheduler must not outlive a failed start.
        async with opened_app(settings, prepare=False) as app:
            runner = await serve(app, args.config)
            print(f"企呼已启动：http://{settings.server.host}:{settings.server.port}/  （Ctrl-C 停止）", flush=True)
            await until_stopped()
            await runner.cleanup()

    try:
        asyncio.run(main())
    finally:
        metrics_dir()


def cmd_deliver(args: argparse.Namespace) -> None:
    """The outbox sender alone: started by `qihu run` with [delivery] worker = "process"."""
    settings = settings_from(args)

    async def main() -> None:
        async with opened_app(settings, prepare=False) as app:
            await run_sender(app.outbox, app.settings.delivery.poll_seconds, args.kick_fd)

    asyncio.run(main())


def cmd_scheduler(args: argparse.Namespace) -> None:
    """qihu scheduler: run the sweeps alone (web workers then set [scheduler] enabled = false)."""
    settings = settings_from(args)

    async def main() -> None:
        async with opened_app(settings, senders={}) as app:
            warn_calendar(app.runtime.calendar, app.runtime.now(), settings.monitoring.calendar_horizon_days)
            if args.once:
                result = await run_pass(app.sweeps)
                sent = sum(result.sent.values())
                failed = f"，失败：{'、'.join(result.failed)}" if result.failed else "。"
                print(f"已执行一轮定时任务：发出 {sent} 条消息{failed}")
                if result.failed:
                    raise SystemExit(1)
                return
            app.start_scheduler()  # app.close() shuts it down: a second shutdown logs a traceback at exit
            print(f"定时任务已启动（每 {settings.scheduler.interval_seconds} 秒一轮，Ctrl-C 停止）。"
                  "消息写入发件箱，由运行中的服务投递。", flush=True)
            await until_stopped()

    asyncio.run(main())


def cmd_chat(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    user = f"staff:{args.staff}" if args.staff else args.user

    async def main() -> None:
        async with opened_app(settings, senders={CHANNEL: ConsoleSender(user)}) as app:
            if args.staff:
                async with app.runtime.uow() as uow:
                    if not await link_staff_identity(uow, ConversationKey(CHANNEL, user), args.staff):
                        raise SystemExit(f"没有编号为 {args.staff} 的在职人员，请检查配置。")
                    await uow.commit()
            await console_loop(app, user)

    asyncio.run(main())


DEMO_SCRIPT = [
    "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产",
    "示范精密机械有限公司",
    "91330825MA2DH4KX3T",
    "91330825MA2DH4KX39",
    "张伟",
    "138-0013-8000",
    "6",
    "1",
    "1",
    "查询",
]


def cmd_demo(args: argparse.Namespace) -> None:
    """Print a scripted filing as a conversation, on a throw-away SQLite file; with --seed-pool N,
    fill the configured database with N realistic appeals instead (issue 6)."""
    settings = settings_from(args)
    if getattr(args, "seed_pool", None):
        from bot.cli.data import cmd_demo_pool
        cmd_demo_pool(settings, args)
        return

    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            demo = settings.model_copy(update={"database": settings.database.model_copy(
                update={"url": f"sqlite+aiosqlite:///{tmp}/demo.db"})})
            user = "demo-enterprise"
            async with opened_app(demo, senders={CHANNEL: ConsoleSender(user)}) as app:
                for i, line in enumerate(DEMO_SCRIPT):
                    print(f"\n企业> {line}")
                    await app.pipeline.handle(
                        InboundMessage(ConversationKey(CHANNEL, user), line, f"demo-{i}", app.runtime.now()))
                    await app.outbox.run_once()

    asyncio.run(main())


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    sub.add_parser("init", help="生成配置文件并初始化数据库").set_defaults(fn=cmd_init)
    sub.add_parser("run", help="启动服务（网页聊天、渠道回调、后台投递）").set_defaults(fn=cmd_run)
    deliver = sub.add_parser("deliver", help="只运行发件箱投递（由 run 在 [delivery] worker = \"process\" 时自动启动）")
    deliver.add_argument("--kick-fd", type=int, required=True, help="父进程唤醒用的管道（内部参数）")
    deliver.set_defaults(fn=cmd_deliver)
    chat = sub.add_parser("chat", help="控制台聊天")
    chat.add_argument("--user", default="console-enterprise", help="以企业用户身份（任意标识）")
    chat.add_argument("--staff", help="以工作人员身份（人员编号，如 chen-dispatch）")
    chat.set_defaults(fn=cmd_chat)
    db = sub.add_parser("db", help="数据库管理")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="迁移到最新版本").set_defaults(fn=cmd_db_upgrade)
    demo = sub.add_parser("demo", help="演示一次完整的诉求填报对话；--seed-pool N 生成演示数据")
    demo.add_argument("--seed-pool", type=int, metavar="N", help="向配置的数据库写入 N 件演示诉求（全流程）")
    demo.add_argument("--days", type=int, default=120, help="演示诉求分布在最近多少天（默认 120）")
    demo.add_argument("--seed", type=int, default=2026, help="随机种子（相同种子生成相同数据）")
    demo.add_argument("--force", action="store_true", help="数据库已有诉求时仍然写入")
    demo.set_defaults(fn=cmd_demo)
    sched = sub.add_parser("scheduler", help="单独运行定时任务（提醒、评价、日报），供多实例部署")
    sched.add_argument("--once", action="store_true", help="只执行一轮后退出（可配合 cron）")
    sched.set_defaults(fn=cmd_scheduler)
