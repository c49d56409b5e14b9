"""A fake Zadarma on 127.0.0.1, in its documented wire format.

API side (what Odoo calls): ``GET /v1/<method>/?<params>&format=json`` with
the header
``Authorization: <key>:<base64(hex(HMAC-SHA1(method + params + md5(params), secret)))>``
answering ``{"status": "success", ...}`` or ``{"status": "error", "message": ...}``;
recordings are served at the links ``/v1/pbx/record/request/`` returns.

Webhook side (what Zadarma posts to Odoo): :meth:`notification` builds a
form-encoded NOTIFY_* body and its ``Signature`` header."""

import base64
import hashlib
import hmac
import time
import urllib.parse

from .common import FakeProviderServer

NOTIFY_SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
    "SMS": ("result",),
    "SPEECH_RECOGNITION": ("result",),
}


def sign(data, secret):
    return base64.b64encode(
        hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest().encode()
    ).decode()


class FakeZadarmaServer(FakeProviderServer):
    def __init__(self, key="zd-key", secret="zd-secret"):
        super().__init__()
        self.key, self.secret = key, secret
        self.recordings = {}  # call_id_with_rec -> bytes
        self.download_failures = 0  # answer the next N recording downloads with 503
        self.callback_error = None  # (http status, message) to refuse request/callback
        self.route("GET", "/v1/", self._api)
        self.route("GET", "/rec/", self._download)

    # -- API ----------------------------------------------------------------------
    def _authorized(self, request):
        query = urllib.parse.urlencode(sorted(request.query.items()))
        expected = sign(
            request.path + query + hashlib.md5(query.encode()).hexdigest(), self.secret
        )
        return request.headers.get("Authorization") == f"{self.key}:{expected}"

    def _api(self, request):
        if not self._authorized(request):
            return 401, {}, {"status": "error", "message": "Not authorized"}
        if request.query.get("format") != "json":
            return 400, {}, {"status": "error", "message": "Wrong format"}
        if request.path == "/v1/info/balance/":
            return 200, {}, {"status": "success", "balance": 10.25, "currency": "USD"}
        if request.path == "/v1/request/callback/":
            if self.callback_error:
                status, message = self.callback_error
                return status, {}, {"status": "error", "message": message}
            return (
                200,
                {},
                {
                    "status": "success",
                    "from": request.query["from"],
                    "to": request.query["to"],
                    "time": int(time.time()),
                },
            )
        if request.path == "/v1/pbx/record/request/":
            rec = request.query.get("call_id")
            if rec not in self.recordings:
                return 404, {}, {"status": "error", "message": "Record not found"}
            return (
                200,
                {},
                {
                    "status": "success",
                    "link": f"{self.url}/rec/{rec}.mp3",
                    "lifetime_till": "2030-01-01 00:00:00",
                },
            )
        return 404, {}, {"status": "error", "message": "Method not found"}

    def _download(self, request):
        if self.download_failures:
            self.download_failures -= 1
            return 503, {}, b"Service Unavailable"
        rec = request.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if rec not in self.recordings:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "audio/mpeg"}, self.recordings[rec]

    def calls(self, method):
        return [r for r in self.requests if r.path == method]

    # -- webhooks -------------------------------------------------------------------
    def notification(self, event, secret=None, **fields):
        """(body bytes, headers) of a NOTIFY_* webhook as Zadarma posts it."""
        data = dict(fields, event=event)
        signature = sign(
            "".join(str(data.get(f, "")) for f in NOTIFY_SIGNED[event]),
            secret or self.secret,
        )
        body = urllib.parse.urlencode(data).encode()
        return body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Signature": signature,
        }
