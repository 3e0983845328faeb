"""Logging of every qihu process: one format, and phone numbers masked in every line it writes."""

from __future__ import annotations

import logging
from typing import TextIO

from bot.domain.identifiers import mask_phones_in_text

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PhoneMaskingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with phone numbers masked, whatever logger made it.

    Sits on the handler, not on a logger: logger filters do not see records propagated from children."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as logging does
            return True
        masked = mask_phones_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones_in_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones_in_text(record.stack_info)
        return True


def configure_logging(*, verbose: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Install the one root handler (stderr unless `stream`), replacing one installed before."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "qihu", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.qihu = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(PhoneMaskingFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
