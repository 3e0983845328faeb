"""Telegram channel: python-telegram-bot as the transport only (webhook or polling in, Bot API out)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot import texts
from bot.channels import jsonbody
from bot.channels.ports import ChannelHost
from bot.channels.ratelimit import refusal
from bot.config import TelegramConfig
from bot.messages import MAX_USER_ID, Attachment, Choice, ConversationKey, InboundMessage
from bot.pipeline import TurnRejected
from bot.services.delivery import DeliveryError
from bot.services.ports import Clock
from bot.spool import LOST

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/channels/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CALLBACK_DATA_MAX = 64  # bytes, Bot API limit
TEXT_MAX = 4096
CAPTION_MAX = 1024  # a document's caption
UNSUPPORTED_KINDS = ("sticker", "voice", "video", "video_note", "audio", "animation", "location", "contact")


def callback_data(choice: Choice, number: int) -> str:
    """The choice's value when it fits in 64 bytes, else its number (which the dialogue also accepts)."""
    data = "c:" + choice.value
    return data if len(data.encode()) <= CALLBACK_DATA_MAX else f"n:{number}"


def text_of_callback(data: str) -> str:
    if data.startswith(("c:", "n:")):
        return data[2:]
    return data


def keyboard(choices: list[Choice]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    # Numbered like the prompts' "回复序号": a typed number picks the same option as the button.
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"{i}. {c.label}"[:64], callback_data=callback_data(c, i))]
                                 for i, c in enumerate(choices, start=1)])


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that an int will become a timedelta; we take both
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodGate:
    """Telegram's limits (1 msg/s per chat, 20/min per group, 30/s overall) as minimum spacing
    between sends; reserve() books a slot and says how long to wait for it."""

    def __init__(self, clock: Clock, cfg: TelegramConfig) -> None:
        self.clock = clock
        self.chat_gap = timedelta(seconds=1 / cfg.per_chat_per_second)
        self.group_gap = timedelta(seconds=60 / cfg.per_group_per_minute)
        self.overall_gap = timedelta(seconds=1 / cfg.overall_per_second)
        self._chat_next: dict[str, datetime] = {}
        self._overall_next: datetime | None = None

    def reserve(self, chat_id: str, max_wait: float) -> float:
        """Seconds to wait before sending; when that exceeds `max_wait` nothing is booked and
        the wait is returned for the caller to hand back to the outbox."""
        now = self.clock.now()
        slot = max(now, self._chat_next.get(chat_id, now), self._overall_next or now)
        wait = (slot - now).total_seconds()
        if wait > max_wait:
            return wait
        group = chat_id.startswith("-")  # group and channel chat ids are negative
        self._chat_next[chat_id] = slot + (self.group_gap if group else self.chat_gap)
        self._overall_next = slot + self.overall_gap
        return wait


class TelegramSender:
    """ChannelSender over telegram.Bot; API errors become DeliveryError with retry_after/permanent."""

    def __init__(self, bot: Bot, clock: Clock, cfg: TelegramConfig,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.bot = bot
        self.cfg = cfg
        self.gate = FloodGate(clock, cfg)
        self.sleep = sleep

    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None:
        chat_id = str((body.get("reply_context") or {}).get("chat_id") or recipient)
        choices = [Choice(str(c.get("label", "")), str(c.get("value", ""))) for c in body.get("choices", [])]
        text = str(body.get("text", "")) or "…"
        wait = self.gate.reserve(chat_id, self.cfg.max_flood_wait_seconds)
        if wait > self.cfg.max_flood_wait_seconds:
            raise DeliveryError(f"telegram flood limit for chat {chat_id}", retry_after=wait)
        if wait > 0:
            await self.sleep(wait)
        target: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        link = body.get("link")
        try:
            # No parse_mode: the text carries what people wrote, and as plain text none of it is markup.
            if link:
                await self._send_document(target, text, link, keyboard(choices))
            else:
                await self.bot.send_message(chat_id=target, text=text[:TEXT_MAX], reply_markup=keyboard(choices))
        except RetryAfter as exc:
            raise DeliveryError(f"telegram: {exc}", retry_after=_retry_seconds(exc)) from exc
        except (Forbidden, BadRequest) as exc:  # blocked by the user, chat not found, bad markup
            raise DeliveryError(f"telegram: {exc}", permanent=True) from exc
        except (InvalidToken, NetworkError, TelegramError) as exc:
            raise DeliveryError(f"telegram: {exc!r}") from exc


    async def _send_document(self, chat_id: int | str, text: str, link: dict[str, Any], markup: Any) -> None:
        """The file behind a signed qihu link, uploaded as a document with the text as its caption."""
        data = await fetch_file(str(link.get("url", "")))
        document = InputFile(data, filename=str(link.get("name", "report")))
        if len(text) <= CAPTION_MAX:
            await self.bot.send_document(chat_id=chat_id, document=document, caption=text, reply_markup=markup)
            return
        await self.bot.send_message(chat_id=chat_id, text=text[:TEXT_MAX], reply_markup=markup)
        await self.bot.send_document(chat_id=chat_id, document=document)


async def fetch_file(url: str) -> bytes:
    """GET one of qihu's own download links; a refusal (expired, forged) is final, a network error is not."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            if 400 <= resp.status < 500:
                raise DeliveryError(f"telegram: file link refused with HTTP {resp.status}", permanent=True)
            if resp.status != 200:
                raise DeliveryError(f"telegram: file link HTTP {resp.status}")
            return await resp.read()
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"telegram: file link {exc!r}") from exc


def _is_id(value: object) -> bool:
    """Telegram's user and chat ids are integers (PTB takes whatever the JSON holds)."""
    return isinstance(value, int) and not isinstance(value, bool) and len(str(value)) <= MAX_USER_ID

class TelegramChannel:
    """Webhook route (secret header checked in constant time) or long polling, one path into the pipeline."""

    def __init__(self, app: ChannelHost, cfg: TelegramConfig) -> None:
        self.app = app
        self.cfg = cfg
        self.name = CHANNEL
        self.bot = Bot(cfg.token.get_secret_value(), base_url=cfg.base_url)
        self.sender = TelegramSender(self.bot, app.clock, cfg)
        self._ready = False
        self._poller: asyncio.Task | None = None
        self._offset = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)] if self.cfg.mode == "webhook" else []

    def problem(self) -> str | None:
        return None  # webhook and polling failures are logged and retried; nothing stays down

    async def ensure_bot(self) -> None:
        if not self._ready:
            await self.bot.initialize()  # getMe: also proves the token
            self._ready = True

    async def start(self) -> None:
        await self.ensure_bot()
        if self.cfg.mode == "polling":
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self.poll_forever())
        elif self.cfg.webhook_url:
            await self.bot.set_webhook(self.cfg.webhook_url, secret_token=self.cfg.webhook_secret.get_secret_value(),
                                       allowed_updates=["message", "callback_query"])

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._ready:
            await self.bot.shutdown()
            self._ready = False

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        expected = self.cfg.webhook_secret.get_secret_value()
        if not given:
            return web.json_response({"error": "缺少 Telegram 密钥头。"}, status=401)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return web.json_response({"error": "Telegram 密钥不正确。"}, status=403)
        try:
            data = jsonbody.loads(await request.read())
        except jsonbody.BodyError as exc:
            return web.json_response({"error": exc.reason}, status=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.json_response({"error": "不是 Telegram 更新。"}, status=400)
        await self.ensure_bot()
        try:
            update = Update.de_json(data, self.bot)
        except Exception:  # PTB's parsers trust the Bot API's types: any wrong one may raise anything
            return web.json_response({"error": "Telegram 更新格式错误。"}, status=400)
        user, chat = update.effective_user, update.effective_chat
        if (user is not None and not _is_id(user.id)) or (chat is not None and not _is_id(chat.id)):
            return web.json_response({"error": "Telegram 更新中的用户或会话 id 不是整数。"}, status=400)
        if user is not None:
            limited = refusal(self.app.pipeline.retry_after(CHANNEL, str(user.id)))
            if limited is not None:
                return limited
        await self.process(update)
        return web.json_response({})

    async def poll_once(self, timeout: int = 30) -> int:
        """One getUpdates round (development mode); returns how many updates were handled."""
        updates = await self.bot.get_updates(offset=self._offset, timeout=timeout,
                                             allowed_updates=["message", "callback_query"])
        for update in updates:
            self._offset = max(self._offset, update.update_id + 1)
            await self.process(update)
        return len(updates)

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("telegram polling failed; retrying")
                await asyncio.sleep(5)

    async def process(self, update: Update) -> None:
        """Turn one update into a pipeline turn; its update_id is the dedupe key, so a repeat does nothing."""
        message_id = f"update:{update.update_id}"
        user = update.effective_user
        chat = update.effective_chat
        if user is None:
            return
        ctx: dict[str, Any] = {}
        if chat is not None and chat.id != user.id:
            ctx["chat_id"] = chat.id  # a group: answer there, not privately
        key = ConversationKey(CHANNEL, str(user.id))
        now = self.app.clock.now()
        if update.callback_query is not None:
            query = update.callback_query
            try:
                await query.answer()  # stops the client's spinner; must happen for every press
            except TelegramError as exc:
                log.info("answerCallbackQuery failed: %s", exc)
            text = text_of_callback(query.data or "")
            msg = InboundMessage(key, text, message_id, now, user.full_name, (), ctx)
        elif update.message is not None:
            m = update.message
            attachments: list[Attachment] = []
            if m.photo:
                attachments.append(Attachment("picture", m.photo[-1].file_id))
            if m.document:
                attachments.append(Attachment("file", m.document.file_id, m.document.file_name or ""))
            msg = InboundMessage(key, m.text or m.caption or "", message_id, now, user.full_name,
                                 tuple(attachments), ctx)
            if not msg.text and not attachments:
                kind = next((k for k in UNSUPPORTED_KINDS if getattr(m, k, None)), "other")
                await self.app.pipeline.unsupported(msg, kind)
                return
        else:
            return  # edits, reactions, …: nothing to act on
        # Polling has moved past this update already: with the database away it waits in the spool.
        if await self.app.spool.take(msg, lambda: self._turn(msg), self._tell_kept) == LOST:
            raise RuntimeError(f"telegram {message_id} neither stored nor spooled")

    async def _turn(self, msg: InboundMessage) -> None:
        try:
            await self.app.pipeline.handle(msg)
        except TurnRejected as exc:  # NUL or a lone surrogate (a webhook's body was refused with a 400 before)
            log.warning("telegram %s refused: %s", msg.message_id, exc.reason)
            try:  # not through the outbox: the refused message is stored nowhere, so the answer is not either
                await self._tell(msg, exc.reason)
            except DeliveryError as err:
                log.info("could not tell %s why %s was refused: %s", msg.key, msg.message_id, err)

    async def _tell(self, msg: InboundMessage, text: str) -> None:
        chat_id = str(msg.reply_context.get("chat_id") or msg.key.user_id)
        await self.sender.send(chat_id, {"text": text}, outbox_id=0)

    async def _tell_kept(self, msg: InboundMessage) -> None:
        await self._tell(msg, texts.SPOOLED_NOTICE)

