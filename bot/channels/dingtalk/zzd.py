"""浙政钉 gateway (channels.md §4): X-Hmac-Auth signed calls, /gettoken.json, workNotification, accountId by mobile."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from bot.channels.dingtalk.http import AuthExpired, HttpClient, TokenCache
from bot.channels.dingtalk.inbound import int_or_none
from bot.channels.dingtalk.render import robot_message
from bot.channels.dingtalk.signing import zzd_signature
from bot.config import DingTalkConfig
from bot.services.delivery import DeliveryError
from bot.services.ports import Clock

log = logging.getLogger(__name__)

ZZD_MSG_MAX_BYTES = 2048
BEIJING = ZoneInfo("Asia/Shanghai")


def zzd_error(data: dict[str, Any]) -> str:
    content = data.get("content") if isinstance(data.get("content"), dict) else {}
    parts = [str(data.get(k, "")) for k in ("Code", "Message", "bizErrorCode", "errorMsg", "errorCode")]
    parts += [str(content.get(k, "")) for k in ("responseCode", "responseMessage")]
    return " ".join(p for p in parts if p) or json.dumps(data, ensure_ascii=False)[:200]


def fit(msg: dict[str, Any], limit: int) -> str:
    """JSON of `msg` within `limit` bytes: the text is shortened, never the structure broken."""
    encoded = json.dumps(msg, ensure_ascii=False)
    inner = msg.get("markdown") or msg.get("text") or {}
    field_name = "text" if "markdown" in msg else "content"
    while len(encoded.encode()) > limit and inner.get(field_name):
        inner[field_name] = inner[field_name][: max(0, len(inner[field_name]) - 50)] + "…"
        encoded = json.dumps(msg, ensure_ascii=False)
    return encoded


class ZzdApi:
    """浙政钉 (专有钉钉) gateway: X-Hmac-Auth signing, /gettoken.json, /message/workNotification (§4)."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock, http: HttpClient) -> None:
        self.cfg = cfg
        self.clock = clock
        self.http = http
        self._tokens = TokenCache(clock, self._fetch_token)

    def headers(self, method: str, path: str, params: list[tuple[str, str]]) -> dict[str, str]:
        now = self.clock.now().astimezone(BEIJING)
        timestamp = now.isoformat(timespec="milliseconds")
        nonce = f"{int(now.timestamp() * 1000)}{secrets.randbelow(10000):04d}"
        secret = self.cfg.app_secret.get_secret_value()
        return {
            "apiKey": self.cfg.app_key, "X-Hmac-Auth-Timestamp": timestamp, "X-Hmac-Auth-Version": "1.0",
            "X-Hmac-Auth-Nonce": nonce, "X-Hmac-Auth-IP": "127.0.0.1", "X-Hmac-Auth-MAC": "00:00:00:00:00:00",
            "X-Hmac-Auth-Signature": zzd_signature(secret, method, timestamp, nonce, path, params),
        }

    async def _call(self, method: str, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        params = [(k, v) for k, v in params if k and v]  # empty ones leave the request and the signature
        form = {"params": params} if method == "GET" else {"data": params}
        _, data = await self.http.call(f"zzd {path}", method, f"{self.cfg.base_url}{path}",
                                       headers=self.headers(method, path, params),
                                       throttle_default=self.cfg.flow_control_seconds, **form)
        return data

    async def token(self, *, force: bool = False) -> str:
        return await self._tokens.get(force=force)

    async def _fetch_token(self) -> tuple[str, float]:
        data = await self._call("GET", "/gettoken.json", [
            ("appkey", self.cfg.app_key), ("appsecret", self.cfg.app_secret.get_secret_value())])
        inner = (data.get("content") or {}).get("data") if isinstance(data.get("content"), dict) else None
        if not data.get("success") or not isinstance(inner, dict) or not inner.get("accessToken"):
            raise DeliveryError(f"zzd token: {zzd_error(data)}")
        return str(inner["accessToken"]), int_or_none(inner.get("expiresIn")) or 7200  # gateway sends a string

    async def user_by_mobile(self, mobile: str) -> str | None:
        """The accountId of the tenant's employee with this mobile (/mozi/employee/get_by_mobiles, area code
        86, namespace local); None when the tenant has nobody with it; DeliveryError when the call failed."""
        async def once(token: str) -> str | None:
            data = await self._call("POST", "/mozi/employee/get_by_mobiles", [
                ("tenantId", self.cfg.tenant_id), ("mobiles", mobile), ("areaCode", "86"),
                ("namespace", "local"), ("access_token", token)])
            content = data.get("content") if isinstance(data.get("content"), dict) else {}
            if data.get("success") and content.get("success", True):
                rows = content.get("data") if isinstance(content.get("data"), list) else []
                for row in rows:
                    if isinstance(row, dict) and str(row.get("mobile", mobile)) == mobile and row.get("accountId"):
                        return str(row["accountId"])
                return None
            error = zzd_error(data)
            if "token" in error.lower():
                raise AuthExpired(f"zzd get_by_mobiles: {error}")
            raise DeliveryError(f"zzd get_by_mobiles: {error}")

        return await self._tokens.using(once)

    async def send(self, recipient: str, body: dict[str, Any], outbox_id: int) -> None:
        encoded = fit(robot_message(body), ZZD_MSG_MAX_BYTES)

        async def once(token: str) -> None:
            data = await self._call("POST", "/message/workNotification", [
                ("tenantId", self.cfg.tenant_id), ("receiverIds", recipient),
                # Stable per outbox row: the gateway refuses a repeat, so a retried send is never shown twice.
                ("bizMsgId", f"qihu-{outbox_id}"), ("msg", encoded), ("access_token", token)])
            content = data.get("content") if isinstance(data.get("content"), dict) else {}
            if data.get("success") and content.get("success", True):
                return
            error = zzd_error(data)
            if "重复" in error or "duplicate" in error.lower():
                log.info("zzd outbox %s already delivered (bizMsgId repeat)", outbox_id)
                return
            if "token" in error.lower():
                raise AuthExpired(f"zzd workNotification: {error}")
            raise DeliveryError(f"zzd workNotification: {error}")

        await self._tokens.using(once)
