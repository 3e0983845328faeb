"""Signed, expiring report download links: what the chat hands out and qihu's /reports route accepts."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

FORMATS = {"html": "html", "xlsx": "xlsx"}


@dataclass(frozen=True)
class ReportLink:
    url: str
    name: str  # the file's name as the person will see and save it
    expires_at: datetime


@dataclass(frozen=True)
class ReportLinks:
    """HMAC-SHA256 over period, format, the staff member it was made for and the expiry second."""

    base_url: str
    secret: bytes
    ttl: timedelta

    def signature(self, period: str, fmt: str, by: str, expires: int) -> str:
        return hmac.new(self.secret, f"{period}|{fmt}|{by}|{expires}".encode(), hashlib.sha256).hexdigest()

    def make(self, period: str, fmt: str, by: str, now: datetime) -> ReportLink:
        expires_at = now + self.ttl
        expires = int(expires_at.timestamp())
        query = urlencode({"by": by, "exp": expires, "sig": self.signature(period, fmt, by, expires)})
        url = f"{self.base_url.rstrip('/')}/reports/{quote(period)}.{fmt}?{query}"
        return ReportLink(url, f"企业服务指数报告-{period}.{fmt}", expires_at)

    def check(self, period: str, fmt: str, by: str, exp: str, sig: str, now: datetime) -> str | None:
        """None when the link is genuine and still valid, else why not: format, forged or expired."""
        if fmt not in FORMATS:
            return "format"
        if not exp.isdigit() or not by or not sig:
            return "incomplete"
        if not hmac.compare_digest(self.signature(period, fmt, by, int(exp)), sig):
            return "forged"
        if int(exp) < now.timestamp():
            return "expired"
        return None
