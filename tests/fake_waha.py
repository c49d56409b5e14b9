"""A fake WAHA gateway (WhatsApp HTTP API) on 127.0.0.1, speaking the wire
format of waha.devlike.pro: the ``X-Api-Key`` header on every call (401
without it), ``POST /api/sendText|sendImage|sendFile`` with the session name
in the body (422 when the session is not WORKING), ``GET
/api/sessions/{session}``, ``GET /api/{session}/auth/qr`` (the QR image
while the session waits to be paired, 422 otherwise), and the files it keeps
of received media at ``GET /api/files/...``.

``webhook`` POSTs an event to a URL as the gateway does: the envelope of the
Events page, signed with ``X-Webhook-Hmac`` (hex HMAC-SHA512 of the raw
body) and ``X-Webhook-Hmac-Algorithm: sha512`` when the webhook has a key -
computed here, independently of the addon's own code."""

import hashlib
import hmac
import itertools
import json
import time

import requests

from .common import FakeProviderServer

#: a small PNG: the QR code the gateway serves
QR_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
OWN_NUMBER = "74955550101"


class FakeWahaServer(FakeProviderServer):
    def __init__(self, api_key="waha-api-key", session="sales", hmac_key="hmac-key"):
        super().__init__()
        self.api_key = api_key
        self.session = session
        self.hmac_key = hmac_key
        self.status = "WORKING"
        self.sent = []  # (path, payload) of the messages accepted
        self.files = {}  # name -> (bytes, mimetype)
        self.webhook_url = ""
        self._ids = itertools.count(1)
        self.route("POST", "/api/send", self._send)
        self.route("GET", "/api/sessions/", self._get_session)
        self.route("GET", f"/api/{session}/auth/qr", self._qr)
        self.route("GET", "/api/files/", self._file)

    # -- API --------------------------------------------------------------------
    def _refused(self, request):
        if request.headers.get("X-Api-Key") != self.api_key:
            return 401, {}, {"message": "Unauthorized", "statusCode": 401}
        return None

    def _send(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        payload = request.json()
        if payload.get("session") != self.session:
            return 404, {}, {"message": "Session not found", "statusCode": 404}
        if self.status != "WORKING":
            return (
                422,
                {},
                {
                    "statusCode": 422,
                    "message": "Session status is not as expected. Try again later "
                    f"or restart the session (status: {self.status})",
                },
            )
        if not str(payload.get("chatId", "")).endswith("@c.us"):
            return 400, {}, {"message": "chatId must be a chat id", "statusCode": 400}
        if request.path == "/api/sendText" and not payload.get("text"):
            return 400, {}, {"message": "text should not be empty", "statusCode": 400}
        if request.path in ("/api/sendImage", "/api/sendFile") and not (
            payload.get("file") or {}
        ).get("data"):
            return 400, {}, {"message": "file is required", "statusCode": 400}
        message_id = f"3EB0{next(self._ids):016X}"
        self.sent.append((request.path, payload))
        # WEBJS answers the message it created.
        return (
            201,
            {},
            {
                "id": {
                    "fromMe": True,
                    "remote": payload["chatId"],
                    "id": message_id,
                    "_serialized": f"true_{payload['chatId']}_{message_id}",
                },
                "timestamp": int(time.time()),
                "body": payload.get("text") or payload.get("caption") or "",
                "fromMe": True,
                "ack": 0,
            },
        )

    def _get_session(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        name = request.path.rsplit("/", 1)[-1]
        if name != self.session:
            return 404, {}, {"message": "Session not found", "statusCode": 404}
        hooks = []
        if self.webhook_url:
            hooks.append(
                {
                    "url": self.webhook_url,
                    "events": ["message", "message.ack", "session.status"],
                    "hmac": {"key": self.hmac_key} if self.hmac_key else None,
                    "retries": None,
                    "customHeaders": None,
                }
            )
        return (
            200,
            {},
            {
                "name": self.session,
                "status": self.status,
                "config": {"proxy": None, "webhooks": hooks, "debug": False},
                "me": (
                    {"id": f"{OWN_NUMBER}@c.us", "pushName": "Office Chairs"}
                    if self.status == "WORKING"
                    else None
                ),
                "engine": {"engine": "WEBJS"},
            },
        )

    def _qr(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        if self.status != "SCAN_QR_CODE":
            return (
                422,
                {},
                {
                    "statusCode": 422,
                    "message": "Can get QR code only in SCAN_QR_CODE status. The "
                    f"current status is '{self.status}'",
                },
            )
        return 200, {"Content-Type": "image/png"}, QR_PNG

    def _file(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        name = request.path.split("/api/files/", 1)[1]
        if name not in self.files:
            return 404, {}, {"message": "not found", "statusCode": 404}
        data, mimetype = self.files[name]
        return 200, {"Content-Type": mimetype}, data

    def add_file(self, name, data, mimetype):
        self.files[name] = (data, mimetype)
        return f"{self.url}/api/files/{name}"

    # -- webhooks ---------------------------------------------------------------
    def envelope(self, kind, payload, session=None):
        return {
            "id": f"evt_{time.monotonic_ns():026x}",
            "timestamp": int(time.time() * 1000),
            "event": kind,
            "session": session or self.session,
            "metadata": {},
            "me": {"id": f"{OWN_NUMBER}@c.us", "pushName": "Office Chairs"},
            "payload": payload,
            "engine": "WEBJS",
            "environment": {"version": "2025.1.1", "engine": "WEBJS", "tier": "CORE"},
        }

    def signed_headers(self, body, key=None):
        key = self.hmac_key if key is None else key
        return {
            "Content-Type": "application/json",
            "X-Webhook-Request-Id": f"req_{time.monotonic_ns():x}",
            "X-Webhook-Timestamp": str(int(time.time() * 1000)),
            "X-Webhook-Hmac": hmac.new(key.encode(), body, hashlib.sha512).hexdigest(),
            "X-Webhook-Hmac-Algorithm": "sha512",
        }

    def webhook(self, url, data, key=None, http=None):
        """POST ``data`` (an envelope, or raw bytes) to ``url`` as WAHA does
        (``http``: the requests session to post with, e.g. a test's opener)."""
        body = json.dumps(data).encode() if isinstance(data, dict) else data
        return (http or requests).post(
            url, data=body, headers=self.signed_headers(body, key), timeout=30
        )


def waha_message(
    message_id, phone, body="", name="Anna Smirnova", media=None, **fields
):
    """The payload of a ``message`` event from the personal chat of ``phone``."""
    chat = f"{phone}@c.us"
    payload = {
        "id": f"false_{chat}_{message_id}",
        "timestamp": int(time.time()),
        "from": chat,
        "fromMe": False,
        "source": "app",
        "to": f"{OWN_NUMBER}@c.us",
        "body": body,
        "hasMedia": bool(media),
        "ack": 1,
        "vCards": [],
        "_data": {"notifyName": name, "type": "chat"},
    }
    if media:
        payload["media"] = dict({"error": None}, **media)
    payload.update(fields)
    return payload


def waha_ack(message_id, phone, ack_name):
    ack = {"ERROR": -1, "PENDING": 0, "SERVER": 1, "DEVICE": 2, "READ": 3}[ack_name]
    chat = f"{phone}@c.us"
    return {
        "id": f"true_{chat}_{message_id}",
        "from": chat,
        "participant": None,
        "fromMe": True,
        "ack": ack,
        "ackName": ack_name,
    }


def waha_session_status(status, at_ms=None):
    at_ms = at_ms or int(time.time() * 1000)
    return {
        "status": status,
        "statuses": [
            {"status": "STARTING", "timestamp": at_ms - 2000},
            {"status": status, "timestamp": at_ms},
        ],
        "data": None,
    }
