"""A fake Twilio REST API on 127.0.0.1, speaking the real wire format:
``/2010-04-01/Accounts/<AccountSid>/...`` with HTTP basic auth (Account SID,
Auth Token), form-encoded requests, JSON answers; errors as
``{"code", "message", "more_info", "status"}``; media at
``/2010-04-01/Accounts/<sid>/Messages/<MM>/Media/<ME>``.

``twilio_request`` builds the form Twilio POSTs to a webhook (incoming SMS or
status callback, as in https://www.twilio.com/docs/messaging/guides/webhook-request)
and signs it the way Twilio documents (base64 HMAC-SHA1 of the URL followed
by the sorted parameters), independently of the addon's own code."""

import base64
import hashlib
import hmac
import itertools
import urllib.parse
import uuid

from .common import FakeProviderServer

ACCOUNT_SID = "AC" + "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
AUTH_TOKEN = "12345678901234567890123456789012"


class FakeTwilioServer(FakeProviderServer):
    def __init__(self, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages = []  # accepted Messages.json forms
        self.numbers = []  # IncomingPhoneNumbers
        self.media = {}
        self.failure = None  # (http status, twilio code, message)
        self._ids = itertools.count(1)
        self.prefix = f"/2010-04-01/Accounts/{account_sid}/"
        self.route("POST", self.prefix, self._api)
        self.route("GET", self.prefix, self._api)

    def add_number(self, phone_number, sms_url=""):
        number = {
            "sid": "PN" + uuid.uuid4().hex,
            "account_sid": self.account_sid,
            "phone_number": phone_number,
            "friendly_name": phone_number,
            "sms_url": sms_url,
            "sms_method": "POST",
            "capabilities": {"sms": True, "mms": True, "voice": True},
        }
        self.numbers.append(number)
        return number

    def add_media(self, data, content_type="image/jpeg"):
        path = f"{self.prefix}Messages/MM{uuid.uuid4().hex}/Media/ME{uuid.uuid4().hex}"
        self.media[path] = (data, content_type)
        return self.url + path

    @staticmethod
    def error(status, code, message):
        return (
            status,
            {},
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _authorized(self, request):
        expected = (
            "Basic "
            + base64.b64encode(
                (f"{self.account_sid}:{self.auth_token}").encode()
            ).decode()
        )
        return request.headers.get("Authorization") == expected

    def _api(self, request):
        if not self._authorized(request):
            return self.error(401, 20003, "Authenticate")
        path = request.path[len(self.prefix) :]
        if request.method == "GET" and request.path in self.media:
            data, content_type = self.media[request.path]
            return 200, {"Content-Type": content_type}, data
        if path == "Messages.json" and request.method == "POST":
            return self._send(request.fields)
        if path == "IncomingPhoneNumbers.json" and request.method == "GET":
            wanted = request.query.get("PhoneNumber")
            found = [
                n for n in self.numbers if not wanted or n["phone_number"] == wanted
            ]
            return (
                200,
                {},
                {
                    "incoming_phone_numbers": found,
                    "page": 0,
                    "page_size": 50,
                    "start": 0,
                    "end": len(found) - 1,
                },
            )
        if path.startswith("IncomingPhoneNumbers/") and request.method == "POST":
            sid = path.split("/", 1)[1].split(".")[0]
            number = next((n for n in self.numbers if n["sid"] == sid), None)
            if not number:
                return self.error(
                    404,
                    20404,
                    f"The requested resource {request.path} was not found",
                )
            if "SmsUrl" in request.fields:
                number["sms_url"] = request.fields["SmsUrl"]
            if "SmsMethod" in request.fields:
                number["sms_method"] = request.fields["SmsMethod"]
            return 200, {}, number
        return self.error(
            404, 20404, f"The requested resource {request.path} was not found"
        )

    def _send(self, fields):
        if self.failure:
            return self.error(*self.failure)
        if not fields.get("To"):
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not fields.get("From"):
            return self.error(400, 21603, "A 'From' phone number is required.")
        sid = f"SM{next(self._ids):032x}"
        self.messages.append(dict(fields, sid=sid))
        return (
            201,
            {},
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": fields.get("Body", ""),
                "date_created": "Mon, 14 Apr 2025 09:27:41 +0000",
                "date_sent": None,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": fields["From"],
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "to": fields["To"],
                "uri": f"{self.prefix}Messages/{sid}.json",
            },
        )


def twilio_signature(auth_token, url, params):
    data = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()


def twilio_request(url, params, auth_token=AUTH_TOKEN, signature=None):
    """(body, headers) of a webhook POST Twilio sends to ``url``."""
    body = urllib.parse.urlencode(params).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature
        if signature is not None
        else twilio_signature(auth_token, url, params),
        "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        "User-Agent": "TwilioProxy/1.1",
    }
    if headers["X-Twilio-Signature"] == "":
        del headers["X-Twilio-Signature"]
    return body, headers


def incoming_sms(from_number, to_number, body, message_sid=None, media=(), **extra):
    """The parameters of Twilio's incoming-message webhook."""
    sid = message_sid or "SM" + uuid.uuid4().hex
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "RU",
        "To": to_number,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_number,
        "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    params.update(extra)
    return params


def status_callback(message_sid, status, to_number, from_number, **extra):
    params = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to_number,
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_number,
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params
