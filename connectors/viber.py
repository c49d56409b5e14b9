"""Viber bots, through the Viber REST Bot API.

Inbound: Viber POSTs JSON callbacks to the webhook registered with
``set_webhook``, signed in ``X-Viber-Content-Signature``: the hex HMAC-SHA256
of the raw body keyed with the bot's authentication token.
Outbound: ``POST <root>/send_message`` with the ``X-Viber-Auth-Token`` header;
Viber answers HTTP 200 with ``{"status": 0, "message_token": ...}`` or a
non-zero ``status`` and its ``status_message``.  Pictures and files are sent
by URL: Viber downloads them, so they get a public address (see
:attr:`OutboundAttachment.url`).
Every call goes to ``config.base_url`` (https://chatapi.viber.com/pa by
default), which is how tests point the bot at a fake Viber on 127.0.0.1.

Viber user ids are scoped to the bot: the same person has another id on
another bot.
"""

from __future__ import annotations

import mimetypes

from .errors import PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    Contact,
    ContactUpdate,
    DeliveryStatus,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendResult,
    SubscriptionEvent,
)
from .interface import Connector, register
from .signing import hmac_hex, secrets_equal
from .validation import provider_id

DEFAULT_API_ROOT = "https://chatapi.viber.com/pa"
SIGNATURE_HEADER = "X-Viber-Content-Signature"
AUTH_HEADER = "X-Viber-Auth-Token"
EVENT_TYPES = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
]
#: Viber shows pictures of these types up to this size; other files go as files.
PICTURE_TYPES = ("image/jpeg", "image/png")
MAX_PICTURE_BYTES = 1024 * 1024
MAX_SENDER_NAME = 28

#: https://developers.viber.com/docs/api/rest-bot-api/#error-codes
STATUS_NAMES = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
}
#: The person cannot receive messages from the bot until they write again.
BLOCKING_STATUSES = {5, 6, 11}
RETRYABLE_STATUSES = {12}
#: tooManyRequests: the whole bot waits (seconds)
RATE_LIMIT_STATUSES = {12: 1}
DELIVERY_EVENTS = {"delivered": "delivered", "seen": "read", "failed": "failed"}
#: Viber message type -> (our kind, file name when Viber gives none,
#: mimetype when the name tells none)
MEDIA_MESSAGES = {
    "picture": ("image", "picture_%s.jpg", "image/jpeg"),
    "video": ("video", "video_%s.mp4", "video/mp4"),
    "file": ("document", "file_%s", "application/octet-stream"),
    "sticker": ("sticker", "sticker_%s.png", "image/png"),
}


@register
class ViberConnector(Connector):
    code = "viber"
    #: Viber's media servers (dl-media.viber.com, ...)
    media_hosts = ("viber.com", "viber.io")
    label = "Viber"
    sequence = 60
    icon = "fa-phone-square"
    color = "#7360F2"
    deep_link = "viber://pa?chatURI=%s"
    common_settings = ("api_base_url",)
    user_ids_are_global = False
    ack = HttpAnswer(200, "", "text/plain")

    # -- plumbing ----------------------------------------------------------
    default_api_root = DEFAULT_API_ROOT

    def _call(self, method, payload):
        """One Bot API call; a refusal becomes a SendError with Viber's
        status code and text."""
        if not self.config.token:
            raise SendError(
                "The Viber authentication token is not set on this channel.",
                code="config",
            )
        response = self.http(
            "POST",
            f"{self.api_root()}/{method}",
            json=payload,
            headers={AUTH_HEADER: self.config.token},
        )
        data = self.json_answer(response, "Viber")
        status = data.get("status") if isinstance(data, dict) else None
        if status != 0:
            name = STATUS_NAMES.get(status, "generalError")
            text = data.get("status_message") or name
            raise SendError(
                f"{text} (Viber status {status}, {name})",
                code=str(status),
                retryable=status in RETRYABLE_STATUSES,
                blocks_recipient=status in BLOCKING_STATUSES,
                retry_after=RATE_LIMIT_STATUSES.get(status),
            )
        return data

    # -- inbound -------------------------------------------------------------
    def verify(self, headers, body, query):
        if not self.config.token:
            raise SignatureError("the channel has no Viber authentication token")
        given = self.header(headers, SIGNATURE_HEADER).strip().lower()
        expected = hmac_hex(self.config.token, body)
        if not given or not secrets_equal(expected, given):
            raise SignatureError(f"wrong or missing {SIGNATURE_HEADER} header")

    def parse(self, headers, body, query):
        data = self.load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            raise PayloadError('a Viber callback is an object with an "event"')
        kind = data["event"]
        date = _seconds(data.get("timestamp"))
        token = data.get("message_token")
        if token is not None:
            token = provider_id(token, "message_token")
        event_id = "{}:{}".format(
            kind,
            token if token is not None else data.get("timestamp", ""),
        )
        if kind == "message":
            return [self._message_event(event_id, data, date)]
        if kind in DELIVERY_EVENTS:
            if token is None:
                raise PayloadError(f"a {kind} callback needs a message_token")
            return [
                DeliveryStatus(
                    event_id,
                    str(token),
                    DELIVERY_EVENTS[kind],
                    date=date,
                    error_text=str(data.get("desc") or "") if kind == "failed" else "",
                    recipient_id=provider_id(data.get("user_id") or "", "user_id"),
                )
            ]
        if kind == "unsubscribed":
            user_id = data.get("user_id")
            if not isinstance(user_id, str) or not user_id:
                raise PayloadError("an unsubscribed callback needs a user_id")
            return [
                SubscriptionEvent(
                    event_id, Contact(user_id=user_id), subscribed=False, date=date
                )
            ]
        if kind in ("subscribed", "conversation_started"):
            sender = self._contact(data.get("user"))
            if kind == "subscribed":
                return [
                    ContactUpdate(
                        event_id,
                        sender,
                        date=date,
                        reachable=True,
                        note="subscribed to the bot",
                    )
                ]
            return [
                ContactUpdate(
                    event_id,
                    sender,
                    date=date,
                    reachable=True if data.get("subscribed") else None,
                    note="opened the chat with the bot",
                )
            ]
        if kind == "webhook":
            return [
                IgnoredEvent(
                    event_id, reason="Viber checked the webhook address (set_webhook)"
                )
            ]
        return [IgnoredEvent(event_id, reason=f"Viber callback {kind} is not handled")]

    @staticmethod
    def _contact(user):
        if (
            not isinstance(user, dict)
            or not isinstance(user.get("id"), str)
            or not user["id"]
        ):
            raise PayloadError("the callback has no user id")
        return Contact(
            user_id=user["id"],
            name=str(user.get("name") or "").strip() or user["id"],
            language=str(user.get("language") or ""),
        )

    def _message_event(self, event_id, data, date):
        sender = self._contact(data.get("sender"))
        message = data.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise PayloadError("a message callback needs a message with a type")
        token = data.get("message_token")
        if token is None:
            raise PayloadError("a message callback needs a message_token")
        kind = message["type"]
        event = InboundMessage(
            event_id=event_id,
            message_id=str(token),
            sender=sender,
            chat_id=sender.user_id,
            date=date,
            text=str(message.get("text") or ""),
        )
        media = str(message.get("media") or "")
        if kind == "text":
            pass
        elif kind in MEDIA_MESSAGES:
            our_kind, default_name, default_type = MEDIA_MESSAGES[kind]
            event.message_type = our_kind
            if not media:
                event.note = f"Viber {kind} without its file"
            else:
                filename = str(
                    message.get("file_name")
                    or default_name % (message.get("sticker_id") or token)
                )
                event.attachments.append(
                    Attachment(
                        our_kind,
                        url=media,
                        filename=filename,
                        size=_int(message.get("size")),
                        mimetype=mimetypes.guess_type(filename)[0] or default_type,
                    )
                )
        elif kind == "contact":
            contact = message.get("contact") or {}
            event.message_type = "contact"
            event.shared_contact = Contact(
                name=str(contact.get("name") or ""),
                phone=str(contact.get("phone_number") or ""),
            )
        elif kind == "location":
            location = message.get("location") or {}
            try:
                event.location = Location(
                    float(location["lat"]),
                    float(location["lon"]),
                    str(location.get("address") or ""),
                )
            except (KeyError, TypeError, ValueError):
                raise PayloadError("a location message needs lat and lon") from None
            event.message_type = "location"
        elif kind == "url":
            event.text = event.text or media
        else:
            event.note = f"Viber message of type {kind} is not supported"
        return event

    def fetch_media(self, attachment):
        # Viber media addresses are public and expire after a while.
        data, content_type = self.download(attachment.url)
        mimetype = attachment.mimetype or content_type or "application/octet-stream"
        return data, mimetype, attachment.filename or "file"

    # -- outbound ------------------------------------------------------------
    def _sender_name(self):
        return (self.config.extra.get("sender_name") or "Odoo")[:MAX_SENDER_NAME]

    def send(self, message):
        base = {
            "receiver": message.recipient_id,
            "min_api_version": 1,
            "sender": {"name": self._sender_name()},
        }
        if message.idempotency_key:
            # Echoed back by Viber with the customer's answer; helps support.
            base["tracking_data"] = message.idempotency_key
        payloads = []
        if message.text:
            payloads.append(dict(base, type="text", text=message.text))
        for att in message.attachments:
            if not att.url:
                raise SendError(
                    f"Viber fetches files by URL and {att.filename} "
                    "has no public address.",
                    code="no_url",
                )
            if att.mimetype in PICTURE_TYPES and len(att.data) <= MAX_PICTURE_BYTES:
                payloads.append(dict(base, type="picture", text="", media=att.url))
            else:
                payloads.append(
                    dict(
                        base,
                        type="file",
                        media=att.url,
                        size=len(att.data),
                        file_name=att.filename[:255],
                    )
                )
        if not payloads:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        first = None
        for payload in payloads:
            token = str(self._call("send_message", payload).get("message_token"))
            first = first or token
        # Delivery callbacks of the first part (the text) report on the message.
        return SendResult(first, "sent")

    # -- administration ------------------------------------------------------
    def register_webhook(self):
        self._call(
            "set_webhook",
            {
                "url": self.config.webhook_url,
                "event_types": EVENT_TYPES,
                "send_name": True,
                "send_photo": False,
            },
        )
        return self.config.webhook_url

    def webhook_info(self):
        info = self._call("get_account_info", {})
        url = info.get("webhook") or ""
        return {
            "bot": info.get("name") or info.get("uri") or "",
            "url": url,
            "matches": bool(url) and url == self.config.webhook_url,
        }


def _seconds(timestamp_ms):
    try:
        return float(timestamp_ms) / 1000.0
    except (TypeError, ValueError):
        return 0.0


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
