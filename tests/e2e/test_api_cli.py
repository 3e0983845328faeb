"""`qihu api-client add|list|revoke` as an administrator runs them: the key printed once, kept only hashed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.config import EXAMPLE_CONFIG, load_settings
from bot.services.api import Unauthorized, authenticate
from storage import tables as t
from tests.conftest import start_app
from tests.e2e.test_cli import qihu


async def check_key(url: str, key: str, clock) -> str:  # type: ignore[no-untyped-def]
    base = load_settings(EXAMPLE_CONFIG)
    app = await start_app(base.model_copy(update={"database": base.database.model_copy(update={"url": url})}), clock)
    try:
        async with app.runtime.uow() as uow:
            stored = (await uow.conn.execute(select(t.api_clients.c.key_hash))).scalars().all()
            assert key not in str(stored)
            try:
                return (await authenticate(uow, key)).id
            except Unauthorized:
                return "refused"
    finally:
        await app.close()


async def test_add_prints_the_key_once_list_hides_it_and_revoke_ends_it(tmp_path, clock):
    url = f"sqlite+aiosqlite:///{tmp_path / 'qihu.db'}"
    env = {"QIHU_CONFIG": str(EXAMPLE_CONFIG), "QIHU_DATABASE__URL": url}
    added = qihu("api-client", "add", "hotline-12345", "--scopes", "submit,read,rate", "--source", "12345热线",
                 "--rate", "30", cwd=tmp_path, env=env)
    assert added.returncode == 0, added.stderr
    assert "密钥只显示这一次" in added.stdout and "每分钟 30 次" in added.stdout
    key = re.search(r"qh_\w{8}_\S+", added.stdout).group(0)
    assert await check_key(url, key, clock) == "hotline-12345"

    listed = qihu("api-client", "list", cwd=tmp_path, env=env)
    assert "hotline-12345\trate,read,submit\t12345热线\t每分钟 30 次" in listed.stdout and key not in listed.stdout

    twice = qihu("api-client", "add", "hotline-12345", "--scopes", "read", cwd=tmp_path, env=env)
    assert twice.returncode != 0 and "已存在" in twice.stderr
    bad = qihu("api-client", "add", "x", "--scopes", "read,admin", cwd=tmp_path, env=env)
    assert bad.returncode != 0 and "权限「admin」无效" in bad.stderr and "Traceback" not in bad.stderr
    source = qihu("api-client", "add", "y", "--scopes", "read", "--source", "微信群", cwd=tmp_path, env=env)
    assert source.returncode != 0 and "entry_sources" in source.stderr

    revoked = qihu("api-client", "revoke", "hotline-12345", cwd=tmp_path, env=env)
    assert revoked.returncode == 0 and "已吊销" in revoked.stdout
    assert await check_key(url, key, clock) == "refused"
    assert "已吊销" in qihu("api-client", "list", cwd=tmp_path, env=env).stdout
    unknown = qihu("api-client", "revoke", "nobody", cwd=tmp_path, env=env)
    assert unknown.returncode != 0 and "没有名为「nobody」的客户端" in unknown.stderr


@pytest.mark.parametrize("name", ["Hotline", "a" * 25, "_x", "热线"])
def test_bad_client_names_are_refused_with_the_rule(tmp_path, name):
    env = {"QIHU_CONFIG": str(EXAMPLE_CONFIG), "QIHU_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"}
    result = qihu("api-client", "add", name, "--scopes", "read", cwd=tmp_path, env=env)
    assert result.returncode != 0 and "1–24 位小写字母" in result.stderr
