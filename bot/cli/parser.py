"""The `qihu` entry point: build_parser (every command, each group from its module) and main (run one)."""

from __future__ import annotations

import argparse
import logging
import sys

from bot import api_cli, backup, ops_cli, privacy
from bot.cli import common, data, serve, tags
from bot.logsetup import configure_logging
from bot.startup import explain


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qihu", description="企呼：企业诉求闭环管理机器人")
    parser.add_argument("--config", help="配置文件（默认 $QIHU_CONFIG、./config.toml 或示例配置）")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (serve, data, tags, ops_cli, backup, privacy, api_cli):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    if args.command == "demo" and not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        args.fn(args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        line = explain(exc, common.database_url)
        if line is None:
            raise  # a defect: keep its traceback
        if args.verbose:
            logging.getLogger(__name__).debug("details", exc_info=exc)
        print(line, file=sys.stderr)
        raise SystemExit(2) from None
