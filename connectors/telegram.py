"""Telegram Bot API, through python-telegram-bot.

Inbound: Telegram POSTs an ``Update`` to our webhook with the secret we gave
it in ``setWebhook`` in the ``X-Telegram-Bot-Api-Secret-Token`` header.
Outbound: ``sendMessage`` / ``sendPhoto`` / ``sendDocument``.
Every call goes to ``config.base_url`` (https://api.telegram.org by default),
which is how tests point the bot at a fake Bot API server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import mimetypes
import re
import ssl

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    Contact,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendResult,
    SubscriptionEvent,
)
from .interface import Connector, register
from .signing import secrets_equal
from .telegram_deeplink import decode_start_payload

DEFAULT_API_ROOT = "https://api.telegram.org"


@functools.lru_cache(maxsize=1)
def _ssl_context():
    """One TLS context per process: loading the CA bundle costs ~80 ms,
    paid twice per message when every Bot builds its own (a ceiling of
    about three messages a second per worker, far below Telegram's limit)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


_TOKEN_IN_URL = re.compile(r'/bot[^/\s"]+')


class _RedactBotToken(logging.Filter):
    """httpx logs every request URL at INFO, and Bot API URLs carry the bot
    token (/bot<token>/method): keep the line, drop the secret."""

    def filter(self, record):
        if isinstance(record.msg, str) and record.args:
            record.args = tuple(
                _TOKEN_IN_URL.sub("/bot<redacted>", str(a)) if "/bot" in str(a) else a
                for a in record.args
            )
        elif isinstance(record.msg, str) and "/bot" in record.msg:
            record.msg = _TOKEN_IN_URL.sub("/bot<redacted>", record.msg)
        return True


for _name in ("httpx", "httpcore", "telegram"):
    if not any(
        isinstance(f, _RedactBotToken) for f in logging.getLogger(_name).filters
    ):
        logging.getLogger(_name).addFilter(_RedactBotToken())
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "my_chat_member",
    "business_connection",
    "business_message",
    "edited_business_message",
    "callback_query",
]
#: Updates read by parse(), in that order.
HANDLED_UPDATES = ALLOWED_UPDATES
#: chat_id of a business chat: replies go through the business connection.
BUSINESS_PREFIX = "business:"
#: A message holding only one of these is an event of the chat (a pin, a
#: member joining, a game of dice), not something the customer wrote.
SERVICE_MESSAGES = (
    "pinned_message",
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "dice",
    "game",
    "poll",
    "users_shared",
    "chat_shared",
    "write_access_allowed",
    "connected_website",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway",
    "giveaway_winners",
    "giveaway_completed",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
    "successful_payment",
    "refunded_payment",
    "invoice",
)
#: What a customer writes or sends.
CONTENT_FIELDS = (
    "text",
    "caption",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "video_note",
    "sticker",
    "location",
    "venue",
    "contact",
    "web_app_data",
    "story",
)


def _object(value, name):
    if not isinstance(value, dict):
        raise PayloadError(f"{name} must be an object")
    return value


def _integer(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an integer")
    return value


def _text(value, name):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{name} must be text")
    return value


def _size(value):
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else 0
    )


def _date(value):
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else 0.0
    )


def _location(value, title=""):
    value = _object(value, "location")
    lat, lon = value.get("latitude"), value.get("longitude")
    if not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)
    ):
        raise PayloadError("a location needs numeric latitude and longitude")
    return Location(float(lat), float(lon), title)


#: Bot API limit of a button's callback_data, in bytes.
CALLBACK_DATA_BYTES = 64
#: Choices this short (scores) share one row of buttons; longer ones get a
#: row each, so that their text is not cut.
SHORT_CHOICE = 4


def _choice_keyboard(choices):
    """Inline buttons for ``choices``.  A press sends back the choice itself
    (what the customer would have typed), or its number when the choice is
    longer than Telegram's callback data allows."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    buttons = [
        InlineKeyboardButton(
            choice,
            callback_data=choice
            if len(choice.encode()) <= CALLBACK_DATA_BYTES
            else str(number),
        )
        for number, choice in enumerate(choices, 1)
    ]
    if all(len(choice) <= SHORT_CHOICE for choice in choices):
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[button] for button in buttons])


def _contact_keyboard(label):
    """A one-time reply keyboard whose button shares the customer's own
    phone number: it comes back as their contact card."""
    from telegram import KeyboardButton, ReplyKeyboardMarkup

    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


@register
class TelegramConnector(Connector):
    code = "telegram"
    label = "Telegram"
    sequence = 20
    icon = "fa-telegram"
    color = "#229ED9"
    deep_link = "https://t.me/%s"
    deep_link_payload = True
    supports_greeting = True
    supports_buttons = True
    supports_request_contact = True
    common_settings = ("token", "webhook_secret", "api_base_url")
    user_ids_are_global = True
    reports_delivery_errors = True
    ack = HttpAnswer(200, "", "text/plain")
    # core.telegram.org/bots/faq: about 30 messages per second per bot, about
    # one per second to one chat (short bursts tolerated)
    send_rate = 30
    send_chat_rate = 1

    # -- plumbing ----------------------------------------------------------
    default_api_root = DEFAULT_API_ROOT

    def _bot(self):
        # Imported here so that the rest of the addon (and its other
        # connectors) loads even where the package is missing: Odoo then
        # reports the missing external dependency at install time.
        import telegram
        from telegram.request import HTTPXRequest

        if not self.config.token:
            raise SendError("The bot token is not set on this channel.")
        root = self.api_root()

        def request():
            return HTTPXRequest(
                connection_pool_size=4,
                connect_timeout=5,
                read_timeout=15,
                write_timeout=15,
                media_write_timeout=30,
                httpx_kwargs={"verify": _ssl_context()},
            )

        return telegram.Bot(
            self.config.token,
            base_url=root + "/bot",
            base_file_url=root + "/file/bot",
            request=request(),
            get_updates_request=request(),
        )

    def _run(self, func):
        """Run one Bot API exchange; python-telegram-bot is asyncio-only and
        Odoo workers are plain threads, so each call gets its own loop."""

        async def main():
            async with self._bot() as bot:
                return await func(bot)

        return asyncio.run(main())

    @staticmethod
    def _send_error(exc):
        from telegram import error

        if isinstance(exc, error.Forbidden):
            # "Forbidden: bot was blocked by the user" - no point retrying.
            return SendError(
                exc.message, code="forbidden", retryable=False, blocks_recipient=True
            )
        if isinstance(exc, error.RetryAfter):
            wait = (
                exc._retry_after.total_seconds()
            )  # the 429 answer's parameters.retry_after
            return SendError(
                exc.message,
                code="retry_after",
                retryable=True,
                retry_after=max(wait, 1.0),
            )
        if isinstance(exc, (error.TimedOut, error.NetworkError)) and not isinstance(
            exc, error.BadRequest
        ):
            return SendError(exc.message or str(exc), code="network", retryable=True)
        if isinstance(exc, error.InvalidToken):
            return SendError(exc.message, code="invalid_token", retryable=False)
        if isinstance(exc, error.TelegramError):
            return SendError(exc.message, code="bad_request", retryable=False)
        return SendError(str(exc), code="error", retryable=True)

    # -- inbound -------------------------------------------------------------
    def verify(self, headers, body, query):
        if not secrets_equal(self.config.secret, self.header(headers, SECRET_HEADER)):
            raise SignatureError(f"wrong or missing {SECRET_HEADER} header")

    def parse(self, headers, body, query):
        # The update is read from its JSON, not through python-telegram-bot's
        # classes: those refuse what Telegram's own documentation examples
        # and older clients send (a "from" without "is_bot", files without
        # "file_unique_id"), and a refused update would be a lost message.
        data = self.load_json(body)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("update_id"), int)
            or isinstance(data.get("update_id"), bool)
        ):
            raise PayloadError(
                "a Telegram update is an object with an integer update_id"
            )
        event_id = str(data["update_id"])
        kind = next((k for k in HANDLED_UPDATES if data.get(k)), None)
        if kind is None:
            # Polls, callback queries, channel posts...: accepted and journaled
            # as ignored.
            kinds = [k for k, v in data.items() if k != "update_id" and v]
            return [
                IgnoredEvent(
                    event_id,
                    reason="update of kind %s is not handled"
                    % (", ".join(kinds) or "unknown"),
                )
            ]
        content = _object(data[kind], kind)
        if kind == "my_chat_member":
            return [self._member_event(event_id, content)]
        if kind == "callback_query":
            return [self._button_event(event_id, content)]
        if kind == "business_connection":
            # The business account owner connected (or disconnected) the bot:
            # their customers' chats then arrive as business_message updates.
            return [
                IgnoredEvent(
                    event_id,
                    reason="business connection {} {}".format(
                        _text(content.get("id"), "business_connection.id"),
                        "enabled" if content.get("is_enabled") else "disabled",
                    ),
                )
            ]
        return [
            self._message_event(event_id, content, is_edit=kind.startswith("edited_"))
        ]

    def _member_event(self, event_id, member):
        chat = _object(member.get("chat"), "my_chat_member.chat")
        user = member.get("from")
        status = (
            _object(member.get("new_chat_member") or {}, "new_chat_member").get(
                "status"
            )
            or "unknown"
        )
        if chat.get("type", "private") != "private" or not isinstance(user, dict):
            return IgnoredEvent(
                event_id,
                reason="the bot was made {} in a {} chat".format(
                    status, chat.get("type")
                ),
            )
        if status in ("kicked", "member"):
            return SubscriptionEvent(
                event_id,
                self._contact(user),
                subscribed=status == "member",
                date=_date(member.get("date")),
            )
        return IgnoredEvent(
            event_id,
            reason=f"chat member update of status {status} is not handled",
        )

    def _button_event(self, event_id, query):
        """A press on one of our inline buttons (the satisfaction score) is
        what the customer would have typed: a message whose text is the
        button's data, in the chat of the message that carried the buttons."""
        if not isinstance(query.get("from"), dict):
            return IgnoredEvent(event_id, reason="button press without a sender")
        carrier = query.get("message")
        if not isinstance(carrier, dict) or not isinstance(carrier.get("chat"), dict):
            # A button of a message sent in inline mode lives in someone
            # else's chat: not one of our conversations.
            return IgnoredEvent(
                event_id,
                reason="button press outside a chat with the bot (inline message)",
            )
        chat = carrier["chat"]
        if chat.get("type", "private") != "private":
            return IgnoredEvent(
                event_id,
                reason="button pressed in a Telegram {} chat".format(chat.get("type")),
            )
        data = _text(query.get("data"), "callback_query.data")
        if not data:
            return IgnoredEvent(event_id, reason="button press without data (a game)")
        chat_id = str(_integer(chat.get("id"), "chat.id"))
        sender = self._contact(query["from"])
        return InboundMessage(
            event_id=event_id,
            # One message per press: Telegram gives each callback query its own id.
            message_id="{}:cb{}".format(
                chat_id, _text(str(query.get("id") or event_id), "callback_query.id")
            ),
            chat_id=chat_id,
            sender=sender,
            text=data[:64],
            # A press carries no date of its own; the webhook's arrival stands for it.
            date=0.0,
        )

    @staticmethod
    def _contact(user):
        user = _object(user, "from")
        user_id = _integer(user.get("id"), "from.id")
        first, last, username = (
            _text(user.get(k), k) for k in ("first_name", "last_name", "username")
        )
        name = " ".join(p for p in (first, last) if p)
        return Contact(
            user_id=str(user_id),
            name=name or username or str(user_id),
            username=username,
            language=_text(user.get("language_code"), "language_code"),
        )

    def _message_event(self, event_id, msg, is_edit=False):
        message_id = _integer(msg.get("message_id"), "message_id")
        chat = _object(msg.get("chat"), "chat")
        chat_id = _integer(chat.get("id"), "chat.id")
        chat_type = _text(chat.get("type"), "chat.type") or "private"
        if chat_type in ("group", "supergroup", "channel"):
            # A group is not a customer: its members are anyone, and a reply
            # would be read by all of them.  Customers write to the bot
            # privately; group traffic is journaled, not turned into leads.
            title = _text(chat.get("title"), "title")
            return IgnoredEvent(
                event_id,
                reason="message in a Telegram {} chat{}: only private chats are "
                "customer conversations".format(
                    chat_type, f' "{title}"' if title else ""
                ),
            )
        if not isinstance(msg.get("from"), dict):
            return IgnoredEvent(event_id, reason="message without a sender")
        sender = self._contact(msg["from"])
        business = _text(msg.get("business_connection_id"), "business_connection_id")
        if business and (
            sender.user_id != str(chat_id) or msg.get("sender_business_bot")
        ):
            # In a business chat the account owner's own messages (and this
            # bot's) arrive too: they are not the customer speaking.
            return IgnoredEvent(
                event_id, reason="message of the business account itself"
            )
        service = next((key for key in SERVICE_MESSAGES if msg.get(key)), None)
        if service and not any(msg.get(key) for key in CONTENT_FIELDS):
            return IgnoredEvent(
                event_id,
                reason=f"Telegram service message ({service})",
                sender=sender,
            )
        text = _text(msg.get("text") or msg.get("caption"), "text")
        event = InboundMessage(
            event_id=event_id,
            message_id=f"{chat_id}:{message_id}",
            # Replies to a business chat go through the business connection:
            # the connection travels in the chat id (see send()).
            chat_id=(f"{BUSINESS_PREFIX}{business}:{chat_id}")
            if business
            else str(chat_id),
            sender=sender,
            date=_date(msg.get("edit_date") or msg.get("date")),
            text=text,
            is_edit=is_edit,
        )
        if text.startswith("/"):
            command, _sep, payload = text[1:].partition(" ")
            event.command = command.split("@")[0].lower()
            if event.command == "start" and payload.strip():
                self._deep_link(event, payload.strip())
        self._message_content(event, msg, message_id)
        return event

    @staticmethod
    def _deep_link(event, payload):
        """``t.me/<bot>?start=<payload>``: Telegram passes the link's payload
        (A-Z a-z 0-9 _ -, at most 64 characters) as "/start <payload>".  The
        names of a hand-written ``<source>__<medium>__<campaign>`` payload are
        what the event says; codes and record ids (telegram_deeplink) are
        resolved by Odoo, which creates nothing from either."""
        claim = decode_start_payload(payload)
        event.utm_source, event.utm_medium, event.utm_campaign = claim.names

    @staticmethod
    def _message_content(event, msg, message_id):
        def file_of(key):
            item = _object(msg[key], key)
            return (
                item,
                _text(item.get("file_id"), key + ".file_id"),
                _size(item.get("file_size")),
            )

        if msg.get("photo"):
            sizes = (
                [p for p in msg["photo"] if isinstance(p, dict)]
                if isinstance(msg["photo"], list)
                else []
            )
            if not sizes:
                raise PayloadError("photo must be a list of sizes")
            biggest = max(
                sizes, key=lambda p: _size(p.get("width")) * _size(p.get("height"))
            )
            event.message_type = "image"
            event.attachments.append(
                Attachment(
                    "image",
                    file_id=_text(biggest.get("file_id"), "photo.file_id"),
                    mimetype="image/jpeg",
                    filename=f"photo_{message_id}.jpg",
                    size=_size(biggest.get("file_size")),
                )
            )
        elif msg.get("document"):
            doc, file_id, size = file_of("document")
            event.message_type = "document"
            event.attachments.append(
                Attachment(
                    "document",
                    file_id=file_id,
                    filename=_text(doc.get("file_name"), "file_name") or "document",
                    mimetype=_text(doc.get("mime_type"), "mime_type")
                    or "application/octet-stream",
                    size=size,
                )
            )
        elif msg.get("voice"):
            voice, file_id, size = file_of("voice")
            event.message_type = "voice"
            event.attachments.append(
                Attachment(
                    "voice",
                    file_id=file_id,
                    mimetype=_text(voice.get("mime_type"), "mime_type") or "audio/ogg",
                    filename=f"voice_{message_id}.ogg",
                    size=size,
                )
            )
        elif msg.get("audio"):
            audio, file_id, size = file_of("audio")
            event.message_type = "audio"
            event.attachments.append(
                Attachment(
                    "audio",
                    file_id=file_id,
                    mimetype=_text(audio.get("mime_type"), "mime_type") or "audio/mpeg",
                    filename=_text(audio.get("file_name"), "file_name")
                    or f"audio_{message_id}.mp3",
                    size=size,
                )
            )
        elif msg.get("video") or msg.get("video_note"):
            video, file_id, size = file_of(
                "video" if msg.get("video") else "video_note"
            )
            event.message_type = "video"
            event.attachments.append(
                Attachment(
                    "video",
                    file_id=file_id,
                    mimetype=_text(video.get("mime_type"), "mime_type") or "video/mp4",
                    filename=_text(video.get("file_name"), "file_name")
                    or f"video_{message_id}.mp4",
                    size=size,
                )
            )
        elif msg.get("sticker"):
            sticker, file_id, size = file_of("sticker")
            event.message_type = "sticker"
            event.text = _text(sticker.get("emoji"), "emoji") or event.text
            if not (sticker.get("is_animated") or sticker.get("is_video")):
                # A static sticker is a webp picture: show it; animated ones
                # (tgs/webm) are shown as their emoji only.
                event.attachments.append(
                    Attachment(
                        "sticker",
                        file_id=file_id,
                        mimetype="image/webp",
                        filename=f"sticker_{message_id}.webp",
                        size=size,
                    )
                )
        elif msg.get("venue"):
            venue = _object(msg["venue"], "venue")
            event.message_type = "location"
            event.location = _location(
                venue.get("location"), _text(venue.get("title"), "title")
            )
        elif msg.get("location"):
            event.message_type = "location"
            event.location = _location(msg["location"])
        elif msg.get("contact"):
            c = _object(msg["contact"], "contact")
            event.message_type = "contact"
            event.shared_contact = Contact(
                user_id=str(_integer(c["user_id"], "contact.user_id"))
                if c.get("user_id")
                else "",
                name=" ".join(
                    p
                    for p in (
                        _text(c.get("first_name"), "first_name"),
                        _text(c.get("last_name"), "last_name"),
                    )
                    if p
                ),
                phone=_text(c.get("phone_number"), "phone_number"),
                # Telegram vouches for the phone only of a card that is the
                # sender's own ("share my phone"); any other card is a third
                # person's, shown as a card and never who the sender is.
                phone_verified=bool(c.get("user_id"))
                and str(c.get("user_id")) == event.sender.user_id,
            )
        elif msg.get("web_app_data"):
            # What the customer submitted in the bot's web app (a form).
            app = _object(msg["web_app_data"], "web_app_data")
            event.text = "{}: {}".format(
                _text(app.get("button_text"), "button_text") or "Web app",
                _text(app.get("data"), "data"),
            )
        elif msg.get("story"):
            event.note = "forwarded a Telegram story"
        elif not event.text:
            event.message_type = "text"
            event.note = "unsupported Telegram message"

    def fetch_media(self, attachment):
        async def download(bot):
            tg_file = await bot.get_file(attachment.file_id)
            return bytes(await tg_file.download_as_bytearray())

        try:
            data = self._run(download)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(
                "could not download the Telegram file: {}".format(
                    getattr(exc, "message", exc)
                )
            ) from None
        mimetype = (
            attachment.mimetype
            or mimetypes.guess_type(attachment.filename)[0]
            or "application/octet-stream"
        )
        return data, mimetype, attachment.filename or "file"

    # -- outbound ------------------------------------------------------------
    def send(self, message):
        from telegram import InputFile

        chat_id, business = message.recipient_id, {}
        if chat_id.startswith(BUSINESS_PREFIX):
            connection, _sep, chat_id = chat_id[len(BUSINESS_PREFIX) :].rpartition(":")
            business = {"business_connection_id": connection}

        async def deliver(bot):
            last = None
            text = message.text or ""
            for index, att in enumerate(message.attachments):
                # The text goes as the caption of the first file when it fits.
                caption = text if index == 0 and len(text) <= 1024 else None
                upload = InputFile(att.data, filename=att.filename)
                if (att.mimetype or "").startswith(
                    "image/"
                ) and att.mimetype != "image/gif":
                    last = await bot.send_photo(
                        chat_id, upload, caption=caption, **business
                    )
                else:
                    last = await bot.send_document(
                        chat_id, upload, caption=caption, **business
                    )
                if caption:
                    text = ""
            if text:
                markup = {}
                if message.request_contact:
                    markup["reply_markup"] = _contact_keyboard(message.request_contact)
                elif message.choices:
                    markup["reply_markup"] = _choice_keyboard(message.choices)
                last = await bot.send_message(chat_id, text, **markup, **business)
            return last

        try:
            sent = self._run(deliver)
        except SendError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a clear SendError
            raise self._send_error(exc) from None
        if sent is None:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        return SendResult(f"{sent.chat.id}:{sent.message_id}", "sent")

    # -- administration ------------------------------------------------------
    def register_webhook(self):
        if not self.config.secret:
            raise ConnectorError("the channel has no webhook secret")

        async def register_it(bot):
            return await bot.set_webhook(
                self.config.webhook_url,
                secret_token=self.config.secret,
                allowed_updates=ALLOWED_UPDATES,
            )

        try:
            self._run(register_it)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(getattr(exc, "message", None) or str(exc)) from None
        return self.config.webhook_url

    def webhook_info(self):
        async def info(bot):
            me = await bot.get_me()
            return me, await bot.get_webhook_info()

        try:
            me, wh = self._run(info)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(getattr(exc, "message", None) or str(exc)) from None
        return {
            "bot": f"@{me.username}" if me.username else me.first_name,
            "url": wh.url or "",
            "pending_update_count": wh.pending_update_count or 0,
            "last_error_date": wh.last_error_date.isoformat()
            if wh.last_error_date
            else "",
            "last_error_message": wh.last_error_message or "",
            "matches": bool(wh.url) and wh.url == self.config.webhook_url,
        }
