"""VK community messages, through the Callback API and the VK API.

Inbound: VK POSTs JSON events ``{"type", "object", "group_id", "event_id",
"v", "secret"}`` to the callback server configured in the community; the
``secret`` field is the secret key set there.  The first request is
``{"type": "confirmation"}``, answered with the community's confirmation
string as plain text; every other event must be answered with plain ``ok``
or VK sends it again.
Outbound: ``messages.send`` with the community access token, ``peer_id`` and
a ``random_id`` derived from our message: VK refuses to deliver a second
message with the same ``random_id``, so a retried send is never a duplicate.
Files are uploaded first (photos.getMessagesUploadServer / docs.
getMessagesUploadServer -> upload -> photos.saveMessagesPhoto / docs.save).
API errors arrive as ``{"error": {"error_code", "error_msg"}}``.
Every call goes to ``config.base_url`` (https://api.vk.com/method by default),
which is how tests talk to a fake VK on 127.0.0.1.

VK user ids are global: the same person writing to two communities is one
customer.
"""

from __future__ import annotations

import hashlib
import json
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
    SubscriptionEvent,
    register_event_class,
)
from .interface import Connector, register
from .signing import secrets_equal
from .validation import provider_id

DEFAULT_API_ROOT = "https://api.vk.com/method"
DEFAULT_API_VERSION = "5.199"
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif")
#: the recipient does not accept messages from the community (any more)
BLOCKING_ERRORS = {900, 901, 902}
#: worth trying again later: unknown error, too many requests, flood control,
#: server error
RETRYABLE_ERRORS = {1, 6, 9, 10}
#: rate limits (seconds the whole community waits): 6 too many requests per
#: second, 9 flood control (too many identical actions)
RATE_LIMIT_ERRORS = {6: 1, 9: 1}


def random_id_for(key: str) -> int:
    """A positive 31-bit ``random_id`` that is the same for every attempt to
    send one message (VK drops a repeated random_id instead of sending it)."""
    value = (
        int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    )
    return value or 1


@register
class VkConnector(Connector):
    code = "vk"
    #: VK's file and photo servers
    media_hosts = (
        "vk.com",
        "vk.me",
        "userapi.com",
        "vkuser.net",
        "vkuseraudio.net",
        "vkuservideo.net",
        "vk-cdn.net",
        "mycdn.me",
    )
    label = "VK"
    sequence = 70
    icon = "fa-vk"
    color = "#0077FF"
    deep_link = "https://vk.me/%s"
    supports_greeting = True
    common_settings = ("api_base_url",)
    user_ids_are_global = True
    # dev.vk.com/ru/api/api-requests: 20 requests per second with a community token
    send_rate = 20
    ack = HttpAnswer(200, "ok", "text/plain")

    # -- plumbing ----------------------------------------------------------
    default_api_root = DEFAULT_API_ROOT

    def _version(self):
        return self.config.extra.get("api_version") or DEFAULT_API_VERSION

    def _call(self, method, params):
        """One VK API method; an ``error`` answer becomes a SendError carrying
        VK's error code.  The token travels in the body, never in the URL."""
        if not self.config.token:
            raise SendError(
                "The community access token is not set on this channel.", code="config"
            )
        params = dict(params, access_token=self.config.token, v=self._version())
        response = self.http("POST", f"{self.api_root()}/{method}", data=params)
        data = self.json_answer(response, "VK")
        error = data.get("error") if isinstance(data, dict) else None
        if error:
            code = error.get("error_code") if isinstance(error, dict) else None
            text = (
                error.get("error_msg") if isinstance(error, dict) else str(error)
            ) or "unknown error"
            raise SendError(
                f"{text} (VK error {code})",
                code=str(code),
                retryable=code in RETRYABLE_ERRORS,
                blocks_recipient=code in BLOCKING_ERRORS,
                retry_after=RATE_LIMIT_ERRORS.get(code),
            )
        if not isinstance(data, dict) or "response" not in data:
            raise SendError(
                "VK answered without a response", code="bad_answer", retryable=True
            )
        return data["response"]

    @classmethod
    def _body(cls, body):
        try:
            data = cls.load_json(body)
        except PayloadError:
            return None
        return data if isinstance(data, dict) else None

    def _check_group(self, data):
        group = str(self.config.account_ref or "").strip().lstrip("-")
        if group and str(data.get("group_id")) != group:
            raise SignatureError(
                "the event is for community {}, this channel is community {}".format(
                    data.get("group_id"), group
                )
            )

    # -- inbound -------------------------------------------------------------
    def handshake(self, method, headers, query, body):
        """The confirmation request of the callback server: answered with the
        community's confirmation string (which is not a secret: it only
        proves to VK that this address belongs to the community)."""
        if method != "POST":
            return None
        data = self._body(body)
        if not data or data.get("type") != "confirmation":
            return None
        self._check_group(data)
        if "secret" in data and not secrets_equal(
            self.config.secret, data.get("secret")
        ):
            raise SignatureError("wrong secret key")
        if not self.config.verify_token:
            raise SignatureError("the channel has no confirmation string")
        return HttpAnswer(200, self.config.verify_token, "text/plain")

    def verify(self, headers, body, query):
        data = self._body(body)
        if data is None:
            raise SignatureError("the request carries no secret key")
        if not secrets_equal(self.config.secret, data.get("secret")):
            raise SignatureError("wrong or missing secret key")
        self._check_group(data)

    def journal_body(self, body):
        # The secret key travels in every body: the journal keeps the rest.
        data = self._body(body)
        if data is None or "secret" not in data:
            return body
        data.pop("secret")
        return json.dumps(data, ensure_ascii=False).encode()

    def parse(self, headers, body, query):
        data = self.load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise PayloadError('a VK event is an object with a "type"')
        kind = data["type"]
        obj = data.get("object")
        if not isinstance(obj, dict):
            raise PayloadError('a VK event needs an "object"')
        if kind == "message_new":
            # API 5.103+: {"message": {...}, "client_info": {...}};
            # before: the message itself.
            message = (
                obj.get("message") if isinstance(obj.get("message"), dict) else obj
            )
            if "from_id" not in message and "user_id" in message:
                # Callback API before 5.80: user_id / body / chat_id.
                message = _legacy_message(message)
                if message.get("out"):
                    return [
                        IgnoredEvent(
                            self._event_id(data, message),
                            reason="message of the community",
                        )
                    ]
            if not isinstance(message.get("from_id"), int):
                raise PayloadError("a message needs an integer from_id")
            event_id = self._event_id(data, message)
            if message["from_id"] <= 0:
                return [
                    IgnoredEvent(
                        event_id, reason="message from a community, not a person"
                    )
                ]
            return [self._message_event(event_id, message)]
        if kind == "message_edit":
            if not isinstance(obj.get("from_id"), int):
                raise PayloadError("a message needs an integer from_id")
            event_id = self._event_id(data, obj, obj.get("update_time"))
            if obj.get("out") or _int(obj.get("from_id")) <= 0:
                return [
                    IgnoredEvent(event_id, reason="edit of a message of the community")
                ]
            event = self._message_event(event_id, obj)
            event.is_edit = True
            return [event]
        if kind == "message_reply":
            # Our own outgoing message as VK saw it: confirms what we sent
            # (matched on the message id; a reply written in VK itself is
            # unknown to Odoo and journaled as ignored). Never stored twice.
            event_id = self._event_id(data, obj)
            if not obj.get("id"):
                return [IgnoredEvent(event_id, reason="reply without a message id")]
            return [
                DeliveryStatus(
                    event_id,
                    provider_id(obj["id"], "object.id"),
                    "sent",
                    date=float(_int(obj.get("date"))),
                    recipient_id=provider_id(
                        obj.get("peer_id") or "", "object.peer_id"
                    ),
                )
            ]
        if kind == "message_event":
            return [self._button_press(data, obj)]
        if kind in ("message_allow", "message_deny"):
            user_id = _int(obj.get("user_id"))
            event_id = data.get("event_id") or "{}:{}:{}".format(
                kind,
                user_id,
                obj.get("key", ""),
            )
            if user_id <= 0:
                raise PayloadError(f"{kind} needs a user_id")
            return [
                SubscriptionEvent(
                    provider_id(event_id, "event_id"),
                    Contact(user_id=str(user_id)),
                    subscribed=kind == "message_allow",
                )
            ]
        event_id = (
            data.get("event_id") or f"{kind}:{hashlib.sha256(body).hexdigest()[:32]}"
        )
        return [
            IgnoredEvent(
                provider_id(event_id, "event_id"),
                reason=f"VK event {kind} is not handled",
            )
        ]

    @staticmethod
    def _button_press(data, obj):
        """A callback button pressed (``message_event``): VK shows a spinner
        until the community answers it with messages.sendMessageEventAnswer."""
        user_id, peer_id = _int(obj.get("user_id")), _int(obj.get("peer_id"))
        if user_id <= 0 or not obj.get("event_id"):
            raise PayloadError("message_event needs a user_id and an event_id")
        callback = provider_id(obj["event_id"], "object.event_id")
        payload = obj.get("payload")
        if not isinstance(payload, str):
            payload = (
                json.dumps(payload, ensure_ascii=False) if payload is not None else ""
            )
        return ButtonPress(
            event_id=provider_id(
                data.get("event_id") or f"message_event:{callback}", "event_id"
            ),
            sender=Contact(user_id=str(user_id)),
            chat_id=str(peer_id or user_id),
            callback_id=callback,
            payload=payload[:500],
        )

    def answer_button(self, event):
        """Acknowledge a button press: VK stops the button's spinner."""
        return self._call(
            "messages.sendMessageEventAnswer",
            {
                "event_id": event.callback_id,
                "user_id": event.sender.user_id,
                "peer_id": event.chat_id,
            },
        )

    @staticmethod
    def _event_id(data, message, suffix=None):
        if data.get("event_id"):
            return provider_id(data["event_id"], "event_id")
        # API versions before 5.103 send no event_id.
        parts = [
            data["type"],
            message.get("id") or message.get("conversation_message_id"),
            message.get("peer_id"),
        ]
        if suffix:
            parts.append(suffix)
        return ":".join(
            provider_id(p, "message id") if p is not None else "None" for p in parts
        )

    def _message_event(self, event_id, msg):
        from_id, peer_id = _int(msg.get("from_id")), _int(msg.get("peer_id"))
        if from_id <= 0:
            raise PayloadError("a message needs a from_id")
        message_id = (
            provider_id(msg["id"], "message.id")
            if msg.get("id")
            else "{}:{}".format(
                peer_id,
                provider_id(msg["conversation_message_id"], "conversation_message_id")
                if msg.get("conversation_message_id") is not None
                else None,
            )
        )
        event = InboundMessage(
            event_id=event_id,
            message_id=message_id,
            sender=Contact(user_id=str(from_id)),
            chat_id=str(peer_id or from_id),
            date=float(_int(msg.get("date"))),
            text=str(msg.get("text") or ""),
        )
        payload = msg.get("payload")
        if isinstance(payload, str) and payload:
            try:
                command = json.loads(payload).get("command")
            except (ValueError, AttributeError, RecursionError):
                command = None
            if command == "start":
                # The "Start" button of a community chat.
                event.command = "start"
        notes = []
        for item in msg.get("attachments") or []:
            attachment, note = self._attachment(item, message_id)
            if attachment:
                event.attachments.append(attachment)
            if note:
                notes.append(note)
        geo = msg.get("geo")
        if isinstance(geo, dict) and isinstance(geo.get("coordinates"), dict):
            coords = geo["coordinates"]
            try:
                event.location = Location(
                    float(coords["latitude"]),
                    float(coords["longitude"]),
                    str((geo.get("place") or {}).get("title") or ""),
                )
            except (KeyError, TypeError, ValueError):
                raise PayloadError("geo needs latitude and longitude") from None
        if msg.get("fwd_messages") or msg.get("reply_message"):
            quoted = [
                m
                for m in (msg.get("fwd_messages") or [])
                + [msg.get("reply_message") or {}]
                if m.get("text")
            ]
            notes.extend("» {}".format(m["text"]) for m in quoted)
        if event.attachments:
            event.message_type = event.attachments[0].kind
        elif event.location:
            event.message_type = "location"
        event.note = "\n".join(notes)
        return event

    @staticmethod
    def _attachment(item, message_id):
        """(Attachment or None, note or '') for one VK attachment."""
        kind = item.get("type") if isinstance(item, dict) else None
        data = item.get(kind) if kind else None
        if not isinstance(data, dict):
            return None, ""
        if kind == "photo":
            best = _biggest(data.get("sizes"))
            if not best:
                return None, "photo"
            return Attachment(
                "image",
                url=best["url"],
                mimetype="image/jpeg",
                filename="photo_{}_{}.jpg".format(data.get("owner_id"), data.get("id")),
            ), ""
        if kind == "doc":
            title = str(data.get("title") or "document")
            ext = str(data.get("ext") or "")
            if ext and not title.lower().endswith("." + ext.lower()):
                title = f"{title}.{ext}"
            if not data.get("url"):
                return None, f"document {title}"
            return Attachment(
                "document",
                url=data["url"],
                filename=title,
                size=_int(data.get("size")),
                mimetype=mimetypes.guess_type(title)[0] or "application/octet-stream",
            ), ""
        if kind == "audio_message":
            url = data.get("link_ogg") or data.get("link_mp3")
            if not url:
                return None, "voice message"
            ogg = url == data.get("link_ogg")
            return Attachment(
                "voice",
                url=url,
                mimetype="audio/ogg" if ogg else "audio/mpeg",
                filename="voice_{}.{}".format(message_id, "ogg" if ogg else "mp3"),
            ), ""
        if kind == "sticker":
            best = _biggest(data.get("images"))
            if not best:
                return None, "sticker"
            return Attachment(
                "sticker",
                url=best["url"],
                mimetype="image/png",
                filename="sticker_{}.png".format(data.get("sticker_id", message_id)),
            ), ""
        if kind == "video":
            return None, "video: https://vk.com/video{}_{}".format(
                data.get("owner_id"),
                data.get("id"),
            )
        if kind == "wall":
            return None, "post: https://vk.com/wall{}_{}".format(
                data.get("owner_id") or data.get("from_id"),
                data.get("id"),
            )
        if kind == "link":
            return None, "link: {}".format(data.get("url", ""))
        return None, f"VK attachment of type {kind}"

    def fetch_media(self, attachment):
        data, content_type = self.download(attachment.url)
        return (
            data,
            attachment.mimetype or content_type or "application/octet-stream",
            attachment.filename or "file",
        )

    def fetch_profile(self, user_id):
        try:
            users = self._call(
                "users.get", {"user_ids": user_id, "fields": "screen_name"}
            )
        except ConnectorError:
            return None
        if not users or not isinstance(users, list):
            return None
        user = users[0]
        name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
        return Contact(
            user_id=str(user_id), name=name, username=user.get("screen_name") or ""
        )

    # -- outbound ------------------------------------------------------------
    def _upload(self, peer_id, att):
        """Upload one file for a message; returns its attachment string."""
        photo = att.mimetype in PHOTO_TYPES
        if photo:
            server = self._call("photos.getMessagesUploadServer", {"peer_id": peer_id})
            field = "photo"
        else:
            server = self._call(
                "docs.getMessagesUploadServer", {"peer_id": peer_id, "type": "doc"}
            )
            field = "file"
        upload_url = (server or {}).get("upload_url")
        if not upload_url:
            raise SendError("VK gave no upload address", code="upload", retryable=True)
        response = self.http(
            "POST", upload_url, files={field: (att.filename, att.data, att.mimetype)}
        )
        try:
            uploaded = response.json()
        except ValueError:
            raise SendError(
                f"the VK upload server answered HTTP {response.status_code}",
                code="upload",
                retryable=True,
            ) from None
        if (
            not isinstance(uploaded, dict)
            or uploaded.get("error")
            or not uploaded.get(field)
            or uploaded.get(field) == "[]"
        ):
            raise SendError(
                "VK refused the file {}: {}".format(
                    att.filename, (uploaded or {}).get("error") or "empty upload"
                ),
                code="upload",
            )
        if photo:
            saved = self._call(
                "photos.saveMessagesPhoto",
                {
                    "server": uploaded.get("server"),
                    "photo": uploaded["photo"],
                    "hash": uploaded.get("hash"),
                },
            )
            item = saved[0] if isinstance(saved, list) and saved else {}
            ref = "photo{}_{}".format(item.get("owner_id"), item.get("id"))
            return (
                "{}_{}".format(ref, item["access_key"])
                if item.get("access_key")
                else ref
            )
        saved = self._call(
            "docs.save", {"file": uploaded["file"], "title": att.filename}
        )
        doc = (saved or {}).get("doc") or {}
        return "doc{}_{}".format(doc.get("owner_id"), doc.get("id"))

    def send(self, message):
        if not message.text and not message.attachments:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        try:
            peer_id = int(message.recipient_id)
        except (TypeError, ValueError):
            raise SendError(
                f"{message.recipient_id!r} is not a VK peer id",
                code="bad_recipient",
            ) from None
        params = {
            "peer_id": peer_id,
            "random_id": random_id_for(message.idempotency_key)
            if message.idempotency_key
            else 0,
            "message": message.text or "",
        }
        refs = [self._upload(peer_id, att) for att in message.attachments]
        if refs:
            params["attachment"] = ",".join(refs)
        result = self._call("messages.send", params)
        if isinstance(result, list):  # answer to peer_ids=...
            result = (result[0] or {}).get("message_id") if result else None
        if not result:
            raise SendError(
                "VK did not return the id of the sent message",
                code="bad_answer",
                retryable=True,
            )
        return SendResult(str(result), "sent")

    # -- administration ------------------------------------------------------
    def webhook_info(self):
        """ "Check connection": the community behind the token and group id,
        and the state of our callback server there."""
        group = str(self.config.account_ref or "").strip().lstrip("-")
        if not group:
            raise ConnectorError("the community (group) id is not set on this channel")
        answer = self._call("groups.getById", {"group_id": group})
        groups = answer.get("groups") if isinstance(answer, dict) else answer
        if not groups:
            raise ConnectorError(f"VK does not know community {group}")
        info = {"bot": groups[0].get("name") or group, "url": "", "matches": False}
        try:
            servers = self._call("groups.getCallbackServers", {"group_id": group})
        except SendError as exc:
            info["last_error_message"] = (
                f"cannot list the callback servers: {exc.message}"
            )
            return info
        items = (servers or {}).get("items") or []
        ours = next((s for s in items if s.get("url") == self.config.webhook_url), None)
        if ours:
            info.update(url=ours["url"], matches=True)
            if ours.get("status") != "ok":
                info["last_error_message"] = "callback server status: {}".format(
                    ours.get("status")
                )
        elif items:
            info["url"] = items[0].get("url") or ""
        return info


@register_event_class
@dataclass
class ButtonPress:
    """A customer pressed a callback button of one of our messages (VK
    ``message_event``); VK waits for the press to be answered."""

    event_id: str
    sender: Contact
    chat_id: str = ""
    callback_id: str = ""  # VK's event_id of the press, which the answer names
    payload: str = ""  # the button's payload, for the history
    date: float = 0.0

    kind: ClassVar[str] = "button_press"


def _legacy_message(message):
    """A message of the Callback API before 5.80 (``user_id``, ``body``,
    ``chat_id``) in today's shape (``from_id``, ``text``, ``peer_id``)."""
    converted = dict(message)
    user_id = message.get("user_id")
    converted["from_id"] = user_id
    converted["text"] = message.get("body") or message.get("text") or ""
    chat = _int(message.get("chat_id"))
    converted["peer_id"] = 2000000000 + chat if chat > 0 else user_id
    return converted


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _biggest(images):
    """The largest of VK's sizes of one picture (photo sizes, sticker images)."""
    images = [i for i in images or [] if isinstance(i, dict) and i.get("url")]
    return (
        max(images, key=lambda i: (i.get("width") or 0) * (i.get("height") or 0))
        if images
        else None
    )
