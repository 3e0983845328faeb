"""Every endpoint under hostile input: never a 5xx, never a stored change from a refused request.

QIHU_FUZZ_EXAMPLES sets the number of cases per property (default: a short run for the normal suite);
docs/benchmarks.md records a long run."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select

from bot import texts
from bot.channels.dingtalk.callback import CALLBACK_PATH
from bot.channels.dingtalk.signing import callback_signature
from bot.channels.telegram_channel import SECRET_HEADER, WEBHOOK_PATH
from bot.config import ChannelsConfig, DingTalkConfig, Settings, TelegramConfig
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import start_app
from tests.fake_servers import FakeDingTalk, FakeTelegram
from tests.fakes import FrozenClock
from tests.integration.api_env import new_key

pytestmark = pytest.mark.smoke
EXAMPLES = int(os.environ.get("QIHU_FUZZ_EXAMPLES", "60"))
APP_SECRET = "test-app-secret"
TG_TOKEN = "123456:TEST-token_abc"
TG_SECRET = "hook-secret_42"
STATIC = Path(__file__).resolve().parents[2] / "bot" / "static"

NASTY = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "'; DROP TABLE appeals; --", "\x00",
         "\u202e\u200b\ufeff", "𠀀𪚥👨‍👩‍👧‍👦", "%s%n{0}{text}", "../../etc/passwd", "查询 QH20261125-0001' OR 1=1",
         "\r\n\r\nHTTP/1.1 200 OK", "帮助" * 3000, "评价 5", "返回", "取消", "撤回 QH1"]
odd_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=300),
                     st.text(alphabet=st.characters(codec="utf-8"), max_size=50))
# Lone surrogates reach a JSON body only as \uXXXX escapes (UTF-8 cannot carry them): as_json writes them so.
json_text = st.one_of(odd_text, st.sampled_from(["\ud800", "企业\udfff", "\udcff查询"]))


def as_json(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


# Numbers as a hostile client writes them (issue 14 §6): digits int() misreads or refuses, values that
# overflow a timestamp or an id, JSON's non-standard constants, NUL.
ODD_NUMBERS = ["²", "١٧٠٠٠٠٠٠٠٠٠٠٠", "１２３", "9" * 25, "9" * 5000, "-5", "1e400", "NaN", "Infinity", "-Infinity",
               "0x10", " 1", "1\x00", "\x00", "", "٣.٣"]
odd_number = st.one_of(st.sampled_from(ODD_NUMBERS), st.integers(min_value=-(10**30), max_value=10**30).map(str),
                       st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=20))
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(), st.just(10**4000), json_text)  # floats: NaN and ±Infinity included
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


raw_body = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"{\"msgId\":", b"\xff\xfe\x00", deep(100_000),
                     b'{"a":' * 5000 + b"1" + b"}" * 5000, b"x" * 70_000, json.dumps({"text": "y" * 80_000}).encode()]),
    json_value.map(as_json),
)


def ding_payload(user: str, text: Any, now_ms: int, msg_id: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": text}, "msgId": msg_id, "createAt": now_ms,
            "conversationType": "1", "conversationId": f"cid-{user}", "senderId": f"$:LWCP_v1:${user}",
            "senderNick": user, "senderStaffId": user, "robotCode": "dingappkey1"}


@st.composite
def ding_case(draw: st.DrawFn) -> dict[str, Any]:
    sig = draw(st.sampled_from(["valid", "valid", "valid", "forged", "replayed", "missing", "garbled", "odd",
                                "reused"]))
    payload = ding_payload(draw(st.sampled_from(["u1", "u2", "x" * 500, "", "$:LWCP", "u\x001", "u\udfff"])),
                           draw(json_text), 0,
                           draw(st.one_of(st.text(max_size=20), st.just("dup-1"))))
    for key in draw(st.lists(st.sampled_from(sorted(payload)), max_size=3)):
        if draw(st.booleans()):
            payload.pop(key, None)
        else:
            payload[key] = draw(json_value)
    if draw(st.booleans()):
        payload["msgtype"] = draw(st.sampled_from(["picture", "richText", "audio", "file", "video", "text", "?"]))
        payload["content"] = draw(json_value)
    body = as_json(payload) if draw(st.integers(0, 4)) else draw(raw_body)
    return {"kind": "dingtalk", "sig": sig, "body": body, "odd": draw(odd_number)}


@st.composite
def telegram_case(draw: st.DrawFn) -> dict[str, Any]:
    secret = draw(st.sampled_from([TG_SECRET, TG_SECRET, "wrong", "", None]))
    update: Any = {"update_id": draw(st.one_of(st.integers(0, 2**40), json_value)),
                   "message": {"message_id": 1, "date": 1700000000, "text": draw(json_text),
                               "chat": {"id": 42, "type": "private"},
                               "from": {"id": draw(st.one_of(st.just(42), json_value)), "is_bot": False,
                                        "first_name": "张"}}}
    if draw(st.booleans()):
        update["message"] = draw(json_value)
    body = as_json(update) if draw(st.integers(0, 3)) else draw(raw_body)
    return {"kind": "telegram", "secret": secret, "body": body}


# Portal tokens "<expires>.<hex signature>" with odd expiries and signatures (non-ASCII, too short, NUL).
portal_token = st.one_of(
    st.tuples(odd_number, st.one_of(st.just("a" * 64), st.text(max_size=70))).map(lambda p: f"{p[0]}.{p[1]}"),
    st.sampled_from(["².ab", "1700000000.签名", "." + "a" * 64, "1" * 5000 + "." + "a" * 64, "x", ""]),
    st.text(max_size=80))
# Sent as if through our reverse proxy: no demo mode, the portal token is required.
PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7"}


@st.composite
def web_case(draw: st.DrawFn) -> dict[str, Any]:
    payload: Any = {"user": draw(st.one_of(st.sampled_from(["ent-9", "staff:chen-dispatch", "staff:nobody"]),
                                           json_value)),
                    "text": draw(st.one_of(json_text, json_value)),
                    "client_msg_id": draw(st.one_of(st.none(), st.text(max_size=80), json_value))}
    if draw(st.booleans()):
        payload["token"] = draw(portal_token)
    body = as_json(payload) if draw(st.integers(0, 3)) else draw(raw_body)
    return {"kind": "web", "body": body, "proxied": draw(st.booleans())}


@st.composite
def get_case(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(["/healthz", "/api/web/config", "/api/web/messages", "/", "/nope", "/static/..%2f"]))
    query = draw(st.dictionaries(st.sampled_from(["user", "after", "token"]), st.text(max_size=30), max_size=3))
    if draw(st.booleans()):
        query["after"] = draw(odd_number)
    if draw(st.booleans()):
        query["token"] = draw(portal_token)
    return {"kind": "get", "path": path, "query": query, "proxied": draw(st.booleans())}


@st.composite
def api_case(draw: st.DrawFn) -> dict[str, Any]:
    """Other systems' calls (issue 16): /api/v1 JSON and Open311 forms, with a good, wrong or no key."""
    key = draw(st.sampled_from(["good", "good", "good", "wrong", "none"]))
    if draw(st.booleans()):
        fields = {"company": "示范精密机械有限公司", "uscc": "91330825MA2DH4KX39", "contact": "张伟",
                  "phone": "13800138000", "area": "溪口", "text": "补贴至今没有拨付到账，请帮忙催一下进度",
                  "external_id": draw(st.sampled_from(["T-1", "T-2"]))}
        for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3)):
            fields[name] = draw(json_value)
        body = as_json(fields) if draw(st.integers(0, 3)) else draw(raw_body)
        path = draw(st.sampled_from(["/api/v1/appeals", "/api/v1/webhooks", "/api/v1/appeals/QH20261125-0001/ratings"]))
        return {"kind": "api", "path": path, "key": key, "body": body}
    form = {"service_code": draw(st.sampled_from(["水电气能源", "", "不存在"])), "description": draw(odd_text),
            "address_string": draw(st.sampled_from(["溪口镇", "火星", ""])), "last_name": draw(odd_text),
            "phone": draw(st.sampled_from(["13800138000", "123", ""])), "attribute[company]": draw(odd_text),
            "attribute[uscc]": draw(st.sampled_from(["91330825MA2DH4KX39", "x"])),
            "attribute[external_id]": draw(st.sampled_from(["", "O-1", "中文", "x" * 100]))}
    return {"kind": "open311", "path": "/open311/v2/requests.json", "key": key, "form": form}


@st.composite
def api_get_case(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(["/api/v1/appeals", "/api/v1/appeals/QH20261125-0001/timeline", "/api/v1/openapi.json",
                                 "/open311/v2/requests.json", "/open311/v2/services.json", "/api/v1/webhooks/x"]))
    query = draw(st.dictionaries(st.sampled_from(["cursor", "limit", "status", "start_date", "service_request_id"]),
                                 st.text(max_size=30), max_size=3))
    return {"kind": "api_get", "path": path, "key": draw(st.sampled_from(["good", "wrong", "none"])), "query": query}


any_case = st.one_of(ding_case(), telegram_case(), web_case(), get_case(), api_case(), api_get_case())


class FuzzEnv:
    """The real app with every channel on, served on 127.0.0.1, plus a count of every stored row."""

    def __init__(self, settings: Settings, clock: FrozenClock) -> None:
        self.base = settings
        self.clock = clock
        self.statuses: Counter[int] = Counter()

    async def start(self) -> FuzzEnv:
        self.ding = await FakeDingTalk().start()
        self.tg = await FakeTelegram(TG_TOKEN, self.clock).start()
        webchat = self.base.webchat.model_copy(update={"portal_secret": SecretStr("fuzz-portal-secret")})
        channels = ChannelsConfig(
            dingtalk=DingTalkConfig(enabled=True, app_key="dingappkey1", app_secret=SecretStr(APP_SECRET),
                                    api_base=self.ding.url, ack_seconds=30),
            telegram=TelegramConfig(enabled=True, token=SecretStr(TG_TOKEN), webhook_secret=SecretStr(TG_SECRET),
                                    base_url=self.tg.base_url))
        self.app = await start_app(self.base.model_copy(update={"channels": channels, "webchat": webchat}), self.clock)
        self.signed = 0
        self.last_pair: dict[str, str] = {}
        self.client = TestClient(TestServer(make_web_app(self.app), host="127.0.0.1"))
        await self.client.start_server()
        self.keys = {"good": await new_key(self.app, scopes="submit,read,rate"), "wrong": "qh_12345678_x", "none": ""}
        return self

    async def close(self) -> None:
        await self.client.close()
        await self.app.close()
        await self.ding.close()
        await self.tg.close()

    async def snapshot(self) -> dict[str, int]:
        for channel in self.app.channels:
            if hasattr(channel, "drain"):
                await channel.drain()
        async with self.app.database.engine.connect() as conn:
            return {table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                    for table in t.metadata.sorted_tables}

    async def send(self, case: dict[str, Any]) -> tuple[int, str]:
        now_ms = int(self.clock.now().timestamp() * 1000)
        proxy = PROXY_HEADERS if case.get("proxied") else {}
        if case["kind"] == "get":
            resp = await self.client.get(case["path"], params=case["query"], headers=proxy)
        elif case["kind"] in ("api", "api_get", "open311"):
            headers = {"Authorization": f"Bearer {self.keys[case['key']]}"} if case["key"] != "none" else {}
            if case["kind"] == "api_get":
                resp = await self.client.get(case["path"], params=case["query"], headers=headers)
            elif case["kind"] == "api":
                resp = await self.client.post(case["path"], data=case["body"],
                                              headers={**headers, "Content-Type": "application/json"})
            else:
                resp = await self.client.post(case["path"], data={**case["form"], "api_key": self.keys[case["key"]]})
        elif case["kind"] == "dingtalk":
            # DingTalk signs each callback as it sends it: one millisecond apart while the clock stands still.
            self.signed += 1
            ts = {"valid": now_ms - self.signed, "forged": now_ms, "replayed": now_ms - 2 * 3600 * 1000,
                  "missing": None, "garbled": None, "odd": None, "reused": None}[case["sig"]]
            headers = {"Content-Type": "application/json"}
            if ts is not None:
                sign = callback_signature(APP_SECRET if case["sig"] != "forged" else "guess", str(ts))
                headers |= {"timestamp": str(ts), "sign": sign}
                if case["sig"] == "valid":
                    self.last_pair = {"timestamp": str(ts), "sign": sign}
            elif case["sig"] == "garbled":
                headers |= {"timestamp": "12ab", "sign": "%%%"}
            elif case["sig"] == "odd":
                # aiohttp sends header values as UTF-8 and refuses NUL and newlines in them.
                odd = case["odd"].replace("\x00", "").replace("\n", "")
                headers |= {"timestamp": odd, "sign": callback_signature(APP_SECRET, odd)}
            elif case["sig"] == "reused":
                headers |= self.last_pair  # an earlier message's pair on this body: refused unless same msgId
            resp = await self.client.post(CALLBACK_PATH, data=case["body"], headers=headers)
        elif case["kind"] == "telegram":
            headers = {"Content-Type": "application/json"}
            if case["secret"] is not None:
                headers[SECRET_HEADER] = case["secret"]
            resp = await self.client.post(WEBHOOK_PATH, data=case["body"], headers=headers)
        else:
            resp = await self.client.post("/api/web/messages", data=case["body"],
                                          headers={"Content-Type": "application/json"} | proxy)
        body = await resp.text()
        self.statuses[resp.status] += 1
        return resp.status, body

    async def check(self, case: dict[str, Any]) -> None:
        before = await self.snapshot()
        status, body = await self.send(case)
        after = await self.snapshot()
        assert status < 500, (status, body[:300], case)
        if status >= 400:
            assert before == after, ("a refused request changed the database", status, body[:200], case)
            # A reason, in Chinese, for the machine's log; Open311 in the spec's [{"code", "description"}].
            if body.startswith(("{", "[")):
                answer = json.loads(body)
                assert answer.get("error") if isinstance(answer, dict) else answer[0]["description"], body[:200]
            else:
                assert status in (404, 405), body[:200]
        assert texts.GENERIC_FAILURE not in body, ("a turn failed inside", case)


def run_property(settings_: Settings, clock: FrozenClock, strategy: st.SearchStrategy, name: str) -> None:
    loop = asyncio.new_event_loop()
    env = loop.run_until_complete(FuzzEnv(settings_, clock).start())
    started = time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=strategy)
    def prop(case: dict[str, Any]) -> None:
        loop.run_until_complete(env.check(case))

    try:
        prop()
    finally:
        loop.run_until_complete(env.close())
        loop.close()
    # Visible with -s: the run's size for docs/benchmarks.md.
    print(f"\nfuzz {name}: {sum(env.statuses.values())} requests in {time.perf_counter() - started:.1f} s, "
          f"statuses {dict(sorted(env.statuses.items()))}")


def test_fuzz_every_endpoint(settings: Settings, clock: FrozenClock) -> None:
    run_property(settings, clock, any_case, "endpoints")


def test_fuzz_dingtalk_dialogue(settings: Settings, clock: FrozenClock) -> None:
    """Validly signed messages with odd text walk the dialogue: every one is answered, none fails inside."""
    run_property(settings, clock, ding_case().filter(lambda c: c["sig"] == "valid"), "dingtalk dialogue")


def test_web_chat_shows_text_only_as_text() -> None:
    """Injection in text is harmless on the page only if the page never parses it as HTML."""
    script = (STATIC / "chat.js").read_text(encoding="utf-8")
    assert "textContent" in script
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)
