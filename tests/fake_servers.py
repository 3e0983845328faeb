"""Fake DingTalk, 浙政钉 gateway and Telegram Bot API servers: real aiohttp servers on 127.0.0.1 that
check what they receive (tokens, signatures, field types) and answer like the real ones, errors included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.dingtalk.signing import zzd_signature

Reply = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, headers
RECORD_THEN_500 = "record_then_500"  # the send went through but the answer was lost


def _reply(entry: Reply) -> web.Response:
    status, body, headers = entry
    return web.json_response(body, status=status, headers=headers)


class _Server:
    def __init__(self) -> None:
        self.app = web.Application()
        self.server: TestServer | None = None

    async def start(self) -> _Server:
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


SAMPLE_PARAMS = {"sampleText": {"content"}, "sampleMarkdown": {"title", "text"}}


@dataclass
class Delivered:
    via: str  # session, batch, group, zzd
    to: str
    msg: dict[str, Any]


@dataclass
class FakeDingTalkState:
    app_key: str
    app_secret: str
    tokens: set[str] = field(default_factory=set)
    token_calls: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    failures: list[Any] = field(default_factory=list)  # Reply or RECORD_THEN_500, used by send endpoints
    invalid_users: set[str] = field(default_factory=set)
    flow_controlled_once: set[str] = field(default_factory=set)
    dead_sessions: set[str] = field(default_factory=set)
    biz_ids: set[str] = field(default_factory=set)
    batch_sizes: list[int] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why requests were refused (for assertions)
    directory: dict[str, str] = field(default_factory=dict)  # mobile → userid (浙政钉: accountId)
    lookups: list[str] = field(default_factory=list)  # mobiles looked up, in order
    lookup_failures: list[Reply] = field(default_factory=list)  # scripted answers to the next lookups


class FakeDingTalk(_Server):
    """Public DingTalk (oauth2, batchSend, groupMessages, sendBySession, getbymobile) and the 浙政钉 gateway
    (/gettoken.json, /message/workNotification, get_by_mobiles with X-Hmac-Auth signature checks) on one server."""

    def __init__(self, app_key: str = "dingappkey1", app_secret: str = "test-app-secret") -> None:
        super().__init__()
        self.state = FakeDingTalkState(app_key, app_secret)
        self.app.add_routes([
            web.post("/v1.0/oauth2/accessToken", self.access_token),
            web.post("/v1.0/robot/oToMessages/batchSend", self.batch_send),
            web.post("/v1.0/robot/groupMessages/send", self.group_send),
            web.post("/robot/sendBySession", self.send_by_session),
            web.get("/gettoken.json", self.zzd_token),
            web.post("/message/workNotification", self.zzd_work_notification),
            web.post("/topapi/v2/user/getbymobile", self.get_by_mobile),
            web.post("/mozi/employee/get_by_mobiles", self.zzd_get_by_mobiles),
        ])

    def session_url(self, session: str) -> str:
        return f"{self.url}/robot/sendBySession?session={session}"

    def revoke_tokens(self) -> None:
        self.state.tokens.clear()

    def _bad(self, status: int, code: str, message: str = "") -> web.Response:
        self.state.rejected.append(code)
        return web.json_response({"code": code, "message": message or code, "requestid": "fake"}, status=status)

    def _failure(self) -> Any:
        return self.state.failures.pop(0) if self.state.failures else None

    async def access_token(self, request: web.Request) -> web.Response:
        self.state.token_calls += 1
        body = await request.json()
        if body.get("appKey") != self.state.app_key or body.get("appSecret") != self.state.app_secret:
            return self._bad(400, "invalidClientIdOrSecret")
        token = f"tok-{self.state.token_calls}"
        self.state.tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    def _check_common(self, request: web.Request, body: dict[str, Any]) -> web.Response | dict[str, Any]:
        if request.headers.get("x-acs-dingtalk-access-token") not in self.state.tokens:
            return self._bad(401, "InvalidAuthentication", "不合法的access_token")
        if not isinstance(body.get("robotCode"), str) or not body["robotCode"]:
            return self._bad(400, "invalidParameter.robotCode.empty")
        key, param = body.get("msgKey"), body.get("msgParam")
        if key not in SAMPLE_PARAMS:
            return self._bad(400, "invalidParameter.msgKey.invalid")
        if not isinstance(param, str):  # the real API wants a JSON *string* here
            return self._bad(400, "invalidParameter.msgParam.invalid", "msgParam must be a string")
        try:
            decoded = json.loads(param)
        except json.JSONDecodeError:
            return self._bad(400, "invalidParameter.msgParam.invalid")
        if not isinstance(decoded, dict) or not SAMPLE_PARAMS[key] <= set(decoded):
            return self._bad(400, "invalidParameter.msgParam.invalid", "fields missing")
        return decoded

    async def batch_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        checked = self._check_common(request, body)
        if isinstance(checked, web.Response):
            return checked
        users = body.get("userIds")
        if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
            return self._bad(400, "invalidParameter.userIds.invalid")
        if len(users) > 20:
            return self._bad(400, "invalidParameter.userIds.overMax")
        failure = self._failure()
        if failure is not None and failure != RECORD_THEN_500:
            return _reply(failure)
        self.state.batch_sizes.append(len(users))
        invalid = [u for u in users if u in self.state.invalid_users]
        throttled = [u for u in users if u in self.state.flow_controlled_once]
        self.state.flow_controlled_once -= set(throttled)
        for user in users:
            if user not in invalid and user not in throttled:
                self.state.delivered.append(Delivered("batch", user, {"msgKey": body["msgKey"]} | checked))
        if failure == RECORD_THEN_500:
            return web.json_response({"code": "ServiceUnavailable"}, status=500)
        return web.json_response({"processQueryKey": "pqk", "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": throttled})

    async def group_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        checked = self._check_common(request, body)
        if isinstance(checked, web.Response):
            return checked
        if not isinstance(body.get("openConversationId"), str):
            return self._bad(400, "invalidParameter.openConversationId.empty")
        failure = self._failure()
        if failure is not None:
            return _reply(failure)
        msg = {"msgKey": body["msgKey"]} | checked
        self.state.delivered.append(Delivered("group", body["openConversationId"], msg))
        return web.json_response({"processQueryKey": "pqk"})

    async def send_by_session(self, request: web.Request) -> web.Response:
        session = request.query.get("session", "")
        body = await request.json()
        if session in self.state.dead_sessions:
            return web.json_response({"errcode": 300005, "errmsg": "token is not exist"})
        kind = body.get("msgtype")
        ok = (kind == "text" and isinstance(body.get("text", {}).get("content"), str)) or (
            kind == "markdown" and isinstance(body.get("markdown", {}).get("text"), str)
            and isinstance(body["markdown"].get("title"), str))
        if not ok:
            return web.json_response({"errcode": 400105, "errmsg": "不支持的消息类型"})
        failure = self._failure()
        if failure is not None:
            return _reply(failure)
        self.state.delivered.append(Delivered("session", session, body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def get_by_mobile(self, request: web.Request) -> web.Response:
        """oapi topapi/v2/user/getbymobile: the token in the query, {"mobile"} in the body; 60121 when
        nobody in the org has that mobile (DingTalk's USER_NOT_FOUND)."""
        if request.query.get("access_token") not in self.state.tokens:
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        body = await request.json()
        mobile = body.get("mobile") if isinstance(body, dict) else None
        if not isinstance(mobile, str) or not mobile.isdigit():
            return web.json_response({"errcode": 40035, "errmsg": "不合法的参数"})
        self.state.lookups.append(mobile)
        if self.state.lookup_failures:
            return _reply(self.state.lookup_failures.pop(0))
        userid = self.state.directory.get(mobile)
        if userid is None:
            return web.json_response({"errcode": 60121, "errmsg": "找不到该用户", "request_id": "fake"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": {"userid": userid,
                                                                           "exclusive_account_userid_list": []}})

    # ---- 浙政钉 gateway ----

    async def zzd_get_by_mobiles(self, request: web.Request) -> web.Response:
        """/mozi/employee/get_by_mobiles: signed form, tenantId and mobiles (comma-separated); the data
        list leaves out a mobile the tenant does not know."""
        params = list((await request.post()).items())
        refused = self._zzd_verify(request, params)  # type: ignore[arg-type]
        if refused is not None:
            return refused
        form = dict(params)
        if form.get("access_token") not in self.state.tokens:
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "240112",
                                                                   "responseMessage": "access_token无效"}})
        if not form.get("tenantId") or not form.get("mobiles") or form.get("areaCode") != "86":
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "400",
                                                                   "responseMessage": "参数错误"}})
        mobiles = str(form["mobiles"]).split(",")
        self.state.lookups += mobiles
        if self.state.lookup_failures:
            return _reply(self.state.lookup_failures.pop(0))
        data = [{"accountId": int(self.state.directory[m]), "mobile": m, "employeeCode": f"GE_{m}", "status": 0}
                for m in mobiles if m in self.state.directory]
        return web.json_response({"success": True, "content": {"success": True, "data": data, "responseCode": "0",
                                                               "responseMessage": "OK"}})

    def _zzd_verify(self, request: web.Request, params: list[tuple[str, str]]) -> web.Response | None:
        h = request.headers
        needed = ("apiKey", "X-Hmac-Auth-Timestamp", "X-Hmac-Auth-Nonce", "X-Hmac-Auth-Signature",
                  "X-Hmac-Auth-Version")
        if any(not h.get(k) for k in needed) or h["apiKey"] != self.state.app_key:
            self.state.rejected.append("headers")
            return web.json_response({"success": False, "Code": "OPF-B001-05-16-0001", "Message": "MissingHeaders"})
        expected = zzd_signature(self.state.app_secret, request.method, h["X-Hmac-Auth-Timestamp"],
                                 h["X-Hmac-Auth-Nonce"], request.path, params)
        if expected != h["X-Hmac-Auth-Signature"]:
            self.state.rejected.append("SignatureDoesNotMatch")
            return web.json_response({"success": False, "Code": "OPF-B001-05-16-0009",
                                      "Message": "SignatureDoesNotMatch"})
        return None

    async def zzd_token(self, request: web.Request) -> web.Response:
        params = list(request.query.items())
        refused = self._zzd_verify(request, params)
        if refused is not None:
            return refused
        self.state.token_calls += 1
        q = dict(params)
        if q.get("appkey") != self.state.app_key or q.get("appsecret") != self.state.app_secret:
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "240111",
                                                                   "responseMessage": "appkey或appsecret错误"}})
        token = f"zzd-tok-{self.state.token_calls}"
        self.state.tokens.add(token)
        return web.json_response({"success": True, "content": {
            "success": True, "responseCode": "0", "responseMessage": "OK",
            "data": {"accessToken": token, "expiresIn": "7200"}}})

    async def zzd_work_notification(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return web.json_response({"success": False, "Code": "ContentType"}, status=400)
        params = list((await request.post()).items())
        refused = self._zzd_verify(request, params)  # type: ignore[arg-type]
        if refused is not None:
            return refused
        form = dict(params)
        if form.get("access_token") not in self.state.tokens:
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "240112",
                                                                   "responseMessage": "access_token无效"}})
        msg = json.loads(str(form.get("msg", "null")))
        if not form.get("tenantId") or not form.get("receiverIds") or not isinstance(msg, dict) \
                or len(str(form["msg"]).encode()) > 2048:
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "400",
                                                                   "responseMessage": "参数错误"}})
        failure = self._failure()
        if failure is not None and failure != RECORD_THEN_500:
            return _reply(failure)
        biz = str(form.get("bizMsgId", ""))
        if biz and biz in self.state.biz_ids:
            return web.json_response({"success": True, "content": {"success": False, "responseCode": "15001",
                                                                   "responseMessage": "bizMsgId重复"}})
        self.state.biz_ids.add(biz)
        for receiver in str(form["receiverIds"]).split(","):
            self.state.delivered.append(Delivered("zzd", receiver, msg))
        if failure == RECORD_THEN_500:
            return web.json_response({"success": False}, status=500)
        return web.json_response({"success": True, "content": {"success": True, "data": f"m-{biz}",
                                                               "responseCode": "0"}})


@dataclass
class TelegramCall:
    method: str
    params: dict[str, Any]


class FakeTelegram(_Server):
    """Bot API at {url}/bot<token>/<method>: form bodies as PTB sends them, JSON answers, flood limits
    (one message a second per chat, by the given clock) and scripted failures for sendMessage."""

    def __init__(self, token: str, clock: Any) -> None:
        super().__init__()
        self.token = token
        self.clock = clock
        self.calls: list[TelegramCall] = []
        self.failures: list[Reply] = []
        self.updates: list[dict[str, Any]] = []
        self.flood_refusals = 0
        self._last_sent: dict[str, Any] = {}
        self._message_id = 100
        self.app.router.add_post("/bot{token}/{method}", self.handle)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == "sendMessage"
                and (chat_id is None or str(c.params["chat_id"]) == str(chat_id))]

    def answered(self) -> list[str]:
        return [c.params["callback_query_id"] for c in self.calls if c.method == "answerCallbackQuery"]

    @staticmethod
    def _error(status: int, description: str, **params: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if params:
            body["parameters"] = params
        return web.json_response(body, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = dict(await request.post()) if request.can_read_body else {}
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        return await handler(params)

    async def m_getMe(self, params: dict[str, Any]) -> web.Response:
        return web.json_response({"ok": True, "result": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                                         "first_name": "企呼", "username": "qihu_bot"}})

    async def m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id, text = params.get("chat_id"), params.get("text")
        if not chat_id or not isinstance(text, str) or not text:
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        if "reply_markup" in params:
            markup = json.loads(str(params["reply_markup"]))  # objects arrive as JSON strings in the form
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        if self.failures:
            return _reply(self.failures.pop(0))
        now = self.clock.now()
        last = self._last_sent.get(str(chat_id))
        if last is not None and (now - last).total_seconds() < 1:
            self.flood_refusals += 1
            return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
        self._last_sent[str(chat_id)] = now
        self.calls.append(TelegramCall("sendMessage", params))
        self._message_id += 1
        return web.json_response({"ok": True, "result": {
            "message_id": self._message_id, "date": int(now.timestamp()),
            "chat": {"id": int(chat_id), "type": "private"}, "text": text}})

    def documents(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Each document sent: caption, file name and the uploaded bytes."""
        return [c.params for c in self.calls if c.method == "sendDocument" and str(c.params["chat_id"]) == str(chat_id)]

    async def m_sendDocument(self, params: dict[str, Any]) -> web.Response:
        chat_id, document = params.get("chat_id"), params.get("document")
        if not chat_id or not hasattr(document, "file"):  # an uploaded file arrives as a multipart part
            return self._error(400, "Bad Request: there is no document in the request")
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        self.calls.append(TelegramCall("sendDocument", {"chat_id": chat_id, "caption": caption,
                                                        "filename": document.filename, "data": document.file.read()}))
        self._message_id += 1
        return web.json_response({"ok": True, "result": {
            "message_id": self._message_id, "date": int(self.clock.now().timestamp()),
            "chat": {"id": int(chat_id), "type": "private"},
            "document": {"file_id": f"doc-{self._message_id}", "file_unique_id": f"u{self._message_id}",
                         "file_name": document.filename}}})

    async def m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        if not params.get("callback_query_id"):
            return self._error(400, "Bad Request: query id is empty")
        self.calls.append(TelegramCall("answerCallbackQuery", params))
        return web.json_response({"ok": True, "result": True})

    async def m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.calls.append(TelegramCall("setWebhook", params))
        return web.json_response({"ok": True, "result": True})

    async def m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.calls.append(TelegramCall("deleteWebhook", params))
        return web.json_response({"ok": True, "result": True})

    async def m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset", 0) or 0)
        pending = [u for u in self.updates if u["update_id"] >= offset]
        self.updates = pending
        return web.json_response({"ok": True, "result": pending})


class ReverseProxy(_Server):
    """A reverse proxy on 127.0.0.1 in front of qihu, as the deployment docs recommend: every request
    reaches qihu from loopback. `headers` are what the proxy adds (nginx's usual X-Forwarded-For /
    X-Real-IP, or Forwarded); `host` is the public name it passes on as Host (None: the upstream's)."""

    def __init__(self, upstream: str, headers: dict[str, str] | None = None, host: str | None = None) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.extra = headers if headers is not None else {"X-Forwarded-For": "203.0.113.7",
                                                           "X-Real-IP": "203.0.113.7",
                                                           "X-Forwarded-Proto": "https"}
        self.host = host
        self.app.router.add_route("*", "/{tail:.*}", self.relay)

    async def relay(self, request: web.Request) -> web.Response:
        import aiohttp
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        headers |= self.extra
        if self.host is not None:
            headers["Host"] = self.host
        async with aiohttp.ClientSession() as session, session.request(
                request.method, self.upstream + request.path_qs, headers=headers, data=await request.read(),
                allow_redirects=False) as upstream:
            body = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
            return web.Response(status=upstream.status, body=body, headers=kept)
