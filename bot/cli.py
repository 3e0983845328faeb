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

from bot.config import EXAMPLE_CONFIG, ConfigError, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def cmd_init(args: argparse.Namespace) -> None:
    target = Path(args.config or "config.toml")
    if not target.exists():
        shutil.copyfile(EXAMPLE_CONFIG, target)
        print(f"已生成配置文件 {target}（演示县），请按本县实际修改。")
    settings = load_settings(target)
    asyncio.run(_prepare(settings))
    print(f"数据库已就绪：{settings.database.url}")


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
    print(f"数据库已升级到最新版本：{settings.database.url}")


def cmd_run(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def main() -> None:
        from bot.bootstrap import build_app
        from bot.server import serve
        app = build_app(settings)
        runner = await serve(app)
        print(f"企呼已启动：http://{settings.server.host}:{settings.server.port}/  （Ctrl-C 停止）", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
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
    """Print a scripted filing as a conversation, on a throw-away SQLite file."""
    settings = _settings(args)

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


LEARNED_HEADER = """Keyword rules learned by `qihu tags learn` ({source}); format: docs/tags.md.
Score of a category = prior + (sum of the weights of its keywords found in the text,
a keyword in the first head_chars characters counting (1 + head_boost) times,
minus the weights of its negative words) / norm; norm = sqrt(sum of (count * idf)^2).
Edit freely: raise, lower or delete a weight; add hand-written words to any table.
Strongest words come first in every table."""


def _learn_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from nlp.learn import LearnOptions
    return LearnOptions(min_df=args.min_df, per_category=args.per_category, head_chars=args.head_chars,
                        head_boost=args.head_boost, seed=args.seed)


def _base_rules(paths: list[str] | None):  # type: ignore[no-untyped-def]
    from nlp.rules import KeywordRules
    return KeywordRules.load(*paths) if paths else None


def _read_examples(args: argparse.Namespace) -> list:
    from nlp.learn import Example, read_csv
    examples: list[Example] = []
    if args.data:
        try:
            examples += read_csv(args.data, args.text_column, args.label_column)
        except (OSError, KeyError) as exc:
            raise SystemExit(f"cannot read {args.data}: {exc}") from None
    if getattr(args, "from_pool", False):
        examples += [Example(text, label) for text, label in asyncio.run(_pool_examples(_settings(args)))]
    if not examples:
        raise SystemExit("no labelled texts: give --data FILE.csv and/or --from-pool")
    return examples


async def _pool_examples(settings: Settings) -> list[tuple[str, str]]:
    from bot.services.tagging import pool_examples
    from storage.engine import create_engine
    from storage.unit_of_work import SqlUnitOfWork
    engine = create_engine(settings.database.url)
    try:
        async with SqlUnitOfWork(engine) as uow:
            return await pool_examples(uow)
    finally:
        await engine.dispose()


def cmd_tags_learn(args: argparse.Namespace) -> None:
    from nlp.learn import Corpus, dump_rules, learn_rules
    from nlp.tokenizer import Tokenizer
    examples = _read_examples(args)
    base = _base_rules(args.base)
    options = _learn_options(args)
    tokenizer = Tokenizer(base.vocabulary() if base else ())
    corpus = Corpus.build(examples, tokenizer, options)
    source = " + ".join(filter(None, [Path(args.data).name if args.data else "",
                                      "pool" if args.from_pool else ""]))
    rules = learn_rules(corpus, None, options, base=base, source=source)
    Path(args.out).write_text(dump_rules(rules, LEARNED_HEADER.format(source=source)), encoding="utf-8")
    sizes = ", ".join(f"{label} {len(words)}" for label, words in rules.categories.items())
    print(f"learned from {len(examples)} texts, {len(rules.categories)} categories → {args.out}")
    print(f"keywords per category: {sizes}")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qihu", description="企呼：企业诉求闭环管理机器人")
    parser.add_argument("--config", help="配置文件（默认 $QIHU_CONFIG、./config.toml 或示例配置）")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="生成配置文件并初始化数据库").set_defaults(fn=cmd_init)
    sub.add_parser("run", help="启动服务（网页聊天、渠道回调、后台投递）").set_defaults(fn=cmd_run)
    chat = sub.add_parser("chat", help="控制台聊天")
    chat.add_argument("--user", default="console-enterprise", help="以企业用户身份（任意标识）")
    chat.add_argument("--staff", help="以工作人员身份（人员编号，如 chen-dispatch）")
    chat.set_defaults(fn=cmd_chat)
    db = sub.add_parser("db", help="数据库管理")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="迁移到最新版本").set_defaults(fn=cmd_db_upgrade)
    sub.add_parser("demo", help="演示一次完整的诉求填报对话").set_defaults(fn=cmd_demo)
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
    common = tags_sub.add_parser("common", help="列出多家企业反映的同类未办结问题")
    common.add_argument("--threshold", type=float, default=0.35)
    common.set_defaults(fn=cmd_tags_common)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "demo" and not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    args.fn(args)


if __name__ == "__main__":
    main()
