"""A qihu app with the DingTalk channel enabled, served on 127.0.0.1, plus a person who talks to it."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.bootstrap import App
from bot.channels.dingtalk.callback import CALLBACK_PATH
from bot.channels.dingtalk.channel import DingTalkChannel
from bot.channels.dingtalk.signing import callback_signature
from bot.config import ChannelsConfig, DingTalkConfig, Settings
from bot.server import make_web_app
from tests.conftest import start_app
from tests.fake_servers import FakeDingTalk
from tests.fakes import FrozenClock

APP_KEY = "dingappkey1"
APP_SECRET = "test-app-secret"
SESSION_LIFE_MS = 90 * 60 * 1000


def ding_settings(settings: Settings, fake: FakeDingTalk, **kw: Any) -> Settings:
    cfg = DingTalkConfig(enabled=True, app_key=APP_KEY, app_secret=SecretStr(APP_SECRET), api_base=fake.url,
                         session_webhook_prefixes=[fake.url + "/"], ack_seconds=30, **kw)
    return settings.model_copy(update={"channels": ChannelsConfig(dingtalk=cfg)})


@dataclass
class DingEnv:
    app: App
    client: TestClient
    fake: FakeDingTalk
    clock: FrozenClock
    sent: int = 0  # callbacks signed so far

    @property
    def channel(self) -> DingTalkChannel:
        return self.app.channels[0]

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def signed_headers(self, timestamp: int | None = None) -> dict[str, str]:
        """DingTalk signs each callback when it sends it: while the test's clock stands still, each
        one is signed a millisecond earlier than the last, so no two share a (timestamp, sign) pair."""
        if timestamp is None:
            self.sent += 1
            timestamp = self.now_ms() - self.sent
        ts = str(timestamp)
        return {"timestamp": ts, "sign": callback_signature(APP_SECRET, ts)}

    async def close(self) -> None:
        await self.client.close()
        await self.app.close()


async def make_env(settings: Settings, clock: FrozenClock, fake: FakeDingTalk, **kw: Any) -> DingEnv:
    app = await start_app(ding_settings(settings, fake, **kw), clock)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    return DingEnv(app, client, fake, clock)


def delivered_text(msg: dict[str, Any]) -> str:
    if "msgKey" in msg:
        return msg.get("content") or msg.get("text", "")
    if msg.get("msgtype") == "markdown":
        return msg["markdown"]["text"]
    return msg["text"]["content"]


LINK = re.compile(r"\[([^\]]*)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]*)\)")


class DingUser:
    """One person in DingTalk: say() posts a signed callback and returns what the bot answered them."""

    def __init__(self, env: DingEnv, staff_id: str, nick: str = "张三") -> None:
        self.env = env
        self.staff_id = staff_id
        self.nick = nick
        self.session = f"s-{staff_id}"
        self.seen = 0
        self.links: dict[str, str] = {}  # label → text a tap sends back

    def payload(self, said: str, msg_id: str | None = None, /, **over: Any) -> dict[str, Any]:
        now = self.env.now_ms()
        body = {
            "msgtype": "text", "text": {"content": f" {said}"}, "msgId": msg_id or f"msg{uuid.uuid4().hex}==",
            "createAt": now, "conversationType": "1", "conversationId": f"cid-{self.staff_id}==",
            "senderId": f"$:LWCP_v1:${self.staff_id}", "senderNick": self.nick, "senderCorpId": "dingcorp1",
            "senderStaffId": self.staff_id, "chatbotUserId": "$:LWCP_v1:$bot", "chatbotCorpId": "dingcorp1",
            "robotCode": APP_KEY, "isAdmin": False, "isInAtList": True,
            "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
            "sessionWebhook": self.env.fake.session_url(self.session),
            "sessionWebhookExpiredTime": now + SESSION_LIFE_MS,
        }
        body.update(over)
        return body

    async def post(self, payload: dict[str, Any], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        headers = self.env.signed_headers() if headers is None else headers
        return await self.env.client.post(CALLBACK_PATH, data=json.dumps(payload, ensure_ascii=False),
                                          headers=headers | {"Content-Type": "application/json; charset=utf-8"})

    async def replies(self) -> str:
        await self.env.channel.drain()
        await self.env.app.outbox.run_once()
        mine = [d for d in self.env.fake.state.delivered if d.to in (self.session, self.staff_id)]
        new, self.seen = mine[self.seen:], len(mine)
        text = "\n".join(delivered_text(d.msg) for d in new)
        self.links = {label: unquote(value) for label, value in LINK.findall(text)}
        return text

    async def say(self, said: str, msg_id: str | None = None, /, **over: Any) -> str:
        resp = await self.post(self.payload(said, msg_id, **over))
        assert resp.status == 200, await resp.text()
        return await self.replies()

    async def tap(self, label_start: str) -> str:
        """Tap the one-tap link whose label starts with `label_start`: the client sends its content."""
        matches = [v for k, v in self.links.items() if k.startswith(label_start)]
        assert matches, f"no link {label_start!r} in {list(self.links)}"
        return await self.say(matches[0])
