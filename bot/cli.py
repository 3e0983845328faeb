"""The `qihu` command: init, run, chat, db upgrade, demo, tags learn/eval/common."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bot.config import EXAMPLE_CONFIG, Settings, load_settings

_database_url: str | None = None  # of the loaded settings, for naming host:port when the database fails


def _settings(args: argparse.Namespace, path: str | Path | None = None) -> Settings:
    """Load and check the configuration; every command that opens it comes through here."""
    global _database_url
    from bot.startup import preflight
    settings = load_settings(path or args.config)
    _database_url = settings.database.url
    preflight(settings)
    return settings


def _shown(url: str) -> str:
    """The database URL with its password masked: these lines end up in terminals and logs."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def cmd_init(args: argparse.Namespace) -> None:
    target = Path(args.config or "config.toml")
    if not target.exists():
        shutil.copyfile(EXAMPLE_CONFIG, target)
        print(f"已生成配置文件 {target}（演示县），请按本县实际修改。")
    settings = _settings(args, target)
    asyncio.run(_prepare(settings))
    print(f"数据库已就绪：{_shown(settings.database.url)}")


async def _prepare(settings: Settings) -> None:
    from bot.bootstrap import build_app
    app = build_app(settings)
    try:
        await app.prepare_database()
    finally:
        await app.close()


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from storage.migrate import upgrade
    settings = _settings(args)
    upgrade(settings.database.url)
    print(f"数据库已升级到最新版本：{_shown(settings.database.url)}")


def cmd_run(args: argparse.Namespace) -> None:
    from bot.startup import check_port_free
    settings = _settings(args)
    from bot.ops_cli import metrics_dir_for_run
    metrics_dir = metrics_dir_for_run(settings)  # before any counter exists: the delivery child shares it
    check_port_free(settings.server.host, settings.server.port)

    async def main() -> None:
        from bot.bootstrap import build_app
        from bot.server import serve
        app = build_app(settings)
        try:
            runner = await serve(app, args.config)
        except BaseException:
            await app.close()  # the delivery child and the scheduler must not outlive a failed start
            raise
        print(f"企呼已启动：http://{settings.server.host}:{settings.server.port}/  （Ctrl-C 停止）", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        await app.close()

    try:
        asyncio.run(main())
    finally:
        metrics_dir()


def cmd_deliver(args: argparse.Namespace) -> None:
    """The outbox sender alone: started by `qihu run` with [delivery] worker = "process"."""
    settings = _settings(args)

    async def main() -> None:
        from bot.bootstrap import build_app
        from bot.delivery_process import run_sender
        app = build_app(settings)
        try:
            await run_sender(app.outbox, app.settings.delivery.poll_seconds, args.kick_fd)
        finally:
            await app.close()

    asyncio.run(main())


def cmd_chat(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def main() -> None:
        from bot.bootstrap import build_app
        from bot.channels.console_channel import CHANNEL, ConsoleSender, console_loop
        from bot.messages import ConversationKey
        user = f"staff:{args.staff}" if args.staff else args.user
        app = build_app(settings, senders={CHANNEL: ConsoleSender(user)})
        try:
            await app.prepare_database()
            if args.staff:
                async with app.runtime.uow() as uow:
                    if await uow.directory.staff(args.staff) is None:
                        raise SystemExit(f"没有编号为 {args.staff} 的在职人员，请检查配置。")
                    await uow.directory.link_staff(ConversationKey(CHANNEL, user), args.staff)
                    await uow.commit()
            await console_loop(app, user)
        finally:
            await app.close()

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
    settings = _settings(args)
    if getattr(args, "seed_pool", None):
        cmd_demo_pool(settings, args)
        return

    async def main() -> None:
        from bot.bootstrap import build_app
        from bot.channels.console_channel import CHANNEL, ConsoleSender
        from bot.messages import ConversationKey, InboundMessage
        with tempfile.TemporaryDirectory() as tmp:
            demo = settings.model_copy(update={"database": settings.database.model_copy(
                update={"url": f"sqlite+aiosqlite:///{tmp}/demo.db"})})
            user = "demo-enterprise"
            app = build_app(demo, senders={CHANNEL: ConsoleSender(user)})
            try:
                await app.prepare_database()
                for i, line in enumerate(DEMO_SCRIPT):
                    print(f"\n企业> {line}")
                    await app.pipeline.handle(
                        InboundMessage(ConversationKey(CHANNEL, user), line, f"demo-{i}", app.runtime.now()))
                    await app.outbox.run_once()
            finally:
                await app.close()

    asyncio.run(main())


async def _with_app(settings: Settings, work):  # type: ignore[no-untyped-def]
    """Run `work(app)` against a migrated database with the configured org loaded."""
    from bot.bootstrap import build_app
    app = build_app(settings)
    try:
        await app.prepare_database()
        return await work(app)
    finally:
        await app.close()


def cmd_staff_bind_code(args: argparse.Namespace) -> None:
    from datetime import timedelta

    from bot.domain.errors import DomainError
    from bot.services.binding import issue_bind_code
    settings = _settings(args)

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            code = await issue_bind_code(uow, args.staff_id, app.runtime.now(), timedelta(hours=args.hours))
            await uow.commit()
        return code

    try:
        code = asyncio.run(_with_app(settings, work))
    except DomainError:
        raise SystemExit(f"没有编号为 {args.staff_id} 的在职人员，请检查配置。") from None
    print(f"绑定码：{code}")
    print(f"请让 {args.staff_id} 本人在钉钉/浙政钉/Telegram 中向机器人发送「绑定 {code}」；"
          f"{args.hours} 小时内有效，只能使用一次。")


def cmd_outbox_list(args: argparse.Namespace) -> None:
    from bot.services.delivery import list_outbox
    settings = _settings(args)
    status = None if args.status == "all" else args.status

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            return await list_outbox(uow, status, args.limit)

    rows = asyncio.run(_with_app(settings, work))
    if not rows:
        print("没有符合条件的消息。")
        return
    print("编号\t状态\t尝试\t渠道:接收人\t创建时间\t最后错误\t内容")
    for r in rows:
        text = str(r.body.get("text", "")).replace("\n", " ")[:30]
        error = (r.last_error or "").replace("\n", " ")[:60]
        print(f"{r.id}\t{r.status}\t{r.attempts}\t{r.channel}:{r.recipient}\t"
              f"{r.created_at:%Y-%m-%d %H:%M}\t{error}\t{text}")


def cmd_outbox_retry(args: argparse.Namespace) -> None:
    from bot.services.delivery import retry_outbox
    settings = _settings(args)

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            done = await retry_outbox(uow, args.outbox_id, app.runtime.now())
            await uow.commit()
        return done

    if not asyncio.run(_with_app(settings, work)):
        raise SystemExit(f"消息 {args.outbox_id} 不存在或已发送，无需重试。")
    print(f"消息 {args.outbox_id} 已重新排队，运行中的服务会立即重新投递。")


def _read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and (line number, row) pairs; Excel exports of county systems are often GBK."""
    import csv
    import io
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SystemExit(f"{path}: 无法识别文件编码（请另存为 UTF-8 CSV）")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            rows.append((reader.line_num, row))
    return list(reader.fieldnames or []), rows


def cmd_import_hotline(args: argparse.Namespace) -> None:
    """qihu import hotline FILE.csv: good rows become appeals, bad rows are listed by line."""
    settings = _settings(args)
    path = Path(args.file)
    if not path.exists():
        raise SystemExit(f"文件不存在：{path}")
    header, rows = _read_csv_rows(path)

    async def main() -> int:
        from bot.bootstrap import build_app
        from bot.services.intake import import_hotline, missing_columns
        from handlers.render import refusal
        missing = missing_columns(header)
        if missing:
            print(f"{path}: 缺少必需的列：{'、'.join(missing)}（列名见 docs/handling.md）", file=sys.stderr)
            return 2
        app = build_app(settings, senders={})
        try:
            await app.prepare_database()
            await asyncio.to_thread(app.runtime.tagger.tokenizer.load)
            report = await import_hotline(app.runtime, rows)
        finally:
            await app.close()
        for line, number in report.imported:
            print(f"第 {line} 行：已导入 {number}")
        for line, ref, number in report.skipped:
            print(f"第 {line} 行：工单 {ref} 已导入过（{number}），跳过")
        for line, err in report.errors:
            print(f"第 {line} 行：未导入，{refusal(err)}")
        print(f"共 {len(rows)} 行：导入 {len(report.imported)}，跳过 {len(report.skipped)}，"
              f"有误 {len(report.errors)}。")
        return 1 if report.errors else 0

    raise SystemExit(asyncio.run(main()))


def cmd_demo_pool(settings: Settings, args: argparse.Namespace) -> None:
    """qihu demo --seed-pool N: N appeals over the last --days days, driven through the real use cases."""
    import time
    from datetime import UTC, datetime, timedelta

    from bot.demo_pool import DemoClock, seed_pool

    async def main():  # type: ignore[no-untyped-def]
        from bot.bootstrap import build_app
        end = datetime.now(UTC).replace(microsecond=0)
        clock = DemoClock(end - timedelta(days=args.days))
        app = build_app(settings, clock=clock, senders={})
        try:
            await app.prepare_database()
            async with app.runtime.uow() as uow:
                if await uow.appeals.count() and not args.force:
                    raise SystemExit(f"数据库 {_shown(settings.database.url)} 中已有诉求；"
                                     "演示数据请写入空库，或加 --force。")
            return await seed_pool(app.runtime, clock, args.seed_pool, end - timedelta(days=args.days), end,
                                   args.seed)
        finally:
            await app.close()

    started = time.monotonic()
    stats = asyncio.run(main())
    print(f"已生成演示诉求 {stats.appeals} 件（评价 {stats.rated} 件，差评 {stats.bad} 件），"
          f"用时 {time.monotonic() - started:.1f} 秒：{_shown(settings.database.url)}")


def cmd_report(args: argparse.Namespace) -> None:
    """qihu report --period 2026Q4 --format md|html|xlsx --out DIR."""
    import time
    settings = _settings(args)

    async def main():  # type: ignore[no-untyped-def]
        from bot.bootstrap import build_app
        from bot.domain.errors import DomainError
        from bot.reports.content import build
        from bot.services.kpi import report_for
        from handlers.render import refusal
        app = build_app(settings, senders={})
        try:
            await app.prepare_database()
            async with app.runtime.uow() as uow:
                try:
                    kpi = await report_for(uow, app.runtime, None, args.period)
                except DomainError as err:
                    raise SystemExit(refusal(err)) from None
            from handlers.texts import SOURCE
            return build(kpi, settings.evaluation.ranking_min_sample, {k.value: v for k, v in SOURCE.items()}), \
                app.runtime.tz
        finally:
            await app.close()

    started = time.monotonic()
    content, tz = asyncio.run(main())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"企业服务指数报告-{content.kpi.period.label}"
    written = []
    for fmt in args.format.split(","):
        fmt = fmt.strip()
        if fmt == "md":
            from bot.reports.render import markdown
            path = out / f"{stem}.md"
            path.write_text(markdown(content, tz), encoding="utf-8")
        elif fmt == "html":
            from bot.reports.render import html_page
            path = out / f"{stem}.html"
            path.write_text(html_page(content, tz), encoding="utf-8")
        elif fmt == "xlsx":
            from bot.reports.workbook import write
            path = write(content, out / f"{stem}.xlsx", tz)
        else:
            raise SystemExit(f"不支持的格式 {fmt}（可选 md、html、xlsx）")
        written.append(path)
    t = content.kpi.total
    print(f"{content.title}：受理 {t.received} 件，办结 {t.resolved} 件，指数 {t.index}；"
          f"用时 {time.monotonic() - started:.1f} 秒")
    for path in written:
        print(f"已生成 {path}")


def cmd_import_third_party(args: argparse.Namespace) -> None:
    """qihu import third-party FILE.csv: scores per unit and period; all rows good or nothing stored."""
    settings = _settings(args)
    path = Path(args.file)
    if not path.exists():
        raise SystemExit(f"文件不存在：{path}")
    header, rows = _read_csv_rows(path)
    missing = [c for c in ("单位", "期间", "得分") if c not in header]
    if missing:
        raise SystemExit(f"{path}: 缺少必需的列：{'、'.join(missing)}（列名见 docs/evaluation.md）")

    async def work(app):  # type: ignore[no-untyped-def]
        from bot.services.evaluation import import_third_party
        from bot.services.kpi import parse_period
        async with app.runtime.uow() as uow:
            result = await import_third_party(uow, app.runtime, rows,
                                              lambda text: parse_period(text, app.runtime.tz).label)
            await uow.commit()
        return result

    result = asyncio.run(_with_app(settings, work))
    if result.errors:
        from handlers import texts
        for line, code, params in result.errors:
            print(f"第 {line} 行：{texts.ERRORS[code].format(**params)}", file=sys.stderr)
        raise SystemExit(f"共 {len(rows)} 行，有误 {len(result.errors)} 行，未导入任何数据；请改正后重新导入。")
    print(f"已导入第三方评价 {result.stored} 条。")


def cmd_scheduler(args: argparse.Namespace) -> None:
    """qihu scheduler: run the sweeps alone (web workers then set [scheduler] enabled = false)."""
    settings = _settings(args)

    async def main() -> None:
        from bot.bootstrap import build_app
        from scheduler.jobs import run_pass
        app = build_app(settings, senders={})
        try:
            await app.prepare_database()
            from bot.health import warn_calendar
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
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            await app.close()

    asyncio.run(main())


LEARNED_HEADER = """Keyword rules learned by `qihu tags learn` ({source}); format: docs/tags.md.
Score of a category = prior + (sum of the weights of its keywords found in the text,
a keyword in the first head_chars characters counting (1 + head_boost) times,
minus the weights of its negative words) / norm; norm = sqrt(sum of (count * idf)^2).
Edit freely: raise, lower or delete a weight; add hand-written words to any table.
Strongest words come first in every table."""


def _learn_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from nlp.learn import LearnOptions
    return LearnOptions(min_df=args.min_df, per_category=args.per_category, head_chars=args.head_chars,
                        head_boost=args.head_boost, seed=args.seed, max_keywords=args.max_keywords)


def _base_rules(paths: list[str] | None):  # type: ignore[no-untyped-def]
    from nlp.rules import KeywordRules
    return KeywordRules.load(*paths) if paths else None


def _read_examples(args: argparse.Namespace) -> list:
    from collections import Counter

    from nlp.learn import Example, read_csv
    examples: list[Example] = []
    if args.data:
        try:
            examples += read_csv(args.data, args.text_column, args.label_column)
        except (OSError, KeyError) as exc:
            raise SystemExit(f"cannot read {args.data}: {exc}") from None
    if getattr(args, "from_pool", False):
        examples += [Example(text, label) for text, label in asyncio.run(_pool_examples(_settings(args)))]
    if getattr(args, "from_db", False):
        history = asyncio.run(_pool_examples(_settings(args), closed=True))
        counts = Counter(label for _, label in history)
        few = sorted(label for label, n in counts.items() if n < args.min_count)
        if few:
            print(f"categories with fewer than {args.min_count} closed appeals left out: {', '.join(few)}",
                  file=sys.stderr)
        examples += [Example(text, label) for text, label in history if counts[label] >= args.min_count]
    if not examples:
        raise SystemExit("no labelled texts: give --data FILE.csv, --from-pool or --from-db")
    return examples


async def _pool_examples(settings: Settings, closed: bool = False) -> list[tuple[str, str]]:
    from bot.services.tagging import closed_examples, pool_examples
    from storage.engine import create_engine
    from storage.unit_of_work import SqlUnitOfWork
    engine = create_engine(settings.database.url)
    try:
        async with SqlUnitOfWork(engine) as uow:
            return await (closed_examples(uow) if closed else pool_examples(uow))
    finally:
        await engine.dispose()


def cmd_tags_learn(args: argparse.Namespace) -> None:
    from nlp.learn import Corpus, dump_rules, learn_rules
    from nlp.tokenizer import Tokenizer
    examples = _read_examples(args)
    from nlp.rules import DEFAULT_RULES
    base = _base_rules(args.base or ([str(DEFAULT_RULES)] if args.from_db else None))  # merged with the seed
    options = _learn_options(args)
    tokenizer = Tokenizer(base.vocabulary() if base else ())
    corpus = Corpus.build(examples, tokenizer, options)
    source = " + ".join(filter(None, [Path(args.data).name if args.data else "",
                                      "pool" if args.from_pool else "", "closed appeals" if args.from_db else ""]))
    rules = learn_rules(corpus, None, options, base=base, source=source)
    Path(args.out).write_text(dump_rules(rules, LEARNED_HEADER.format(source=source)), encoding="utf-8")
    sizes = ", ".join(f"{label} {len(words)}" for label, words in rules.categories.items())
    print(f"learned from {len(examples)} texts, {len(rules.categories)} categories → {args.out}")
    print(f"keywords per category: {sizes}")
    if rules.scoring.temperature:
        print(f"calibrated: temperature {rules.scoring.temperature:g}")


def cmd_tags_diff(args: argparse.Namespace) -> None:
    from nlp.learn import diff_rules
    from nlp.rules import KeywordRules
    try:
        old, new = KeywordRules.load(args.old), KeywordRules.load(args.new)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read rules: {exc}") from None
    print("\n".join(diff_rules(old, new)))


def cmd_tags_apply(args: argparse.Namespace) -> None:
    """Back up the configured rule file and put FILE in its place; a running server reloads it."""
    from datetime import datetime

    from nlp.learn import diff_rules
    from nlp.rules import KeywordRules
    settings = _settings(args)
    if not settings.nlp.rules_file:
        raise SystemExit("[nlp] rules_file is empty (the shipped seed rules are used): set it to the county's "
                         "rule file first, then apply")
    target = Path(settings.nlp.rules_file)
    try:
        new = KeywordRules.load(args.file)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {args.file}: {exc}") from None
    if not new.categories:
        raise SystemExit(f"{args.file} has no categories: not applied")
    if target.exists():
        backup = target.with_name(f"{target.name}.{datetime.now().strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(target, backup)
        print(f"backup: {backup}")
        print("\n".join(diff_rules(KeywordRules.load(target), new)))
    staging = target.with_name(target.name + ".new")
    shutil.copyfile(args.file, staging)
    staging.replace(target)  # atomic: the server never reads half a file
    print(f"applied {args.file} → {target}; a running server takes it up with its next message")


def cmd_tags_eval(args: argparse.Namespace) -> None:
    import json

    from nlp.learn import cross_validate, evaluate
    examples = _read_examples(args)
    if args.folds:
        if args.folds < 2 or args.folds > len(examples):
            raise SystemExit("--folds must be between 2 and the number of texts")
        progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
        report = cross_validate(examples, args.folds, _learn_options(args), base=_base_rules(args.rules),
                                progress=progress)
    else:
        if not args.rules:
            raise SystemExit("give --rules RULES.toml (or --folds K to learn and test by cross-validation)")
        report = evaluate(_base_rules(args.rules), examples)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(report.as_text())


def cmd_tags_common(args: argparse.Namespace) -> None:
    async def main() -> None:
        from bot.services.tagging import common_problems
        from storage.engine import create_engine
        from storage.unit_of_work import SqlUnitOfWork
        engine = create_engine(_settings(args).database.url)
        try:
            async with SqlUnitOfWork(engine) as uow:
                groups = await common_problems(uow, args.threshold)
        finally:
            await engine.dispose()
        if not groups:
            print("没有发现多家企业反映的同类问题。")
        for g in groups:
            cats = "、".join(g.categories)
            print(f"{len(g.numbers)} 件 / {len(g.enterprises)} 家企业（{cats}）：{' '.join(g.numbers)}")

    asyncio.run(main())





def _add_learning_knobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-keywords", type=int, default=150,
                   help="words per category, keywords and negative words together (150; 0 = unlimited)")
    p.add_argument("--min-df", type=int, default=2, help="a word must occur in this many texts (2)")
    p.add_argument("--per-category", type=int, default=2000, help="words kept per category (2000)")
    p.add_argument("--head-chars", type=int, default=30, help="length of the subject line (30)")
    p.add_argument("--head-boost", type=float, default=2.0, help="extra weight of subject-line words (2.0)")
    p.add_argument("--seed", type=int, default=0)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="labelled CSV (UTF-8, with a header row)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--from-pool", action="store_true",
                   help="also use the database's dispatcher-confirmed tags and tag corrections")
    p.add_argument("--from-db", action="store_true",
                   help="also use closed appeals' final categories (after 改类, hotline imports included)")
    p.add_argument("--min-count", type=int, default=20,
                   help="with --from-db: a category needs this many closed appeals (20)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qihu", description="企呼：企业诉求闭环管理机器人")
    parser.add_argument("--config", help="配置文件（默认 $QIHU_CONFIG、./config.toml 或示例配置）")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    sub = parser.add_subparsers(dest="command", required=True)
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
    report = sub.add_parser("report", help="生成企业服务指数报告（GB/T 36733 格式）")
    report.add_argument("--period", required=True, help="期间：2026Q4、2026-11 或 2026W48")
    report.add_argument("--format", default="html", help="md、html、xlsx，可用逗号组合（默认 html）")
    report.add_argument("--out", default=".", help="输出目录")
    report.set_defaults(fn=cmd_report)
    sched = sub.add_parser("scheduler", help="单独运行定时任务（提醒、评价、日报），供多实例部署")
    sched.add_argument("--once", action="store_true", help="只执行一轮后退出（可配合 cron）")
    sched.set_defaults(fn=cmd_scheduler)
    staff = sub.add_parser("staff", help="人员管理")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    bind_code = staff_sub.add_parser("bind-code", help="为人员生成一次性绑定码（在聊天中发送「绑定 绑定码」）")
    bind_code.add_argument("staff_id", help="人员编号，如 li-gdgs")
    bind_code.add_argument("--hours", type=int, default=72, help="有效小时数（默认 72）")
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
    tags = sub.add_parser("tags", help="标签规则：学习、评估、同类问题")
    tags_sub = tags.add_subparsers(dest="tags_command", required=True)
    learn = tags_sub.add_parser("learn", help="从已标注的诉求学习关键词规则")
    _add_data_args(learn)
    learn.add_argument("--out", required=True, help="rules TOML to write")
    learn.add_argument("--base", action="append", help="hand-written rules to merge into the output (repeatable)")
    _add_learning_knobs(learn)
    learn.set_defaults(fn=cmd_tags_learn)
    ev = tags_sub.add_parser("eval", help="评估规则：准确率、宏F1、前三命中率、混淆表、吞吐量")
    _add_data_args(ev)
    ev.add_argument("--rules", action="append",
                    help="rules TOML (repeatable: merged); with --folds, hand-written rules merged into each fold")
    ev.add_argument("--folds", type=int, default=0, help="K-fold cross-validation: learn and test on --data")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_learning_knobs(ev)
    ev.set_defaults(fn=cmd_tags_eval)
    diff = tags_sub.add_parser("diff", help="两个规则文件的差别（新增、删除、权重变化）")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(fn=cmd_tags_diff)
    apply = tags_sub.add_parser("apply", help="备份当前规则文件并换成新文件，运行中的服务自动重新加载")
    apply.add_argument("file")
    apply.set_defaults(fn=cmd_tags_apply)
    common = tags_sub.add_parser("common", help="列出多家企业反映的同类未办结问题")
    common.add_argument("--threshold", type=float, default=0.35)
    common.set_defaults(fn=cmd_tags_common)
    from bot.ops_cli import register as register_ops
    register_ops(sub)  # doctor, calendar show
    from bot import backup, privacy
    backup.register(sub)
    privacy.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from bot.logsetup import configure_logging
    configure_logging(verbose=args.verbose)
    if args.command == "demo" and not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        args.fn(args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        from bot.startup import explain
        line = explain(exc, _database_url)
        if line is None:
            raise  # a defect: keep its traceback
        if args.verbose:
            logging.getLogger(__name__).debug("details", exc_info=exc)
        print(line, file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
