"""Request bodies as strict JSON: no NaN / Infinity, no out-of-range number, no NUL in any string."""

from __future__ import annotations

import json
import math
from typing import Any


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


def _has_nul(value: Any) -> bool:
    # Iterative: the parser already allowed this depth, a recursive walk might not.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads(raw: bytes | str) -> Any:
    """The parsed body, or BodyError. NUL is refused because PostgreSQL cannot store it in text, and no
    person types one: a body with it is a probe, refused the same on both databases."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_float)
    except BodyError:
        raise
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, a 5000-digit integer, nesting too deep
        raise BodyError("请求体不是有效的 JSON。") from None
    if _has_nul(value):
        raise BodyError("请求体含 NUL 字符（\\u0000），不予接收。")
    return value
