"""A fake DingTalk Stream gateway on 127.0.0.1: POST /v1.0/gateway/connections/open hands out a ticket, and a
real websocket speaks the frames as the dingtalk-stream SDK expects them (channels.md §3): a SYSTEM ping,
CALLBACK frames on topic /v1.0/im/bot/messages/get, and acks checked field by field. A frame stays pending
until it is acknowledged and is sent again on every new connection; the socket can be dropped mid-load."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOPIC = "/v1.0/im/bot/messages/get"


class FakeStreamGateway:
    """Add to a fake server's aiohttp app before it starts (the same server as the OpenAPI, as at DingTalk)."""

    def __init__(self, app: web.Application, app_key: str, app_secret: str) -> None:
        app.add_routes([web.post("/v1.0/gateway/connections/open", self.open),
                        web.get("/gateway/connect", self.connect)])
        self.app_key = app_key
        self.app_secret = app_secret
        self.opens: list[dict[str, Any]] = []  # connections/open bodies, in order
        self.open_failures = 0  # answer this many opens with 503 first
        self.tickets: set[str] = set()
        self.connections = 0
        self.live: set[web.WebSocketResponse] = set()
        self.drops: list[int] = []  # connection n drops its socket after sending drops[n-1] callback frames
        self.pending: dict[str, dict[str, Any]] = {}  # frame id → frame, until acked (insertion order kept)
        self.acks: Counter[str] = Counter()  # frame id → acks received
        self.codes: dict[str, int] = {}  # frame id → code of its last ack
        self.ping_acks = 0
        self.bad_acks: list[str] = []  # why an ack did not match the SDK's format
        self.sent: list[str] = []  # frame ids in the order they went out, re-sends included
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self.all_acked = asyncio.Event()

    # ---- what the test does ----

    def push(self, payload: dict[str, Any]) -> str:
        """A robot message, as DingTalk would deliver it; returns the frame id."""
        frame_id = f"frame-{next(self._ids)}"
        self.pending[frame_id] = {
            "specVersion": "1.0", "type": "CALLBACK",
            "headers": {"appId": "app-1", "connectionId": "conn", "contentType": "application/json",
                        "messageId": frame_id, "time": "1700000000000", "topic": BOT_TOPIC},
            "data": json.dumps(payload, ensure_ascii=not _utf8(payload)),  # a lone surrogate only as \uXXXX
        }
        self.all_acked.clear()
        self._wake.set()
        return frame_id

    async def disconnect(self) -> None:
        """The gateway's own SYSTEM disconnect: the client closes and connects again."""
        for ws in list(self.live):
            await ws.send_str(json.dumps(self._system("disconnect", {})))

    # ---- the gateway ----

    async def open(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.opens.append(body)
        if self.open_failures:
            self.open_failures -= 1
            return web.json_response({"code": "ServiceUnavailable"}, status=503)
        if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
            return web.json_response({"code": "InvalidAuthentication", "message": "clientId/clientSecret"},
                                     status=401)
        subscriptions = body.get("subscriptions")
        if not isinstance(subscriptions, list) or {"type": "CALLBACK", "topic": BOT_TOPIC} not in subscriptions:
            return web.json_response({"code": "invalidParameter.subscriptions"}, status=400)
        if not isinstance(body.get("ua"), str) or "localIp" not in body:
            return web.json_response({"code": "invalidParameter"}, status=400)
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return web.json_response({"endpoint": f"ws://{request.host}/gateway/connect", "ticket": ticket})

    async def connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.json_response({"code": "InvalidTicket"}, status=401)
        self.tickets.discard(ticket)  # a ticket opens one connection
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        drop = self.drops[self.connections - 1] if self.connections <= len(self.drops) else None
        self.live.add(ws)
        await ws.send_str(json.dumps(self._system("ping", {"opaque": f"op-{self.connections}"})))
        pusher = asyncio.create_task(self._push(ws, request, drop))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._ack(message.data)
        finally:
            self.live.discard(ws)
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
        return ws

    async def _push(self, ws: web.WebSocketResponse, request: web.Request, drop: int | None) -> None:
        """Every pending frame, in order, then each new one as it is pushed; all again on the next connection."""
        sent_here: set[str] = set()
        while not ws.closed:
            for frame_id, frame in list(self.pending.items()):
                if frame_id in sent_here or frame_id not in self.pending:
                    continue
                await ws.send_str(json.dumps(frame, ensure_ascii=False))
                sent_here.add(frame_id)
                self.sent.append(frame_id)
                if drop is not None and len(sent_here) >= drop:
                    assert request.transport is not None
                    request.transport.close()  # dropped, no close frame: acks in flight are lost
                    return
            self._wake.clear()
            await self._wake.wait()

    def _ack(self, raw: str) -> None:
        ack = json.loads(raw)
        headers = ack.get("headers") or {}
        frame_id = headers.get("messageId", "")
        if not isinstance(ack.get("code"), int) or not isinstance(ack.get("data"), str):
            self.bad_acks.append(f"{frame_id}: code/data types")
            return
        json.loads(ack["data"])  # the SDK sends data as a JSON *string*
        if frame_id.startswith("sys-"):
            self.ping_acks += 1
            return
        known = frame_id in self.pending or frame_id in self.codes  # a late second ack of a frame is fine
        if headers.get("contentType") != "application/json" or not known:
            self.bad_acks.append(f"{frame_id}: unknown frame or content type")
            return
        self.acks[frame_id] += 1
        self.codes[frame_id] = ack["code"]
        self.pending.pop(frame_id, None)  # answered: 200 taken, 4xx refused for good; only silence is re-sent
        if not self.pending:
            self.all_acked.set()

    def _system(self, topic: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"specVersion": "1.0", "type": "SYSTEM",
                "headers": {"contentType": "application/json", "messageId": f"sys-{next(self._ids)}",
                            "time": "1700000000000", "topic": topic},
                "data": json.dumps(data)}


def _utf8(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True
