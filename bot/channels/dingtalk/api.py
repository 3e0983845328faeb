"""DingTalk OpenAPI (channels.md §2): oauth2 token, robot 1:1 batch send and group send, userid by mobile."""

from __future__ import annotations

import json
from typing import Any

from bot.channels.dingtalk.http import AuthExpired, HttpClient, TokenCache
from bot.channels.dingtalk.render import template_message
from bot.config import DingTalkConfig
from bot.services.delivery import DeliveryError
from bot.services.ports import Clock

AUTH_ERROR_CODES = ("InvalidAuthentication", "Forbidden.AccessDenied.AccessTokenInvalid")
BATCH_LIMIT = 20  # batchSend takes at most 20 userIds
USER_NOT_FOUND_CODES = (60121,)  # getbymobile: 找不到该用户
OAPI_TOKEN_CODES = (40014, 42001)  # oapi: 不合法的access_token, access_token 超时


class DingTalkApi:
    """Public DingTalk OpenAPI: oauth2 token (cached), robot 1:1 batch send and group send (§2)."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock, http: HttpClient) -> None:
        self.cfg = cfg
        self.http = http
        self._tokens = TokenCache(clock, self._fetch_token)
        self.robot_code = cfg.robot_code or cfg.app_key

    async def token(self, *, force: bool = False) -> str:
        return await self._tokens.get(force=force)

    async def _fetch_token(self) -> tuple[str, float]:
        body = {"appKey": self.cfg.app_key, "appSecret": self.cfg.app_secret.get_secret_value()}
        status, data = await self.http.call("dingtalk token", "POST", f"{self.cfg.base_url}/v1.0/oauth2/accessToken",
                                            json=body, throttle_default=self.cfg.flow_control_seconds)
        if status != 200 or not isinstance(data.get("accessToken"), str):
            raise DeliveryError(f"dingtalk token: HTTP {status} {data.get('code', '')}")
        return data["accessToken"], float(data.get("expireIn") or 7200)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async def once(token: str) -> dict[str, Any]:
            status, data = await self.http.call(
                f"dingtalk {path}", "POST", f"{self.cfg.base_url}{path}", json=body,
                headers={"x-acs-dingtalk-access-token": token}, throttle_default=self.cfg.flow_control_seconds)
            if status == 200:
                return data
            code = str(data.get("code", ""))
            if status in (401, 403) or code in AUTH_ERROR_CODES:
                raise AuthExpired(f"dingtalk {path}: HTTP {status} {code}")
            raise DeliveryError(f"dingtalk {path}: HTTP {status} {code} {data.get('message', '')}",
                                permanent=400 <= status < 500)

        return await self._tokens.using(once)

    async def user_by_mobile(self, mobile: str) -> str | None:
        """The org userid of the member with this mobile (topapi/v2/user/getbymobile on oapi, with the same
        app token); None when the directory has nobody with it; DeliveryError when the call failed."""
        async def once(token: str) -> str | None:
            status, data = await self.http.call(
                "dingtalk getbymobile", "POST", f"{self.cfg.oapi_url}/topapi/v2/user/getbymobile",
                params={"access_token": token}, json={"mobile": mobile},
                throttle_default=self.cfg.flow_control_seconds)
            code = data.get("errcode")
            result = data.get("result") if isinstance(data.get("result"), dict) else {}
            if status == 200 and code == 0 and isinstance(result.get("userid"), str) and result["userid"]:
                return str(result["userid"])
            if code in USER_NOT_FOUND_CODES:
                return None
            if code in OAPI_TOKEN_CODES or status in (401, 403):
                raise AuthExpired(f"dingtalk getbymobile: {code} {data.get('errmsg', '')}")
            raise DeliveryError(f"dingtalk getbymobile: HTTP {status} {code} {data.get('errmsg', '')}")

        return await self._tokens.using(once)

    async def batch_send(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> dict[str, list[str]]:
        """1:1 messages, at most 20 users a call; returns the merged invalid / flow-controlled lists."""
        merged: dict[str, list[str]] = {"invalidStaffIdList": [], "flowControlledStaffIdList": []}
        param = json.dumps(msg_param, ensure_ascii=False)  # msgParam is a JSON *string*
        for start in range(0, len(user_ids), BATCH_LIMIT):
            chunk = user_ids[start:start + BATCH_LIMIT]
            data = await self._post("/v1.0/robot/oToMessages/batchSend", {
                "robotCode": self.robot_code, "userIds": chunk, "msgKey": msg_key, "msgParam": param})
            for name in merged:
                merged[name] += [u for u in data.get(name) or [] if isinstance(u, str)]
        return merged

    async def group_send(self, open_conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> None:
        await self._post("/v1.0/robot/groupMessages/send", {
            "robotCode": self.robot_code, "openConversationId": open_conversation_id, "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False)})

    async def send(self, recipient: str, body: dict[str, Any], outbox_id: int) -> None:
        key, param = template_message(body)
        if recipient.startswith("group:"):
            await self.group_send(recipient[6:], key, param)
            return
        if recipient.startswith("$:"):
            raise DeliveryError("dingtalk: no staffId for this sender, proactive send impossible", permanent=True)
        result = await self.batch_send([recipient], key, param)
        if recipient in result["invalidStaffIdList"]:
            raise DeliveryError(f"dingtalk: invalid staffId {recipient}", permanent=True)
        if recipient in result["flowControlledStaffIdList"]:
            raise DeliveryError(f"dingtalk: {recipient} flow-controlled", retry_after=self.cfg.flow_control_seconds)
