"""WhatsApp through WAHA, a self-hosted WhatsApp Web gateway ("WhatsApp HTTP
API", devlikeapro; docs followed: waha.devlike.pro, "Events", "Sessions",
"Send messages", "Receive messages" and "Security" pages as of 2026).

A regular WhatsApp (or WhatsApp Business app) number is paired with the
gateway by scanning a QR code, as WhatsApp Web is; the gateway then delivers
what the number receives and sends what we ask.  This is the "grey" way of
the source article: see docs/channels/whatsapp_waha.rst for its risks.

Inbound: the gateway POSTs ``{"id": "evt_...", "timestamp": <ms>, "event":
"message", "session": "<session>", "me": {...}, "payload": {...}}`` to the
webhook of its session, signed when the webhook has an ``hmac.key``:
``X-Webhook-Hmac`` is the hex HMAC-SHA512 of the raw body keyed with it,
``X-Webhook-Hmac-Algorithm: sha512``.  Events read: ``message`` (and
``message.any``: the same message, deduplicated on its id), ``message.ack``
(delivery of what we sent), ``session.status`` (the connection of the
number).
Outbound: ``POST /api/sendText``, ``/api/sendImage`` and ``/api/sendFile``
with the ``X-Api-Key`` header and the session name in the body; the
session's state with ``GET /api/sessions/{session}`` and its pairing QR code
with ``GET /api/{session}/auth/qr``.

A one-to-one chat id is ``<phone digits>@c.us``: the gateway vouches for the
number as WhatsApp does for a Cloud API ``wa_id``, so the identity's user id
is the same digits and its phone is verified (see :mod:`.whatsapp`): the
customer stays the same person when the number moves to the Cloud API.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from typing import ClassVar

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    Contact,
    DeliveryStatus,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendResult,
    register_event_class,
)
from .interface import Connector, register
from .meta import _lt
from .safe_http import host_of
from .signing import hmac_hex, secrets_equal
from .validation import provider_id

HMAC_HEADER = "X-Webhook-Hmac"
ALGORITHM_HEADER = "X-Webhook-Hmac-Algorithm"
ALGORITHM = "sha512"
API_KEY_HEADER = "X-Api-Key"
#: a one-to-one chat with a phone number; groups, channels, broadcasts and
#: hidden ("lid") ids end otherwise
PERSONAL_SUFFIX = "@c.us"
LID_SUFFIX = "@lid"
GROUP_SUFFIX = "@g.us"
#: ``message.ack`` ackName -> our delivery status (PENDING says nothing new)
ACK_STATUSES = {
    "ERROR": "failed",
    "SERVER": "sent",
    "DEVICE": "delivered",
    "READ": "read",
    "PLAYED": "read",
}
ACK_NAMES = {
    -1: "ERROR",
    0: "PENDING",
    1: "SERVER",
    2: "DEVICE",
    3: "READ",
    4: "PLAYED",
}
#: session statuses (Sessions page); any other is reported as it comes
WORKING = "WORKING"
STARTING = "STARTING"
SESSION_STATUSES = (
    "STOPPED",
    STARTING,
    "SCAN_QR_CODE",
    "PASSKEY_REQUIRED",
    "PASSKEY_CONFIRMATION_REQUIRED",
    WORKING,
    "FAILED",
)
#: statuses in which the number neither receives nor sends
DOWN_STATUSES = (
    "STOPPED",
    "SCAN_QR_CODE",
    "PASSKEY_REQUIRED",
    "PASSKEY_CONFIRMATION_REQUIRED",
    "FAILED",
)
IMAGE_TYPES = ("image/jpeg", "image/png")
MESSAGE_EVENTS = ("message", "message.any")


@register_event_class
@dataclass
class SessionStatus:
    """The gateway's session (the paired number) changed state: WORKING,
    or down (STOPPED, SCAN_QR_CODE: logged out, FAILED: disconnected or
    banned)."""

    event_id: str
    status: str
    session: str = ""
    date: float = 0.0
    me: str = ""  # the paired number's chat id, when WORKING

    kind: ClassVar[str] = "session_status"


def chat_phone(chat_id: str) -> str:
    """The E.164 phone of a personal chat id (``79161234567@c.us``), or ''."""
    if chat_id.endswith(PERSONAL_SUFFIX):
        digits = chat_id[: -len(PERSONAL_SUFFIX)]
        if digits.isdigit():
            return "+" + digits
    return ""


def short_message_id(serialized: str) -> str:
    """The message's own id in a serialized WAHA id
    ``<fromMe>_<chat id>_<message id>[_<participant>]``, which both the send
    answer and the ack events carry, whatever the engine."""
    parts = serialized.split("_")
    if len(parts) >= 3 and parts[0] in ("true", "false"):
        return parts[2]
    return serialized


@register
class WahaConnector(Connector):
    code = "whatsapp_waha"
    label = "WhatsApp (WAHA gateway)"
    sequence = 31
    icon = "fa-whatsapp"
    color = "#25D366"
    deep_link = "https://wa.me/%s"
    handle_format = "digits"
    # A chat id is a phone number, whichever paired number it writes to.
    user_ids_are_global = True
    # The HMAC key and the gateway address under their common names; the API
    # key and the session name are shown under theirs (the channel form).
    common_settings = ("webhook_secret", "api_base_url")
    ack = HttpAnswer(200, "ok", "text/plain")
    # Files are served by the gateway itself: its API address is the only
    # host downloaded from (ProviderHttp.download_hosts trusts it).
    media_hosts = ()
    # No published limit: WhatsApp bans numbers that write to many new
    # people; one message a second keeps a burst of replies human-like.
    send_rate = 1
    supports_greeting = False

    # -- plumbing -------------------------------------------------------------
    def session(self) -> str:
        return (self.config.account_ref or "default").strip()

    def _headers(self, accept="application/json"):
        if not self.config.token:
            raise SendError(
                "The WAHA API key is not set on this channel.", code="config"
            )
        if not self.config.base_url:
            raise SendError(
                "The address of the WAHA gateway is not set on this channel.",
                code="config",
            )
        return {API_KEY_HEADER: self.config.token, "Accept": accept}

    def _answer(self, response):
        """The JSON of a gateway answer; a refusal raises a SendError with
        the gateway's message."""
        data = self.json_answer(response, "WAHA")
        status = response.status_code
        if status < 400:
            return data
        text = ""
        if isinstance(data, dict):
            text = str(data.get("message") or data.get("error") or "")
        text = text or f"HTTP {status}"
        if status in (401, 403):
            raise SendError(f"WAHA refused the API key ({text})", code=f"http_{status}")
        # 422: the session is not WORKING (the phone is offline, being
        # paired again): the message waits for it.
        raise SendError(
            f"WAHA refused the request: {text}",
            code=f"http_{status}",
            retryable=status in (409, 422),
        )

    def _post(self, path, payload):
        response = self.http(
            "POST", f"{self.api_root()}{path}", json=payload, headers=self._headers()
        )
        return self._answer(response)

    # -- inbound --------------------------------------------------------------
    def verify(self, headers, body, query):
        if not self.config.secret:
            raise SignatureError("the channel has no WAHA webhook HMAC key")
        algorithm = self.header(headers, ALGORITHM_HEADER).strip().lower()
        given = self.header(headers, HMAC_HEADER).strip().lower()
        if algorithm != ALGORITHM or not given:
            raise SignatureError(f"missing {HMAC_HEADER} (sha512) header")
        if not secrets_equal(hmac_hex(self.config.secret, body, ALGORITHM), given):
            raise SignatureError(f"wrong {HMAC_HEADER} header")

    def parse(self, headers, body, query):
        data = self.load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            raise PayloadError('a WAHA event is an object with an "event"')
        kind = data["event"]
        payload = data.get("payload")
        session = data.get("session")
        if not isinstance(payload, dict) or not isinstance(session, str):
            raise PayloadError("a WAHA event has a session name and a payload object")
        event_id = provider_id(data.get("id") or "", "id")
        if session != self.session():
            return [
                IgnoredEvent(
                    event_id or f"{kind}:{_ms(data.get('timestamp'))}",
                    reason=f"event of WAHA session {session!r}, not of this "
                    f"channel's session {self.session()!r}",
                )
            ]
        if kind in MESSAGE_EVENTS:
            return [self._message_event(payload)]
        if kind == "message.ack":
            return [self._ack_event(payload)]
        if kind == "session.status":
            return [self._session_event(data, payload)]
        return [
            IgnoredEvent(
                event_id or f"{kind}:{_ms(data.get('timestamp'))}",
                reason=f"WAHA event {kind} is not handled",
            )
        ]

    def _message_event(self, msg):
        if not isinstance(msg.get("id"), str) or not isinstance(msg.get("from"), str):
            raise PayloadError("a WAHA message needs an id and a sender (from)")
        message_id = provider_id(msg["id"], "payload.id")
        event_id = f"msg:{message_id}"
        chat = provider_id(msg["from"], "payload.from")
        if msg.get("fromMe"):
            return IgnoredEvent(
                event_id, reason="message written from the paired phone itself"
            )
        if chat.endswith(GROUP_SUFFIX) or not (
            chat.endswith(PERSONAL_SUFFIX) or chat.endswith(LID_SUFFIX)
        ):
            # A group (or a status, a channel) is not one customer: journaled,
            # not made into a conversation and a lead.
            return IgnoredEvent(
                event_id,
                reason=f"message in {chat}: only one-to-one chats are customer "
                "conversations",
            )
        phone = chat_phone(chat)
        # The chat id is the number WhatsApp delivered from: vouched for, as a
        # Cloud API wa_id.  A hidden id (@lid) has no phone.
        user_id = phone[1:] if phone else chat
        raw = msg.get("_data") if isinstance(msg.get("_data"), dict) else {}
        name = raw.get("notifyName") or raw.get("pushName") or ""
        name = name.strip() if isinstance(name, str) else ""
        sender = Contact(
            user_id=user_id,
            name=name or phone or user_id,
            phone=phone,
            phone_verified=bool(phone),
        )
        try:
            date = float(msg.get("timestamp") or 0)
        except (TypeError, ValueError):
            raise PayloadError("timestamp must be a number") from None
        body = msg.get("body")
        event = InboundMessage(
            event_id=event_id,
            message_id=short_message_id(message_id),
            sender=sender,
            chat_id=chat,
            date=date,
            text=body if isinstance(body, str) else "",
        )
        media = msg.get("media") if isinstance(msg.get("media"), dict) else None
        if msg.get("hasMedia") or media:
            self._media(event, media or {}, message_id)
        location = msg.get("location")
        if isinstance(location, dict):
            try:
                event.location = Location(
                    float(location["latitude"]),
                    float(location["longitude"]),
                    str(location.get("description") or ""),
                )
            except (KeyError, TypeError, ValueError):
                raise PayloadError(
                    "a location needs a latitude and a longitude"
                ) from None
            event.message_type = "location"
        return event

    @staticmethod
    def _media(event, media, message_id):
        url = media.get("url") if isinstance(media.get("url"), str) else ""
        mimetype = (str(media.get("mimetype") or "")).split(";")[0].strip()
        kind = _kind(mimetype)
        event.message_type = kind
        if not url:
            # Media download off in the gateway's configuration, or failed.
            event.note = _lt(
                "The WAHA gateway did not keep this file; open WhatsApp on the "
                "phone to see it."
            )
            return
        filename = (
            media.get("filename") if isinstance(media.get("filename"), str) else ""
        )
        filename = filename or "{}_{}{}".format(
            kind,
            short_message_id(message_id)[-12:],
            mimetypes.guess_extension(mimetype or "") or "",
        )
        event.attachments.append(
            Attachment(
                kind,
                url=url,
                filename=filename,
                mimetype=mimetype or "application/octet-stream",
            )
        )

    def _ack_event(self, payload):
        if not isinstance(payload.get("id"), str):
            raise PayloadError("a message.ack needs the message id")
        message_id = short_message_id(provider_id(payload["id"], "payload.id"))
        name = payload.get("ackName")
        if not isinstance(name, str):
            ack = payload.get("ack")
            name = ACK_NAMES.get(ack) if isinstance(ack, int) else None
        if not name:
            raise PayloadError("a message.ack needs ack or ackName")
        event_id = f"ack:{message_id}:{name}"
        if not payload.get("fromMe"):
            return IgnoredEvent(event_id, reason="receipt of a customer's message")
        status = ACK_STATUSES.get(name)
        if not status:
            return IgnoredEvent(event_id, reason=f"message {name.lower()}")
        return DeliveryStatus(
            event_id,
            message_id,
            status,
            error_text="WhatsApp reported an error" if status == "failed" else "",
            recipient_id=provider_id(payload.get("from") or "", "payload.from"),
        )

    def _session_event(self, data, payload):
        status = payload.get("status")
        if not isinstance(status, str) or not status:
            raise PayloadError("a session.status needs a status")
        ms = _ms(data.get("timestamp"))
        for entry in payload.get("statuses") or []:
            # The moment of the status, as the gateway saw it.
            if isinstance(entry, dict) and entry.get("status") == status:
                ms = _ms(entry.get("timestamp")) or ms
        me = data.get("me") if isinstance(data.get("me"), dict) else {}
        return SessionStatus(
            event_id=f"session:{status}:{ms}",
            status=status,
            session=data["session"],
            date=ms / 1000.0,
            me=provider_id(me.get("id") or "", "me.id"),
        )

    def fetch_media(self, attachment):
        # Only from the gateway: the API key goes with the request only there.
        headers = None
        if host_of(attachment.url) == host_of(self.api_root()):
            headers = {API_KEY_HEADER: self.config.token or ""}
        data, content_type = self.download(attachment.url, headers=headers)
        mimetype = attachment.mimetype or content_type or "application/octet-stream"
        return data, mimetype, attachment.filename or "file"

    # -- outbound -------------------------------------------------------------
    def chat_id(self, recipient):
        recipient = (recipient or "").strip()
        if not recipient:
            raise SendError("The message has no recipient.")
        if "@" in recipient:
            return recipient
        return recipient.lstrip("+") + PERSONAL_SUFFIX

    def send(self, message):
        chat = self.chat_id(message.recipient_id)
        base = {"session": self.session(), "chatId": chat}
        calls = []
        text = message.text or ""
        if text and not message.attachments:
            calls.append(("/api/sendText", dict(base, text=text)))
        for index, att in enumerate(message.attachments):
            path = "/api/sendImage" if att.mimetype in IMAGE_TYPES else "/api/sendFile"
            payload = dict(
                base,
                file={
                    "mimetype": att.mimetype or "application/octet-stream",
                    "filename": att.filename,
                    "data": base64.b64encode(att.data).decode(),
                },
            )
            if index == 0 and text:
                payload["caption"] = text
            calls.append((path, payload))
        if not calls:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        first = ""
        for path, payload in calls:
            sent = _sent_id(self._post(path, payload))
            first = first or sent
        if not first:
            raise SendError("WAHA answered without the id of the message sent.")
        # Acks of the first part (the text, or the file with its caption)
        # report on the message.
        return SendResult(first, "sent")

    # -- administration -------------------------------------------------------
    def session_info(self) -> dict:
        """The session as the gateway reports it: ``status`` (WORKING...),
        ``me`` (the paired number's chat id), ``webhooks`` (their URLs)."""
        try:
            response = self.http(
                "GET",
                f"{self.api_root()}/api/sessions/{self.session()}",
                headers=self._headers(),
            )
        except SendError as exc:
            raise ConnectorError(str(exc)) from None
        if response.status_code == 404:
            raise ConnectorError(
                f"the WAHA gateway has no session named {self.session()!r}"
            )
        try:
            data = self._answer(response)
        except SendError as exc:
            raise ConnectorError(str(exc)) from None
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise ConnectorError("WAHA answered without the session's status")
        me = data.get("me") if isinstance(data.get("me"), dict) else {}
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        hooks = (
            config.get("webhooks") if isinstance(config.get("webhooks"), list) else []
        )
        return {
            "status": data["status"],
            "me": str(me.get("id") or ""),
            "name": str(me.get("pushName") or ""),
            "webhooks": [h.get("url") for h in hooks if isinstance(h, dict)],
            "signed": [
                h.get("url")
                for h in hooks
                if isinstance(h, dict) and isinstance(h.get("hmac"), dict)
            ],
        }

    def qr_image(self) -> tuple[bytes, str]:
        """The pairing QR code as an image (bytes, mimetype), while the
        session waits to be paired (SCAN_QR_CODE)."""
        try:
            response = self.http(
                "GET",
                f"{self.api_root()}/api/{self.session()}/auth/qr",
                params={"format": "image"},
                headers=self._headers("image/png"),
            )
        except SendError as exc:
            raise ConnectorError(str(exc)) from None
        ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        if response.status_code == 200 and ctype.startswith("image/"):
            return response.content, ctype
        try:
            self._answer(response)
        except SendError as exc:
            raise ConnectorError(str(exc)) from None
        raise ConnectorError("WAHA answered without a QR image")


def _kind(mimetype):
    if mimetype.startswith("image/"):
        return "sticker" if mimetype == "image/webp" else "image"
    if mimetype.startswith("video/"):
        return "video"
    if mimetype.startswith("audio/"):
        return "voice" if "ogg" in mimetype or "opus" in mimetype else "audio"
    return "document"


def _ms(value):
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def _sent_id(data):
    """The message id in the answer of a send call: WEBJS answers the message
    (``id`` serialized, or ``id._serialized``), NOWEB/GOWS its ``key.id``."""
    if not isinstance(data, dict):
        return ""
    value = data.get("id")
    if isinstance(value, dict):
        value = value.get("_serialized") or value.get("id")
    if not value and isinstance(data.get("key"), dict):
        value = data["key"].get("id")
    return short_message_id(str(value)) if value else ""
