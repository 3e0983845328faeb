"""A period's report as the bytes of one file (HTML with charts, or XLSX), for download links."""

from __future__ import annotations

import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.reports.content import ReportContent
from bot.reports.render import html_page
from bot.reports.workbook import write

CONTENT_TYPES = {"html": "text/html; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def report_bytes(content: ReportContent, fmt: str, tz: ZoneInfo) -> bytes:
    """Blocking (charts are drawn by matplotlib): callers on the event loop run it in a thread."""
    if fmt == "html":
        return html_page(content, tz).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        return write(content, Path(tmp) / f"report.{fmt}", tz).read_bytes()
