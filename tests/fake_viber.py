"""A fake Viber REST Bot API on 127.0.0.1, speaking the real wire format:
``POST /pa/<method>`` with the ``X-Viber-Auth-Token`` header, always HTTP 200
with ``{"status": 0, "status_message": "ok", ...}`` or a non-zero status;
media served at ``GET /media/<name>`` as Viber's media host does.

``viber_callback`` builds callbacks shaped like the examples of
https://developers.viber.com/docs/api/rest-bot-api/#callbacks and
``viber_signature`` signs them as Viber does (hex HMAC-SHA256 of the body
keyed with the auth token), independently of the addon's own code."""

import hashlib
import hmac
import itertools
import json
import time

from .common import FakeProviderServer

ACCOUNT = {
    "id": "pa:75346594275468546724",
    "name": "Mebel Shop",
    "uri": "mebelshop",
    "category": "Shopping",
    "subcategory": "Furniture",
    "country": "RU",
    "location": {"lon": 37.6173, "lat": 55.7558},
}


class FakeViberServer(FakeProviderServer):
    def __init__(self, token="445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"):
        super().__init__()
        self.token = token
        self.webhook = ""
        self.sent = []  # send_message payloads accepted
        self.files = {}  # name -> bytes
        self.failure = None  # (status, status_message) for send_message
        self._tokens = itertools.count(5741311803571721087)
        self.route("POST", "/pa/", self._api)
        self.route("GET", "/media/", self._media)

    @property
    def api_root(self):
        return self.url + "/pa"

    def add_file(self, name, data):
        self.files[name] = data
        return f"{self.url}/media/{name}"

    def calls(self, method):
        return [r for r in self.requests if r.path == "/pa/" + method]

    def _api(self, request):
        method = request.path.rsplit("/", 1)[-1]
        if request.headers.get("X-Viber-Auth-Token") != self.token:
            return 200, {}, {"status": 2, "status_message": "invalidAuthToken"}
        try:
            payload = request.json()
        except ValueError:
            return 200, {}, {"status": 3, "status_message": "badData"}
        if method == "send_message":
            if self.failure:
                status, text = self.failure
                return 200, {}, {"status": status, "status_message": text}
            if not payload.get("receiver") or not (payload.get("sender") or {}).get(
                "name"
            ):
                return 200, {}, {"status": 4, "status_message": "missingData"}
            self.sent.append(payload)
            return (
                200,
                {},
                {
                    "status": 0,
                    "status_message": "ok",
                    "message_token": next(self._tokens),
                    "chat_hostname": "SN-CHAT-05_",
                    "billing_status": 1,
                },
            )
        if method == "set_webhook":
            self.webhook = payload.get("url", "")
            return (
                200,
                {},
                {
                    "status": 0,
                    "status_message": "ok",
                    "chat_hostname": "SN-CHAT-05_",
                    "event_types": payload.get("event_types") or [],
                },
            )
        if method == "get_account_info":
            return (
                200,
                {},
                dict(
                    ACCOUNT,
                    status=0,
                    status_message="ok",
                    webhook=self.webhook,
                    event_types=[
                        "delivered",
                        "seen",
                        "failed",
                        "subscribed",
                        "unsubscribed",
                        "conversation_started",
                    ],
                    subscribers_count=35,
                    members=[],
                ),
            )
        return 200, {}, {"status": 3, "status_message": "badData"}

    def _media(self, request):
        name = request.path.split("/media/", 1)[1]
        if name not in self.files:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "application/octet-stream"}, self.files[name]


def viber_user(user_id="01234567890A=", name="Anna Smirnova"):
    return {
        "id": user_id,
        "name": name,
        "avatar": "http://avatar.example.com",
        "country": "RU",
        "language": "ru",
        "api_version": 10,
    }


def viber_callback(event, message_token, **fields):
    """A callback as Viber POSTs it (timestamps in milliseconds)."""
    data = {
        "event": event,
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-376_",
        "message_token": message_token,
    }
    data.update(fields)
    return data


def viber_message(message_token, message, user=None):
    return viber_callback(
        "message",
        message_token,
        sender=user or viber_user(),
        message=message,
        silent=False,
    )


def viber_signature(token, body):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return body, hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
