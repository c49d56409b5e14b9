"""A fake Mango Office VPBX API on 127.0.0.1, in its documented wire format.

API side (what Odoo calls): ``POST /vpbx/<method>`` with the form fields
``vpbx_api_key``, ``json`` and ``sign`` = hex SHA-256 of key + json + salt;
answers in JSON (``{"result": 1000}`` for an accepted command).  A request
with a wrong key or sign is refused (HTTP 401).  The recording download
query answers with a redirect to the file, served under ``/rec/``.

Webhook side (what Mango posts to Odoo): :meth:`event` builds the signed
form body of a notification (``/events/call``, ``/events/summary``,
``/events/record/added``)."""

import hashlib
import json
import urllib.parse

from .common import FakeProviderServer


def sign(key, payload, salt):
    return hashlib.sha256((key + payload + salt).encode()).hexdigest()


class FakeMangoServer(FakeProviderServer):
    def __init__(self, key="mango-key", salt="mango-salt"):
        super().__init__()
        self.key, self.salt = key, salt
        self.recordings = {}  # recording_id -> bytes
        self.callback_result = 1000  # the result code of commands/callback
        self.users = [
            {"general": {"name": "Anna Seller"}, "telephony": {"extension": "101"}},
            {"general": {"name": "Boris Seller"}, "telephony": {"extension": "102"}},
        ]
        self.route("POST", "/vpbx/", self._api)
        self.route("GET", "/rec/", self._download)

    # -- API ----------------------------------------------------------------------
    def signed(self, request):
        """Whether ``request`` carries this PBX's key and a valid sign."""
        fields = request.fields
        return fields.get("vpbx_api_key") == self.key and fields.get("sign") == sign(
            self.key, fields.get("json", ""), self.salt
        )

    def _api(self, request):
        if not self.signed(request):
            return 401, {}, {"result": 3102, "message": "wrong key or sign"}
        payload = json.loads(request.fields["json"])
        method = request.path[len("/vpbx/") :]
        if method == "commands/callback":
            if not payload.get("command_id") or not payload.get("to_number"):
                return 200, {}, {"result": 3101}
            return 200, {}, {"result": self.callback_result}
        if method == "config/users/request":
            return 200, {}, {"users": self.users}
        if method == "queries/recording/post":
            rec = payload.get("recording_id")
            if payload.get("action") != "download" or rec not in self.recordings:
                return 404, {}, {"result": 3100}
            return 302, {"Location": f"{self.url}/rec/{rec}.mp3"}, b""
        return 404, {}, {"result": 4001}

    def _download(self, request):
        rec = request.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if rec not in self.recordings:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "audio/mpeg"}, self.recordings[rec]

    def calls(self, method):
        """The API requests of ``method`` ("commands/callback"), with their
        ``json`` read."""
        found = [r for r in self.requests if r.path == f"/vpbx/{method}"]
        for request in found:
            request.payload = json.loads(request.fields.get("json") or "{}")
        return found

    # -- webhooks -------------------------------------------------------------------
    def event(self, payload, key=None, salt=None):
        """(body bytes, headers) of a notification as Mango posts it."""
        text = json.dumps(payload, ensure_ascii=False)
        key = self.key if key is None else key
        body = urllib.parse.urlencode(
            {
                "vpbx_api_key": key,
                "sign": sign(key, text, self.salt if salt is None else salt),
                "json": text,
            }
        ).encode()
        return body, {"Content-Type": "application/x-www-form-urlencoded"}
