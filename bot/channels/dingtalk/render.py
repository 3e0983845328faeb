"""Outbound rendering: a message body (text, choices, link) → the robot message JSON and its msgKey template form."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.escaping import dingtalk_markdown, dtmd_content
from bot.messages import Choice


def dtmd_link(value: str) -> str:
    """Tapping it makes the DingTalk client send `value` back as a text message (channels.md §2.4 A)."""
    return "dtmd://dingtalkclient/sendMessage?content=" + dtmd_content(value)


def render_markdown(text: str, choices: list[Choice], link: dict[str, str] | None = None) -> tuple[str, str]:
    """(title, markdown): the text, a file's download link, then every choice as a numbered one-tap link.

    The text is plain (it carries what people wrote): escaped whole, so only our links are markup.
    """
    title = (text.strip().splitlines() or ["企呼"])[0][:40]
    lines = [dingtalk_markdown(line) if line.strip() else "" for line in text.splitlines()]
    body = "  \n".join(lines)  # DingTalk markdown needs two trailing spaces for a line break
    if link:
        body += f"\n\n📎 [{dingtalk_markdown(str(link.get('name', '')))}]({link.get('url', '')})"
    if not choices:
        return title, body
    options = [f"{i}. [{dingtalk_markdown(c.label)}]({dtmd_link(c.value)})" for i, c in enumerate(choices, start=1)]
    return title, body + "\n\n" + "  \n".join(options) + "  \n" + texts.CHOICES_HINT


def choices_of(body: dict[str, Any]) -> list[Choice]:
    return [Choice(str(c.get("label", "")), str(c.get("value", ""))) for c in body.get("choices", [])]


def robot_message(body: dict[str, Any]) -> dict[str, Any]:
    """The msgtype form that sessionWebhook and 浙政钉 workNotification take: markdown when there is
    something to tap (choices, a file link), plain text otherwise."""
    text, choices = str(body.get("text", "")), choices_of(body)
    if choices or body.get("link"):
        title, md = render_markdown(text, choices, body.get("link"))
        return {"msgtype": "markdown", "markdown": {"title": title, "text": md}}
    return {"msgtype": "text", "text": {"content": text}}


TEMPLATES = {"markdown": "sampleMarkdown", "text": "sampleText"}


def template_message(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(msgKey, msgParam) of the same message, the form DingTalk's robot OpenAPI takes (channels.md §2.3)."""
    msg = robot_message(body)
    kind = msg["msgtype"]
    return TEMPLATES[kind], msg[kind]
