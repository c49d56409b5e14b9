"""A fake VK API on 127.0.0.1, speaking the real wire format:
``POST /method/<name>`` (form fields, ``access_token`` and ``v``) answering
``{"response": ...}`` or ``{"error": {"error_code", "error_msg",
"request_params"}}``; upload servers at ``/upload/photo`` and ``/upload/doc``
answering as pu.vk.com does; files at ``GET /files/<name>``.

``messages.send`` keeps VK's rule: a second message with the same
``random_id`` to the same peer is not delivered again (VK answers with the
id of the first).  ``vk_event`` builds Callback API events shaped like the
examples of https://dev.vk.com/ru/api/callback/getting-started."""

import itertools
import json
import time
import uuid

from .common import FakeProviderServer

GROUP_ID = 218375163
USERS = {
    "5550101": {
        "id": 5550101,
        "first_name": "Ivan",
        "last_name": "Petrov",
        "screen_name": "ivan_petrov",
        "can_access_closed": True,
        "is_closed": False,
    },
}


class FakeVkServer(FakeProviderServer):
    def __init__(self, token="vk1.a.community-token"):
        super().__init__()
        self.token = token
        self.delivered = []  # messages.send params actually delivered
        self.answered_presses = []  # messages.sendMessageEventAnswer params
        self.files = {}
        self.failures = {}  # method -> (error_code, error_msg) or 'gateway'
        self.callback_servers = []
        self._ids = itertools.count(1001)
        self._by_random_id = {}
        self._upload_ids = itertools.count(457239017)
        self.route("POST", "/method/", self._api)
        self.route("POST", "/upload/", self._upload)
        self.route("GET", "/files/", self._file)

    @property
    def api_root(self):
        return self.url + "/method"

    def add_file(self, name, data):
        self.files[name] = data
        return f"{self.url}/files/{name}"

    def calls(self, method):
        return [r for r in self.requests if r.path == "/method/" + method]

    @staticmethod
    def error(code, text, params):
        return (
            200,
            {},
            {
                "error": {
                    "error_code": code,
                    "error_msg": text,
                    "request_params": [
                        {"key": k, "value": v}
                        for k, v in params.items()
                        if k != "access_token"
                    ],
                }
            },
        )

    def _api(self, request):
        method = request.path.rsplit("/", 1)[-1]
        params = request.fields
        if params.get("access_token") != self.token:
            return self.error(
                5, "User authorization failed: invalid access_token (4).", params
            )
        if not params.get("v"):
            return self.error(8, "Invalid request: v (version) is required", params)
        failure = self.failures.get(method)
        if failure and failure != "gateway":
            return self.error(failure[0], failure[1], params)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self.error(3, "Unknown method passed", params)
        answer = handler(params)
        if failure == "gateway":
            # VK did the work, but the answer is lost on the way back.
            return 502, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
        return answer

    @staticmethod
    def ok(response):
        return 200, {}, {"response": response}

    def _m_messages_send(self, params):
        key = (params.get("peer_id"), params.get("random_id"))
        if params.get("random_id") not in (None, "", "0") and key in self._by_random_id:
            return self.ok(self._by_random_id[key])
        message_id = next(self._ids)
        self._by_random_id[key] = message_id
        self.delivered.append(dict(params, id=message_id))
        return self.ok(message_id)

    def _m_messages_sendMessageEventAnswer(self, params):
        # VK answers 1 once the press is acknowledged (the button stops waiting).
        if (
            not params.get("event_id")
            or not params.get("user_id")
            or not params.get("peer_id")
        ):
            return self.error(
                100, "One of the parameters specified was missing or invalid", params
            )
        self.answered_presses.append(dict(params))
        return self.ok(1)

    def _m_users_get(self, params):
        return self.ok(
            [USERS[u] for u in str(params.get("user_ids", "")).split(",") if u in USERS]
        )

    def _m_groups_getById(self, params):
        return self.ok(
            {
                "groups": [
                    {
                        "id": GROUP_ID,
                        "name": "Мебельный магазин",
                        "screen_name": f"club{GROUP_ID}",
                        "is_closed": 0,
                        "type": "group",
                    }
                ],
                "profiles": [],
            }
        )

    def _m_groups_getCallbackServers(self, params):
        return self.ok(
            {"count": len(self.callback_servers), "items": self.callback_servers}
        )

    def _m_photos_getMessagesUploadServer(self, params):
        return self.ok(
            {
                "album_id": -64,
                "upload_url": self.url + "/upload/photo",
                "group_id": GROUP_ID,
            }
        )

    def _m_docs_getMessagesUploadServer(self, params):
        return self.ok({"upload_url": self.url + "/upload/doc"})

    def _m_photos_saveMessagesPhoto(self, params):
        if not params.get("photo") or not params.get("hash"):
            return self.error(
                100,
                "One of the parameters specified was missing or invalid: photo is "
                "undefined",
                params,
            )
        return self.ok(
            [
                {
                    "album_id": -64,
                    "date": int(time.time()),
                    "id": next(self._upload_ids),
                    "owner_id": -GROUP_ID,
                    "access_key": "c3d1e4f5a6",
                    "sizes": [],
                    "text": "",
                }
            ]
        )

    def _m_docs_save(self, params):
        if not params.get("file"):
            return self.error(
                100,
                "One of the parameters specified was missing or invalid: file is "
                "undefined",
                params,
            )
        doc_id = next(self._upload_ids)
        return self.ok(
            {
                "type": "doc",
                "doc": {
                    "id": doc_id,
                    "owner_id": -GROUP_ID,
                    "title": params.get("title"),
                    "size": 10,
                    "ext": "pdf",
                    "url": self.url + f"/files/doc{doc_id}",
                },
            }
        )

    def _upload(self, request):
        kind = request.path.rsplit("/", 1)[-1]
        field = "photo" if kind == "photo" else "file"
        if field not in request.files:
            return 200, {}, {"error": "no file uploaded"}
        self.files[f"upload-{len(self.files)}"] = request.files[field][1]
        if kind == "photo":
            return (
                200,
                {},
                {
                    "server": 840124,
                    "photo": json.dumps(
                        [{"markers_restarted": True, "photo": uuid.uuid4().hex}]
                    ),
                    "hash": uuid.uuid4().hex,
                },
            )
        return 200, {}, {"file": uuid.uuid4().hex}

    def _file(self, request):
        name = request.path.split("/files/", 1)[1]
        if name not in self.files:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "application/octet-stream"}, self.files[name]


def vk_event(kind, obj, secret="vk-secret-key", event_id=None, group_id=GROUP_ID):
    data = {
        "type": kind,
        "object": obj,
        "group_id": group_id,
        "event_id": event_id or uuid.uuid4().hex[:40],
        "v": "5.199",
    }
    if secret is not None:
        data["secret"] = secret
    return data


def vk_message(message_id, from_id=5550101, text="", **fields):
    message = {
        "date": int(time.time()),
        "from_id": from_id,
        "id": message_id,
        "out": 0,
        "version": 10000123,
        "attachments": [],
        "conversation_message_id": message_id,
        "fwd_messages": [],
        "important": False,
        "is_hidden": False,
        "peer_id": from_id,
        "random_id": 0,
        "text": text,
    }
    message.update(fields)
    return message


def vk_message_new(message_id, secret="vk-secret-key", event_id=None, **fields):
    return vk_event(
        "message_new",
        {
            "message": vk_message(message_id, **fields),
            "client_info": {
                "button_actions": [
                    "text",
                    "vkpay",
                    "open_app",
                    "location",
                    "open_link",
                    "callback",
                ],
                "keyboard": True,
                "inline_keyboard": True,
                "carousel": True,
                "lang_id": 0,
            },
        },
        secret=secret,
        event_id=event_id,
    )
