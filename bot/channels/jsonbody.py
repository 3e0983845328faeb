"""Request bodies as strict JSON: no NaN / Infinity, no out-of-range number, no NUL or lone surrogate in any string."""

from __future__ import annotations

import json
import math
from typing import Any

from bot.messages import unstorable


class BodyError(ValueError):
    """The body is not JSON we accept; `reason` says why, in Chinese, for the caller's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _constant(name: str) -> Any:
    raise BodyError(f"请求体含非标准 JSON 数值 {name}（JSON 没有 NaN / Infinity）。")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise BodyError(f"请求体中的数值 {text[:20]} 超出范围。")
    return value


def loads(raw: bytes | str) -> Any:
    """The parsed body, or BodyError. NUL and lone surrogates are refused (`bot.messages.unstorable`, the
    check the pipeline makes of every message): no database stores them and no person types them."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_float)
    except BodyError:
        raise
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, a 5000-digit integer, nesting too deep
        raise BodyError("请求体不是有效的 JSON。") from None
    if unstorable(value):
        raise BodyError("请求体含 NUL 字符（\\u0000）或不成对的代理字符（\\ud800–\\udfff），不予接收。")
    return value
