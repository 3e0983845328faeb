"""Signatures: the robot callback's timestamp/sign check (DingTalk) and the 浙政钉 gateway's X-Hmac-Auth signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

MAX_SKEW_MS = 3600 * 1000  # channels.md §1.1: DingTalk itself refuses a timestamp more than one hour off
TIMESTAMP = re.compile(r"^[0-9]{1,15}$")  # str.isdigit() also takes '²', and int() of 5000 digits raises


def _hmac_b64(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def callback_signature(app_secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)), not URL-encoded (channels.md §1.1)."""
    return _hmac_b64(app_secret, f"{timestamp}\n{app_secret}")


def verify_callback(headers: Any, app_secret: str, mode: str, now_ms: int,
                    max_skew_ms: int = MAX_SKEW_MS) -> tuple[int, str] | None:
    """None when the request may pass; otherwise (HTTP status, reason). `mode` is required|if_present|off."""
    if mode == "off":
        return None
    timestamp, sign = headers.get("timestamp"), headers.get("sign")
    if not timestamp and not sign:
        if mode == "if_present":
            log.warning("dingtalk callback without timestamp/sign headers accepted (signature = if_present)")
            return None
        return 401, "缺少 timestamp / sign 签名头。"
    if not timestamp or not sign:
        return 401, "签名头不完整：timestamp 与 sign 须同时提供。"
    if not TIMESTAMP.match(timestamp):
        return 400, "timestamp 应为毫秒时间戳（1–15 位阿拉伯数字）。"
    if abs(now_ms - int(timestamp)) > max_skew_ms:
        return 403, f"请求时间戳与服务器时间相差超过 {max_skew_ms // 1000} 秒（可能是重放）。"
    if not hmac.compare_digest(callback_signature(app_secret, timestamp).encode(), sign.encode()):
        return 403, "签名不正确。"
    return None


def zzd_param_string(params: list[tuple[str, str]]) -> str:
    """k=v pairs sorted case-insensitively by key, raw values, repeated keys sorted by value (§4.2)."""
    kept = sorted(((k, v) for k, v in params if k and v), key=lambda kv: (kv[0].lower(), kv[0], kv[1]))
    return "&".join(f"{k}={v}" for k, v in kept)


def zzd_signature(secret: str, method: str, timestamp: str, nonce: str, path: str,
                  params: list[tuple[str, str]]) -> str:
    """Base64(HMAC-SHA256(appSecret, method, timestamp, nonce, path[, params] joined by newlines)) (§4.2)."""
    lines = [method.upper(), timestamp, nonce, path]
    query = zzd_param_string(params)
    if query:
        lines.append(query)
    return _hmac_b64(secret, "\n".join(lines))
