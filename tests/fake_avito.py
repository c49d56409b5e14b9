"""A fake Avito API on 127.0.0.1, speaking the wire format of Avito's public
API documentation (developers.avito.ru, "Авторизация" and "Мессенджер"):

- ``POST /token`` (form ``grant_type=client_credentials``, ``client_id``,
  ``client_secret``) -> ``{"access_token", "expires_in", "token_type"}``;
- every other call needs ``Authorization: Bearer <token>``, else 401
  ``{"error": {"code": 401, "message": ...}}``;
- ``POST /messenger/v3/webhook {"url"}`` -> ``{"ok": true}``;
  ``POST /messenger/v1/subscriptions`` -> ``{"subscriptions": [{"url", "version"}]}``;
- ``GET /core/v1/accounts/self`` -> the account (id, name, ...);
- ``POST /messenger/v1/accounts/{user}/chats/{chat}/messages``
  ``{"message": {"text"}, "type": "text"}`` -> the message (id, created, ...);
- ``POST /messenger/v1/accounts/{user}/uploadImages`` (multipart
  ``uploadfile[]``) -> ``{"<image id>": {"<W>x<H>": url}}``, then
  ``POST .../chats/{chat}/messages/image {"image_id"}``;
- ``GET /messenger/v2/accounts/{user}/chats/{chat}`` -> the chat, its
  listing in ``context.value`` and its ``users``;
- images at ``GET /img/<name>`` (Avito serves them from *.img.avito.st).

``message_notification`` builds webhook v3 bodies."""

import itertools
import time
import urllib.parse
import uuid

from .common import FakeProviderServer

USER_ID = 81743640
CUSTOMER_ID = 94235311
CHAT_ID = "u2i-PJIBEFVXFjBwZG~lxCuwbg"
ITEM = {
    "id": 1768287444,
    "title": "Шкаф-купе 2 м, белый",
    "url": "https://www.avito.ru/moskva/mebel_i_interer/shkaf-kupe_1768287444",
    "price_string": "15 000 ₽",
    "status_id": 0,
    "user_id": USER_ID,
    "images": {"main": {"140x105": "https://00.img.avito.st/140x105/1.jpg"}},
}


class FakeAvitoServer(FakeProviderServer):
    def __init__(self, client_id="client-id-1", client_secret="client-secret-1"):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens = []  # tokens issued
        self.subscriptions = []
        self.sent = []  # (chat_id, message dict) delivered
        self.images = {}  # image_id -> bytes uploaded
        self.files = {}
        self.chats = {CHAT_ID: {"item": dict(ITEM)}}
        self._ids = itertools.count(1)
        self.route("POST", "/token", self._token)
        self.route("POST", "/messenger/", self._api)
        self.route("GET", "/messenger/", self._api)
        self.route("GET", "/core/v1/accounts/self", self._api)
        self.route("GET", "/img/", self._image)

    def add_image(self, name, data):
        self.files[name] = data
        return f"{self.url}/img/{name}"

    @staticmethod
    def error(status, text):
        return status, {}, {"error": {"code": status, "message": text}}

    def _token(self, request):
        fields = request.fields
        if (
            fields.get("grant_type") != "client_credentials"
            or fields.get("client_id") != self.client_id
            or fields.get("client_secret") != self.client_secret
        ):
            return 400, {}, {"error": "invalid_client", "error_description": ""}
        token = "fake-avito-token-" + uuid.uuid4().hex
        self.tokens.append(token)
        return (
            200,
            {},
            {"access_token": token, "expires_in": 86400, "token_type": "Bearer"},
        )

    def _api(self, request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self.error(401, "Unauthorized")
        parts = request.path.strip("/").split("/")
        if request.path == "/messenger/v3/webhook":
            url = request.fields.get("url")
            if not url:
                return self.error(400, "url is required")
            self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
            self.subscriptions.append({"url": url, "version": "3"})
            return 200, {}, {"ok": True}
        if request.path == "/messenger/v1/subscriptions":
            return 200, {}, {"subscriptions": self.subscriptions}
        if request.path == "/core/v1/accounts/self":
            return (
                200,
                {},
                {
                    "id": USER_ID,
                    "name": "Мебельный магазин",
                    "email": "shop@example.com",
                    "profile_url": f"https://www.avito.ru/user/{USER_ID}/profile",
                },
            )
        # messenger/v1|v2/accounts/<user>/...
        if len(parts) < 4 or parts[2] != "accounts" or parts[3] != str(USER_ID):
            return self.error(403, "forbidden")
        rest = parts[4:]
        if rest == ["uploadImages"]:
            upload = request.files.get("uploadfile[]")
            if not upload:
                return self.error(400, "uploadfile[] is required")
            image_id = f"{next(self._ids)}.{uuid.uuid4().hex[:8]}"
            self.images[image_id] = upload[1]
            return (
                200,
                {},
                {
                    image_id: {
                        "1280x960": f"https://00.img.avito.st/1280x960/{image_id}"
                    }
                },
            )
        if len(rest) < 2 or rest[0] != "chats":
            return self.error(404, "not found")
        chat_id = urllib.parse.unquote(rest[1])
        if chat_id not in self.chats:
            return self.error(404, "chat not found")
        if request.method == "GET" and len(rest) == 2:
            return 200, {}, self._chat(chat_id)
        if rest[2:] == ["messages"]:
            if request.fields.get("type") != "text":
                return self.error(400, "type must be text")
            text = (request.fields.get("message") or {}).get("text")
            return self._deliver(chat_id, "text", {"text": text})
        if rest[2:] == ["messages", "image"]:
            image_id = request.fields.get("image_id")
            if image_id not in self.images:
                return self.error(400, "unknown image_id")
            sizes = {"1280x960": f"https://00.img.avito.st/1280x960/{image_id}"}
            return self._deliver(chat_id, "image", {"image": {"sizes": sizes}})
        return self.error(404, "not found")

    def _deliver(self, chat_id, kind, content):
        message = {
            "id": uuid.uuid4().hex,
            "author_id": USER_ID,
            "content": content,
            "created": int(time.time()),
            "direction": "out",
            "type": kind,
        }
        self.sent.append((chat_id, message))
        return 200, {}, message

    def _chat(self, chat_id):
        item = self.chats[chat_id]["item"]
        return {
            "id": chat_id,
            "context": {"type": "item", "value": item},
            "created": 1718000000,
            "updated": 1718000100,
            "users": [
                {
                    "id": CUSTOMER_ID,
                    "name": "Анна",
                    "public_user_profile": {
                        "user_id": CUSTOMER_ID,
                        "item_id": item["id"],
                        "url": f"https://www.avito.ru/user/{CUSTOMER_ID}/profile",
                        "avatar": {"default": "https://00.img.avito.st/avatar.jpg"},
                    },
                },
                {"id": USER_ID, "name": "Мебельный магазин"},
            ],
        }

    def _image(self, request):
        name = request.path.rsplit("/", 1)[-1]
        if name not in self.files:
            return 404, {}, b""
        return 200, {"Content-Type": "image/png"}, self.files[name]

    def webhook_target(self):
        """Path and query of the address Odoo subscribed (what Avito POSTs to)."""
        url = urllib.parse.urlsplit(self.subscriptions[-1]["url"])
        return url.path + ("?" + url.query if url.query else "")


def message_notification(
    message_id, text="", kind="text", content=None, author_id=CUSTOMER_ID, **values
):
    """A webhook v3 body for one message of ``CHAT_ID``."""
    value = {
        "id": message_id,
        "chat_id": CHAT_ID,
        "user_id": USER_ID,
        "author_id": author_id,
        "created": 1718000000,
        "type": kind,
        "chat_type": "u2i",
        "content": content if content is not None else {"text": text},
        "item_id": ITEM["id"],
        "published_at": "2024-06-10T06:13:20Z",
    }
    value.update(values)
    return {
        "id": str(uuid.uuid4()),
        "version": "v3.0.0",
        "timestamp": 1718000000,
        "payload": {"type": "message", "value": value},
    }
