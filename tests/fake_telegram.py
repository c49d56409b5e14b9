"""A fake Telegram Bot API on 127.0.0.1, speaking the real wire format:
``POST /bot<token>/<method>`` answering ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": .., "description": ..}``, and file downloads
at ``GET /file/bot<token>/<file_path>``."""

import itertools
import time

from .common import FakeProviderServer

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Shop bot",
    "username": "shop_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class FakeTelegramServer(FakeProviderServer):
    def __init__(self, token="123:TEST"):
        super().__init__()
        self.token = token
        self.files = {}  # file_id -> (file_path, bytes)
        self.webhook = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        self.failures = {}  # method -> (http status, error_code, description)
        self.file_server_down = (
            False  # file downloads answer 502, as an overloaded file server does
        )
        self.file_delay = 0.0  # seconds each file download takes (slow file server)
        self._ids = itertools.count(1000)
        # (time.time(), chat_id, text) of every message the fake accepted
        self.sent = []
        self.flood = []  # send calls refused for flood control: (time, chat_id)
        self._flood_left = 0
        self._flood_retry_after = 0
        self.route("POST", f"/bot{token}/", self._api)
        self.route("GET", f"/bot{token}/", self._api)
        self.route("GET", f"/file/bot{token}/", self._file)

    # -- test controls -------------------------------------------------------
    def add_file(self, file_id, data, file_path=None):
        self.files[file_id] = (file_path or f"documents/{file_id}", data)

    def webhook_error(self, message, when=None):
        """What getWebhookInfo reports after Telegram failed to deliver an update
        to us."""
        self.webhook.update(
            last_error_date=int(when or time.time()), last_error_message=message
        )

    def fail(self, method, status=400, description="Bad Request: chat not found"):
        self.failures[method] = (status, status, description)

    def flood_control(self, retry_after, times=1):
        """The next ``times`` sends answer 429 "Too Many Requests: retry
        after N", with ``parameters.retry_after`` as the Bot API does."""
        self._flood_left, self._flood_retry_after = times, retry_after

    def calls(self, method):
        return [r for r in self.requests if r.path.endswith("/" + method)]

    # -- wire format -----------------------------------------------------------
    @staticmethod
    def ok(result):
        return 200, {}, {"ok": True, "result": result}

    def _message(self, chat_id, **extra):
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": BOT_USER,
        }
        message.update(extra)
        return message

    def _api(self, request):
        method = request.path.rsplit("/", 1)[-1]
        if method in self.failures:
            status, code, description = self.failures[method]
            return (
                status,
                {},
                {"ok": False, "error_code": code, "description": description},
            )
        fields = request.fields
        if method.startswith("send") and self._flood_left > 0:
            self._flood_left -= 1
            self.flood.append((time.time(), fields.get("chat_id")))
            return (
                429,
                {},
                {
                    "ok": False,
                    "error_code": 429,
                    "description": (
                        f"Too Many Requests: retry after {self._flood_retry_after}"
                    ),
                    "parameters": {"retry_after": self._flood_retry_after},
                },
            )
        if method.startswith("send"):
            self.sent.append(
                (
                    time.time(),
                    fields.get("chat_id"),
                    fields.get("text") or fields.get("caption") or "",
                )
            )
        if method == "getMe":
            return self.ok(BOT_USER)
        if method == "sendMessage":
            return self.ok(
                self._message(fields["chat_id"], text=fields.get("text", ""))
            )
        if method == "sendPhoto":
            return self.ok(
                self._message(
                    fields["chat_id"],
                    caption=fields.get("caption", ""),
                    photo=[
                        {
                            "file_id": "sent-photo",
                            "file_unique_id": "sp",
                            "width": 10,
                            "height": 10,
                        }
                    ],
                )
            )
        if method == "sendDocument":
            filename = request.files.get("document", ("file",))[0]
            return self.ok(
                self._message(
                    fields["chat_id"],
                    caption=fields.get("caption", ""),
                    document={
                        "file_id": "sent-doc",
                        "file_unique_id": "sd",
                        "file_name": filename,
                    },
                )
            )
        if method == "getFile":
            file_id = fields.get("file_id")
            if file_id not in self.files:
                return (
                    400,
                    {},
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: invalid file_id",
                    },
                )
            path, data = self.files[file_id]
            return self.ok(
                {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id,
                    "file_size": len(data),
                    "file_path": path,
                }
            )
        if method == "setWebhook":
            self.webhook.update(
                url=fields.get("url", ""), secret_token=fields.get("secret_token", "")
            )
            return self.ok(True)
        if method == "getWebhookInfo":
            info = {k: v for k, v in self.webhook.items() if k != "secret_token"}
            return self.ok(info)
        return (
            404,
            {},
            {
                "ok": False,
                "error_code": 404,
                "description": f"Not Found: method {method}",
            },
        )

    def _file(self, request):
        path = request.path.split(f"/file/bot{self.token}/", 1)[1]
        if self.file_delay:
            time.sleep(self.file_delay)
        if self.file_server_down:
            return (
                502,
                {},
                {"ok": False, "error_code": 502, "description": "Bad Gateway"},
            )
        for file_path, data in self.files.values():
            if file_path == path:
                return 200, {"Content-Type": "application/octet-stream"}, data
        return 404, {}, b"not found"


def tg_user(
    user_id=5550001,
    first_name="Anna",
    last_name="Smirnova",
    username="anna_s",
    language_code="ru",
):
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
    }


def tg_update(update_id, user=None, edited=False, **message_fields):
    """An Update as Telegram POSTs it to a webhook."""
    user = user or tg_user()
    message = {
        "message_id": message_fields.pop("message_id", update_id),
        "from": user,
        "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
        "date": int(time.time()),
    }
    message.update(message_fields)
    if edited:
        message["edit_date"] = int(time.time())
    return {"update_id": update_id, "edited_message" if edited else "message": message}
