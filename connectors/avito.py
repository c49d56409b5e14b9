"""Avito Messenger, through Avito's public API (developers.avito.ru,
"Мессенджер" API: webhook v3, messages v1, chats v2; authorization by
OAuth2 ``client_credentials``).

Authorization: ``POST /token`` (form: ``grant_type=client_credentials``,
``client_id``, ``client_secret``) answers ``{"access_token", "expires_in",
"token_type": "Bearer"}``.  The access token lives in memory only (this
module's cache, per API root and client id), is fetched again shortly before
it expires or when Avito answers 401, and never appears in an error or a log.

Inbound: after ``POST /messenger/v3/webhook {"url"}`` Avito POSTs each new
message of the account's chats as JSON::

    {"id": "...", "version": "v3.0.0", "timestamp": 1700000000,
     "payload": {"type": "message",
                 "value": {"id", "chat_id", "user_id", "author_id", "created",
                           "type": "text"|"image"|"link"|"item"|"location"|
                                   "voice"|"call"|"file"|"video"|"deleted"|
                                   "system",
                           "chat_type": "u2i"|"u2u", "content": {...},
                           "item_id", "published_at", "read"}}}

``user_id`` is the account the chat belongs to (ours), ``author_id`` who
wrote: our own messages come back too.  Avito's public documentation
describes no signature of these requests, so the webhook address carries a
secret of ours in its query string (``?secret=``), compared in
constant time; a request without it is refused.

Outbound: ``POST /messenger/v1/accounts/{user_id}/chats/{chat_id}/messages``
``{"message": {"text"}, "type": "text"}``; images are uploaded first
(``POST .../uploadImages``, multipart ``uploadfile[]``, answering
``{"<image_id>": {"<W>x<H>": url}}``) and sent by id (``POST
.../chats/{chat_id}/messages/image {"image_id"}``).
The chat (``GET /messenger/v2/accounts/{user_id}/chats/{chat_id}``) names
the listing it is about in ``context.value`` (id, title, url,
price_string) and its ``users`` (ids and names).
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.parse

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    Contact,
    DeliveryStatus,
    IgnoredEvent,
    InboundMessage,
    Location,
    MessageRevoked,
    SendResult,
)
from .interface import Connector, register
from .signing import secrets_equal
from .validation import provider_id

DEFAULT_API_ROOT = "https://api.avito.ru"
#: the query parameter of the webhook address that carries our secret
SECRET_PARAM = "secret"
#: a token is fetched again this many seconds before Avito says it expires
TOKEN_MARGIN = 300
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

_TOKENS = {}  # (api root, client id, secret digest) -> (token, monotonic expiry)
_TOKENS_LOCK = threading.Lock()


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _area(size):
    """Pixels of an Avito image size key such as ``"1280x960"``."""
    width, _x, height = str(size).partition("x")
    return _int(width) * _int(height)


def biggest_image(sizes):
    """The URL of the largest size of an Avito image (``{"WxH": url}``)."""
    if not isinstance(sizes, dict):
        return ""
    urls = [(k, v) for k, v in sizes.items() if isinstance(v, str) and v]
    return max(urls, key=lambda kv: _area(kv[0]))[1] if urls else ""


def listing_of(chat):
    """The listing a chat (``GET .../chats/{chat_id}``) is about:
    ``{"id", "title", "url", "price"}``, or {} for a chat between users."""
    context = chat.get("context") if isinstance(chat, dict) else None
    if not isinstance(context, dict) or context.get("type") != "item":
        return {}
    value = context.get("value")
    if not isinstance(value, dict) or not value.get("id"):
        return {}
    return {
        "id": str(value.get("id")),
        "title": str(value.get("title") or "").strip(),
        "url": str(value.get("url") or ""),
        "price": str(value.get("price_string") or ""),
    }


@register
class AvitoConnector(Connector):
    code = "avito"
    label = "Avito"
    sequence = 75
    icon = "fa-tag"
    color = "#00AAFF"
    #: Avito's image servers (00.img.avito.st, ...)
    media_hosts = ("avito.st",)
    common_settings = ("api_base_url",)
    #: Avito user ids are the same person whichever account they write to
    user_ids_are_global = True
    supports_greeting = False
    default_api_root = DEFAULT_API_ROOT

    # -- authorization -------------------------------------------------------
    def _client(self):
        client_id = (self.config.extra.get("client_id") or "").strip()
        if not client_id or not self.config.app_secret:
            raise SendError(
                "The client ID and client secret are not set on this channel.",
                code="config",
            )
        return client_id, self.config.app_secret

    def _cache_key(self):
        client_id, secret = self._client()
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return (self.api_root(), client_id, digest)

    def access_token(self, refresh=False):
        """A valid access token: cached in memory until shortly before it
        expires, fetched with the client credentials otherwise."""
        key = self._cache_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
        client_id, secret = self._client()
        response = self.http(
            "POST",
            f"{self.api_root()}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        data = self.json_answer(response, "Avito")
        token = data.get("access_token") if isinstance(data, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            error = data.get("error") if isinstance(data, dict) else None
            if isinstance(error, dict):
                error = error.get("message") or error.get("code")
            raise SendError(
                "Avito refused the client ID and secret ({})".format(
                    error or f"HTTP {response.status_code}"
                ),
                code="auth",
            )
        lifetime = max(_int(data.get("expires_in")) or 3600, 2 * TOKEN_MARGIN)
        with _TOKENS_LOCK:
            _TOKENS[key] = (token, time.monotonic() + lifetime - TOKEN_MARGIN)
        return token

    @staticmethod
    def forget_tokens():
        """Drop every cached access token (tests; a changed secret)."""
        with _TOKENS_LOCK:
            _TOKENS.clear()

    def _user_id(self):
        user_id = str(self.config.account_ref or "").strip()
        if not user_id.isdigit():
            raise SendError(
                "The Avito user ID (a number) is not set on this channel.",
                code="config",
            )
        return user_id

    def _api(self, method, path, **kwargs):
        """One Avito API call with the bearer token; a 401 fetches a new
        token once.  Avito's errors (``{"error": {"code", "message"}}``)
        become SendErrors."""
        url = self.api_root() + path
        for attempt in (0, 1):
            token = self.access_token(refresh=bool(attempt))
            response = self.http(
                method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            if response.status_code != 401:
                break
        data = self.json_answer(response, "Avito")
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            text = (
                error.get("message")
                if isinstance(error, dict)
                else (error or (data.get("message") if isinstance(data, dict) else ""))
            )
            status = response.status_code
            # A 403 may be a missing scope of the API access as well as a
            # closed chat: no customer is marked unreachable on it.
            raise SendError(
                "{} (Avito HTTP {})".format(text or "request refused", status),
                code=str(status),
            )
        return data

    # -- inbound ----------------------------------------------------------------
    def webhook_address(self):
        """The address Avito is given: our webhook URL with our secret."""
        if not self.config.webhook_url or not self.config.secret:
            raise ConnectorError("the channel has no webhook address or secret")
        separator = "&" if "?" in self.config.webhook_url else "?"
        return "{}{}{}={}".format(
            self.config.webhook_url,
            separator,
            SECRET_PARAM,
            urllib.parse.quote(self.config.secret, safe=""),
        )

    def verify(self, headers, body, query):
        given = (query or {}).get(SECRET_PARAM)
        if not self.config.secret or not isinstance(given, str):
            raise SignatureError("the request carries no secret")
        if not secrets_equal(self.config.secret, given):
            raise SignatureError("wrong secret")

    def parse(self, headers, body, query):
        data = self.load_json(body)
        if not isinstance(data, dict):
            raise PayloadError("an Avito notification is a JSON object")
        if not data:
            # Avito checks a new address with an empty object.
            return [IgnoredEvent(f"check:{hashlib.sha256(body).hexdigest()}")]
        payload = data.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            raise PayloadError('an Avito notification needs a "payload" with a "type"')
        value = payload.get("value")
        if payload["type"] != "message":
            event_id = data.get("id") or hashlib.sha256(body).hexdigest()
            return [
                IgnoredEvent(
                    provider_id(event_id, "id"),
                    reason="Avito notification {} is not handled".format(
                        payload["type"]
                    ),
                )
            ]
        if not isinstance(value, dict):
            raise PayloadError('a message notification needs a "value" object')
        for name in ("id", "chat_id", "author_id"):
            if value.get(name) in (None, ""):
                raise PayloadError(f"a message needs {name}")
        message_id = provider_id(value["id"], "value.id")
        chat_id = provider_id(value["chat_id"], "value.chat_id")
        author = provider_id(value["author_id"], "value.author_id")
        kind = value.get("type") or "text"
        content = value.get("content") if isinstance(value.get("content"), dict) else {}
        ours = str(self.config.account_ref or "").strip()
        user_id = str(value.get("user_id") or "")
        if ours and user_id and user_id != ours:
            raise PayloadError(f"the message is for Avito user {user_id}")
        if kind == "deleted":
            return [
                MessageRevoked(
                    f"deleted:{message_id}", message_id, Contact(user_id=author)
                )
            ]
        if ours and author == ours:
            # Our own message as Avito saw it (sent from Odoo: confirms it;
            # written in Avito's app: unknown, journaled as ignored).
            return [
                DeliveryStatus(
                    f"msg:{message_id}",
                    message_id,
                    "sent",
                    date=float(_int(value.get("created"))),
                    recipient_id=chat_id,
                )
            ]
        if kind == "system" or author in ("0", ""):
            return [
                IgnoredEvent(
                    f"msg:{message_id}",
                    reason="Avito system message: {}".format(
                        str(content.get("text") or "")[:200]
                    ),
                )
            ]
        event = InboundMessage(
            event_id=f"msg:{message_id}",
            message_id=message_id,
            sender=Contact(user_id=author),
            chat_id=chat_id,
            date=float(_int(value.get("created"))),
            text=str(content.get("text") or ""),
        )
        self._content(event, kind, content)
        return [event]

    @staticmethod
    def _content(event, kind, content):
        """Fill ``event`` from a message's content by its type."""
        if kind == "image":
            image = content.get("image") if isinstance(content, dict) else None
            url = biggest_image((image or {}).get("sizes"))
            if url:
                event.attachments.append(
                    Attachment(
                        "image",
                        url=url,
                        mimetype="image/jpeg",
                        filename=f"avito_{event.message_id}.jpg",
                    )
                )
                event.message_type = "image"
            else:
                event.note = "image"
        elif kind == "link":
            link = content.get("link") if isinstance(content.get("link"), dict) else {}
            event.text = event.text or str(link.get("text") or link.get("url") or "")
            if link.get("url") and link.get("url") not in event.text:
                event.note = "link: {}".format(link["url"])
        elif kind == "item":
            item = content.get("item") if isinstance(content.get("item"), dict) else {}
            event.note = "listing: {} {} {}".format(
                item.get("title") or "",
                item.get("price_string") or "",
                item.get("item_url") or "",
            ).strip()
        elif kind == "location":
            place = content.get("location")
            if isinstance(place, dict):
                try:
                    event.location = Location(
                        float(place["lat"]),
                        float(place["lon"]),
                        str(place.get("title") or place.get("text") or ""),
                    )
                    event.message_type = "location"
                except (KeyError, TypeError, ValueError):
                    raise PayloadError("a location needs lat and lon") from None
        elif kind != "text":
            # voice, call, file, video...: what the API gives no file for
            event.note = f"Avito message of type {kind} (open the chat in Avito)"

    def fetch_media(self, attachment):
        data, content_type = self.download(attachment.url)
        return (
            data,
            content_type or attachment.mimetype or "application/octet-stream",
            attachment.filename or "image.jpg",
        )

    def fetch_chat(self, chat_id):
        """The chat as Avito describes it (its listing, its users)."""
        return self._api(
            "GET",
            "/messenger/v2/accounts/{}/chats/{}".format(
                self._user_id(), urllib.parse.quote(str(chat_id), safe="")
            ),
        )

    # -- outbound -------------------------------------------------------------
    def _chat_path(self, chat_id):
        return "/messenger/v1/accounts/{}/chats/{}".format(
            self._user_id(), urllib.parse.quote(str(chat_id), safe="")
        )

    def _upload_image(self, att):
        answer = self._api(
            "POST",
            f"/messenger/v1/accounts/{self._user_id()}/uploadImages",
            files={"uploadfile[]": (att.filename, att.data, att.mimetype)},
        )
        image_id = next(iter(answer), None) if isinstance(answer, dict) else None
        if not image_id:
            raise SendError(
                f"Avito did not accept the image {att.filename}", code="upload"
            )
        return image_id

    def send(self, message):
        if not message.text and not message.attachments:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        if not message.recipient_id:
            raise SendError("the Avito chat is unknown", code="bad_recipient")
        path = self._chat_path(message.recipient_id)
        images = [a for a in message.attachments if a.mimetype in IMAGE_TYPES]
        others = [a for a in message.attachments if a not in images]
        text = message.text or ""
        # Avito's messages carry text or one image: other files travel as links.
        links = [f"{a.filename}: {a.url}" for a in others if a.url]
        if len(links) != len(others):
            raise SendError(
                "Avito Messenger sends text and images only.", code="unsupported"
            )
        text = "\n".join([t for t in [text] + links if t])
        image_ids = [self._upload_image(att) for att in images]
        ids = []
        if text:
            answer = self._api(
                "POST",
                path + "/messages",
                json={"message": {"text": text}, "type": "text"},
            )
            ids.append((answer or {}).get("id"))
        for image_id in image_ids:
            answer = self._api(
                "POST", path + "/messages/image", json={"image_id": image_id}
            )
            ids.append((answer or {}).get("id"))
        if not ids or not all(ids):
            raise SendError(
                "Avito did not return the id of the sent message",
                code="bad_answer",
                retryable=True,
            )
        return SendResult(str(ids[0]), "sent")

    # -- administration ---------------------------------------------------------
    def register_webhook(self):
        """Connect: get a token and subscribe our address (with its secret)."""
        answer = self._api(
            "POST", "/messenger/v3/webhook", json={"url": self.webhook_address()}
        )
        if not (isinstance(answer, dict) and answer.get("ok")):
            raise ConnectorError("Avito did not confirm the subscription")
        return self.config.webhook_url

    def webhook_info(self):
        """Check: the account behind the credentials and our subscription."""
        account = self._api("GET", "/core/v1/accounts/self")
        info = {
            "bot": "{} ({})".format(
                (account or {}).get("name") or "-", (account or {}).get("id") or "?"
            ),
            "url": "",
            "matches": False,
        }
        if str((account or {}).get("id")) != self._user_id():
            info["last_error_message"] = (
                "the credentials belong to Avito user {}, the channel names {}".format(
                    (account or {}).get("id"), self._user_id()
                )
            )
        answer = self._api("POST", "/messenger/v1/subscriptions")
        subscriptions = (answer or {}).get("subscriptions") or []
        ours = self.webhook_address()
        urls = [s.get("url") or "" for s in subscriptions if isinstance(s, dict)]
        if ours in urls:
            info.update(url=self.config.webhook_url, matches=True)
        elif urls:
            # another address (or ours with another secret): show it without its query
            info["url"] = urls[0].split("?", 1)[0]
        return info
