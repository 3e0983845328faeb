"""`qihu api-client add|list|revoke`: keys of other systems (docs/api.md)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot import texts
from bot.cli.common import settings_from as _settings
from bot.cli.common import with_app as _with_app
from bot.domain.errors import DomainError
from handlers.render import fmt_date, refusal


def cmd_add(args: argparse.Namespace) -> None:
    from bot.services.api import add_client
    settings = _settings(args)
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    source = args.source or settings.api.entry_sources[0]
    rate = args.rate or settings.api.rate_per_minute

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            client, key = await add_client(uow, app.runtime, args.name, scopes, source, rate,
                                           settings.api.entry_sources)
            await uow.commit()
        return client, key

    try:
        client, key = asyncio.run(_with_app(settings, work))
    except DomainError as err:
        raise SystemExit(refusal(err)) from None
    print(texts.API_CLIENT_ADDED.format(id=client.id, scopes=",".join(sorted(client.scopes)),
                                        source=client.entry_source, rate=client.rate_per_minute, key=key))


def cmd_list(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            return await uow.api.clients(), app.runtime.tz

    clients, tz = asyncio.run(_with_app(settings, work))
    if not clients:
        print(texts.API_CLIENT_NONE)
        return
    for c in clients:
        state = (texts.API_CLIENT_REVOKED.format(at=fmt_date(c.revoked_at, tz)) if c.revoked_at
                 else texts.API_CLIENT_ACTIVE)
        print(texts.API_CLIENT_LINE.format(id=c.id, scopes=",".join(sorted(c.scopes)), source=c.entry_source,
                                           rate=c.rate_per_minute, created=fmt_date(c.created_at, tz), state=state))


def cmd_revoke(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def work(app):  # type: ignore[no-untyped-def]
        async with app.runtime.uow() as uow:
            done = await uow.api.revoke(args.name, app.runtime.now())
            await uow.commit()
        return done

    if not asyncio.run(_with_app(settings, work)):
        raise SystemExit(texts.ERRORS["api_client_unknown"].format(value=args.name))
    print(texts.API_CLIENT_REVOKED_DONE.format(id=args.name))


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    """`qihu api-client add|list|revoke`, for bot/cli/parser.py build_parser."""
    client = sub.add_parser("api-client", help="其他系统的接口密钥（Open311、/api/v1、webhook）")
    client_sub = client.add_subparsers(dest="api_client_command", required=True)
    add = client_sub.add_parser("add", help="新建客户端并打印密钥（只显示一次）")
    add.add_argument("name", help="客户端名称，如 hotline-12345（小写字母、数字、_、-，最多 24 位）")
    add.add_argument("--scopes", required=True, help="逗号分隔：submit,read,read_personal,rate,callbacks")
    add.add_argument("--source", help="它提交的诉求计为哪个受理来源（默认 [api] entry_sources 的第一个）")
    add.add_argument("--rate", type=int, help="每分钟调用次数上限（默认 [api] rate_per_minute）")
    add.set_defaults(fn=cmd_add)
    client_sub.add_parser("list", help="列出客户端（不显示密钥）").set_defaults(fn=cmd_list)
    revoke = client_sub.add_parser("revoke", help="吊销客户端的密钥")
    revoke.add_argument("name")
    revoke.set_defaults(fn=cmd_revoke)
