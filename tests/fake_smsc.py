"""A fake SMSC.ru HTTP API on 127.0.0.1, speaking its wire format
(https://smsc.ru/api/http/): ``/sys/send.php`` and ``/sys/balance.php``
take a form (or query) with ``login`` + ``psw`` or ``apikey``, ``fmt=3``
answers JSON: ``{"id": <id>, "cnt": <parts>}``, ``{"balance": "…",
"currency": "RUR"}``, errors ``{"error": <text>, "error_code": <n>}`` (with
HTTP 200, as SMSC answers).

``status_callback`` and ``incoming_sms`` build the form SMSC.ru POSTs to the
client's handler address (a delivery status, an SMS to a virtual number),
encoded in the charset the handler address asks for (windows-1251 by
default); ``handler_request`` is that POST, to the handler address with its
query (our secret), independently of the addon's code."""

import itertools
import urllib.parse

from .common import FakeProviderServer

LOGIN = "shop"
PASSWORD = "s3cret-pass"
API_KEY = "smsc-api-key-0123456789"


class FakeSmscServer(FakeProviderServer):
    def __init__(self, login=LOGIN, password=PASSWORD, apikey=API_KEY):
        super().__init__()
        self.login = login
        self.password = password
        self.apikey = apikey
        self.balance = "1520.50"
        self.messages = []  # accepted send.php requests (their fields)
        self.failure = None  # (error_code, text): the next sends are refused
        self._ids = itertools.count(501)
        self.route("POST", "/sys/send.php", self._send)
        self.route("GET", "/sys/send.php", self._send)
        self.route("POST", "/sys/balance.php", self._balance)
        self.route("GET", "/sys/balance.php", self._balance)

    @staticmethod
    def _fields(request):
        fields = dict(request.query)
        fields.update(request.fields)
        return fields

    def _authorized(self, fields):
        if "apikey" in fields:
            return fields["apikey"] == self.apikey
        return (fields.get("login"), fields.get("psw")) == (self.login, self.password)

    @staticmethod
    def error(code, text):
        return 200, {}, {"error": text, "error_code": code}

    def _send(self, request):
        fields = self._fields(request)
        if not self._authorized(fields):
            return self.error(2, "authorise error")
        if not fields.get("phones") or not fields.get("mes"):
            return self.error(1, "parameters error")
        if self.failure:
            return self.error(*self.failure)
        ident = next(self._ids)
        self.messages.append(dict(fields, id=str(ident)))
        return 200, {}, {"id": ident, "cnt": 1}

    def _balance(self, request):
        fields = self._fields(request)
        if not self._authorized(fields):
            return self.error(2, "authorise error")
        return 200, {}, {"balance": self.balance, "currency": "RUR"}


def status_callback(ident, phone, status, err="0", ts="1764900000", **extra):
    """The fields of a delivery status SMSC.ru posts to the handler."""
    fields = {
        "id": str(ident),
        "phone": phone.lstrip("+"),
        "status": str(status),
        "err": str(err),
        "ts": ts,
        "cnt": "1",
        "type": "0",
    }
    fields.update(extra)
    return fields


def incoming_sms(ident, phone, text, to="79001112233", sent="1764900000"):
    """The fields of an SMS to a virtual number SMSC.ru posts to the handler."""
    return {
        "id": str(ident),
        "phone": phone.lstrip("+"),
        "mes": text,
        "to": to,
        "sent": sent,
        "time": sent,
    }


def handler_request(fields, charset="utf-8"):
    """(body, headers) of SMSC.ru's POST of ``fields`` to the handler."""
    body = urllib.parse.urlencode(fields, encoding=charset).encode("ascii")
    return body, {"Content-Type": "application/x-www-form-urlencoded"}
