"""Escaping for every format a user's words are put into: one function per target, used by every renderer."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

# DingTalk's markdown (and 浙政钉's) documents no backslash escape, and clients differ in what they
# parse, so the characters that start markup become their full-width twins: they read the same to a
# person and no client makes a link, image, heading, emphasis, HTML tag, table or @-mention of them.
_DINGTALK_MD = str.maketrans({
    "[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "`": "｀", "#": "＃", "|": "｜",
    "~": "～", "@": "＠", "\\": "＼", "!": "！",
})
# A line that starts with one of these is a list item, or (under another line) a setext heading.
_DINGTALK_LINE_START = re.compile(r"^(\s*)([-+=])", re.MULTILINE)
_LINE_START_TWIN = {"-": "－", "+": "＋", "=": "＝"}

# A spreadsheet reads a cell starting with one of these as a formula (or, for tab / CR, a shifted one).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
# Control characters XML 1.0 forbids: openpyxl refuses to write them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def dingtalk_markdown(text: str) -> str:
    """Text shown as-is inside a DingTalk / 浙政钉 markdown message (body or one-tap link label)."""
    text = text.translate(_DINGTALK_MD)
    return _DINGTALK_LINE_START.sub(lambda m: m.group(1) + _LINE_START_TWIN[m.group(2)], text)


def dtmd_content(value: str) -> str:
    """The `content` query value of a dtmd://dingtalkclient/sendMessage link: nothing in it ends the link."""
    return quote(value, safe="")


def html_text(text: str) -> str:
    """Text inside an HTML element or a quoted attribute (the report page; Telegram HTML if ever used)."""
    return html.escape(text, quote=True)


def xlsx_cell(value: object) -> object:
    """A cell value that a spreadsheet shows as the text it is: never a formula, never refused by the writer.

    Text that would start a formula gets a leading apostrophe (OWASP's advice for CSV injection);
    numbers, dates and booleans pass unchanged.
    """
    if not isinstance(value, str):
        return value
    value = _XML_ILLEGAL.sub("\ufffd", value)
    return "'" + value if value.startswith(_FORMULA_START) else value
