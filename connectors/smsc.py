"""SMS through SMSC.ru, a Russian SMS gateway, beside Twilio.

Followed: the HTTP API documentation at https://smsc.ru/api/http/ (sending,
statuses and their codes, balance, "Передача статусов и сообщений на
обработчик Клиента"), as read in December 2026.

Why SMSC.ru rather than SMS.ru: SMSC.ru delivers both delivery statuses *and*
incoming SMS (to a rented virtual number) to one handler URL, which is what a
conversation needs; SMS.ru's callbacks carry statuses (and call checks), not
the customers' SMS.

Outbound: ``POST <root>/sys/send.php`` (form) with ``login`` + ``psw`` (or
``apikey`` alone), ``phones``, ``mes``, ``sender``, ``charset=utf-8`` (SMSC's
default is windows-1251: without it a Cyrillic text arrives garbled) and
``fmt=3`` (JSON answers: ``{"id": <id>, "cnt": <parts>}`` or
``{"error": <text>, "error_code": <n>}``).  ``<root>/sys/balance.php`` answers
``{"balance": "…", "currency": "RUR"}``: the "Check connection" button.

Inbound: in the SMSC cabinet (Settings > "Адрес обработчика") the handler URL
receives a form POST per event: a delivery status (``id``, ``phone``,
``status``, ``err``, ``ts``...) or an incoming SMS (``id``, ``phone``, ``mes``,
``to``, ``sent``...).  The handler URL's own query chooses the encoding:
``charset=utf-8`` is required (SMSC's default, windows-1251, does not survive
Odoo's parsing of form bodies as UTF-8).

Verification: SMSC can add a checksum to its calls, but the stored
documentation does not let us reproduce the signed string with certainty, so
this connector does not rely on it.  Instead the handler URL carries a secret
of ours, ``secret=<the channel's webhook secret>``, besides the unguessable
webhook key of the path; it is compared in constant time
(:func:`.signing.secrets_equal`) and a channel without a secret accepts
nothing.  The URL travels over HTTPS only to SMSC.
"""

from __future__ import annotations

import urllib.parse

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Contact,
    DeliveryStatus,
    IgnoredEvent,
    InboundMessage,
    SendResult,
)
from .interface import Connector, register
from .signing import secrets_equal
from .twilio_sms import TwilioSmsConnector
from .validation import clean_input

DEFAULT_API_ROOT = "https://smsc.ru"
#: the query parameter of the handler URL that carries our secret
SECRET_PARAM = "secret"
#: SMSC's message status codes (https://smsc.ru/api/http/status_messages/)
STATUSES = {
    "-1": "queued",  # waiting to be sent
    "0": "sent",  # handed to the operator
    "1": "delivered",
    "2": "read",
    "4": "read",  # a link of the message was followed
    "3": "failed",  # expired
    "20": "failed",  # impossible to deliver
    "22": "failed",  # wrong number
    "23": "failed",  # prohibited
    "24": "failed",  # not enough money
    "25": "failed",  # unreachable number
}
STATUS_TEXTS = {
    "3": "The message expired before it could be delivered",
    "20": "The message cannot be delivered",
    "22": "Wrong phone number",
    "23": "The message is prohibited",
    "24": "Not enough money on the SMSC.ru account",
    "25": "The number is unreachable",
}
#: error codes (``err``) of a status (https://smsc.ru/api/http/status_messages/)
DELIVERY_ERRORS = {
    "1": "The subscriber does not exist",
    "6": "The subscriber is not online",
    "11": "No SMS service",
    "12": "Error in the subscriber's phone",
    "13": "The subscriber is blocked",
    "21": "SMS are not supported",
    "200": "Virtual sending (test mode): nothing was sent",
    "220": "The operator's queue is full",
    "240": "The subscriber is busy",
    "245": "No status was received from the operator",
    "246": "Time limit",
    "247": "Message limit exceeded",
    "248": "No route to the number",
    "249": "Wrong number format",
    "250": "The number is forbidden by the account settings",
    "251": "Limit per number exceeded",
    "252": "The number is forbidden",
    "253": "Forbidden by the spam filter",
    "254": "Unregistered sender name",
    "255": "Rejected by the operator",
}
#: error codes of send.php / balance.php
API_ERRORS = {
    1: "Error in the parameters",
    2: "Wrong login or password (or a forbidden IP address)",
    3: "Not enough money on the SMSC.ru account",
    4: "The IP address is temporarily blocked after too many errors",
    5: "Wrong date format",
    6: "The message is prohibited (by its text or sender name)",
    7: "Wrong phone number format",
    8: "The message cannot be delivered to this number",
    9: "Too many identical or simultaneous requests",
}
#: trying again later may succeed (money topped up, block lifted, rate)
RETRYABLE_ERRORS = {3, 4, 9}
#: SMSC refuses the same request within a minute
RATE_LIMIT_ERRORS = {9: 60}


def phone_of(value: str) -> str:
    """A number as SMSC writes it (``79125554433``, ``+7 912…``) in E.164,
    or '' when it is not a number."""
    digits = "".join(ch for ch in value or "" if ch.isdigit())
    return "+" + digits if 6 <= len(digits) <= 15 else ""


def _timestamp(value) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0


@register
class SmscConnector(Connector):
    code = "sms_smsc"
    label = "SMS (SMSC.ru)"
    sequence = 82
    kind = "sms"
    icon = "fa-commenting-o"
    color = "#495057"
    deep_link = "sms:+%s"
    handle_format = "digits"
    user_ids_are_global = True
    #: the webhook secret is the secret of the handler URL
    common_settings = ("webhook_secret", "api_base_url")
    body_format = "form"
    default_api_root = DEFAULT_API_ROOT

    # -- plumbing ----------------------------------------------------------
    def _auth(self, error=SendError):
        key = self.config.token
        if not key:
            raise error(
                "The SMSC.ru password or API key of this channel is not set.",
                **({"code": "config"} if error is SendError else {}),
            )
        login = (self.config.extra.get("login") or "").strip()
        return {"login": login, "psw": key} if login else {"apikey": key}

    def _call(self, path, data, error=SendError):
        response = self.http(
            "POST", f"{self.api_root()}/sys/{path}", data=dict(data, fmt="3")
        )
        answer = self.json_answer(response, "SMSC.ru")
        if not isinstance(answer, dict):
            raise SendError(
                "SMSC.ru answered with an unexpected body",
                code="bad_answer",
                retryable=True,
            )
        if "error" in answer or "error_code" in answer:
            try:
                code = int(answer.get("error_code") or 0)
            except (TypeError, ValueError):
                code = 0
            text = "{} (SMSC.ru error {})".format(
                answer.get("error") or API_ERRORS.get(code) or "error", code
            )
            if error is not SendError:
                raise error(text)
            raise SendError(
                text,
                code=str(code),
                retryable=code in RETRYABLE_ERRORS,
                retry_after=RATE_LIMIT_ERRORS.get(code),
            )
        return answer

    @staticmethod
    def _form(body: bytes) -> dict:
        """The callback's fields (the first of a repeated name).  SMSC
        writes windows-1251 unless the handler address asks for UTF-8
        (``charset=utf-8``, which :meth:`verify` requires): Odoo parses a form
        body as UTF-8 before the webhook sees it, so a windows-1251 text would
        be lost."""
        try:
            text = body.decode("utf-8")
            pairs = urllib.parse.parse_qsl(
                text,
                keep_blank_values=True,
                strict_parsing=bool(text),
                errors="strict",
            )
        except ValueError as exc:  # UnicodeDecodeError included
            raise PayloadError(f"the body is not a UTF-8 form: {exc}") from None
        fields = {}
        for key, value in pairs:
            fields.setdefault(clean_input(key), clean_input(value))
        return fields

    def callback_url(self) -> str:
        """The handler URL to enter in the SMSC cabinet."""
        if not self.config.webhook_url or not self.config.secret:
            return ""
        query = urllib.parse.urlencode(
            {"charset": "utf-8", SECRET_PARAM: self.config.secret}
        )
        return f"{self.config.webhook_url}?{query}"

    # -- inbound -------------------------------------------------------------
    def verify(self, headers, body, query):
        if not self.config.secret:
            raise SignatureError(
                "the callback secret of this SMSC.ru channel is not set"
            )
        query = query or {}
        if not secrets_equal(self.config.secret, query.get(SECRET_PARAM)):
            raise SignatureError("wrong or missing secret in the handler address")
        if (query.get("charset") or "").lower() not in ("utf-8", "utf8"):
            # Without it SMSC writes windows-1251, which reaches the webhook
            # garbled: refused rather than stored unreadable.
            raise SignatureError(
                "the handler address must ask for charset=utf-8: enter the "
                "address shown in the channel at SMSC.ru"
            )

    def check_format(self, headers, body, query):
        self._form(body)

    def parse(self, headers, body, query):
        fields = self._form(body)
        ident = (fields.get("id") or "").strip()
        if not ident:
            raise PayloadError("id is missing")
        if "status" in fields:
            return self._status(ident, fields)
        if "mes" in fields:
            return self._inbound(ident, fields)
        return [
            IgnoredEvent(
                f"smsc:other:{ident}", reason="SMSC.ru event that needs no action"
            )
        ]

    def _status(self, ident, fields):
        code = fields["status"].strip()
        phone = phone_of(fields.get("phone", ""))
        status = STATUSES.get(code)
        event_id = f"smsc:{ident}:{phone}:{code}"
        if not status:
            return [
                IgnoredEvent(
                    event_id, reason=f"SMSC.ru status {code[:20]} needs no action"
                )
            ]
        err = (fields.get("err") or "").strip()
        text = ""
        if status == "failed":
            text = DELIVERY_ERRORS.get(err) or STATUS_TEXTS.get(code, "")
        return [
            DeliveryStatus(
                event_id,
                ident,
                status,
                date=_timestamp(fields.get("ts")),
                error_code=err if err not in ("", "0") else code,
                error_text=text,
                recipient_id=phone,
            )
        ]

    def _inbound(self, ident, fields):
        phone = phone_of(fields.get("phone", ""))
        if not phone:
            raise PayloadError("phone is missing or not a number")
        # The operator's sender number, as SMSC received it: a phone it vouches for.
        sender = Contact(user_id=phone, name=phone, phone=phone, phone_verified=True)
        return [
            InboundMessage(
                event_id=f"smsc:in:{ident}",
                message_id=f"in:{ident}",
                sender=sender,
                chat_id=phone,
                date=_timestamp(fields.get("sent") or fields.get("ts")),
                text=fields.get("mes", ""),
            )
        ]

    # -- outbound ------------------------------------------------------------
    def send(self, message):
        body = TwilioSmsConnector.sms_body(message)
        if not body:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        auth = self._auth()
        phone = phone_of(message.recipient_id)
        if not phone:
            raise SendError(
                f"{message.recipient_id} is not a phone number", code="number"
            )
        data = dict(auth, phones=phone, mes=body, charset="utf-8")
        sender = (self.config.extra.get("sender") or "").strip()
        if sender:
            data["sender"] = sender
        answer = self._call("send.php", data)
        if answer.get("id") in (None, ""):
            raise SendError(
                "SMSC.ru did not return the id of the message",
                code="bad_answer",
                retryable=True,
            )
        return SendResult(str(answer["id"]), "sent")

    # -- administration ------------------------------------------------------
    def balance(self) -> str:
        """The account's balance ("123.45 RUR"): the credentials work."""
        try:
            answer = self._call(
                "balance.php", self._auth(ConnectorError), error=ConnectorError
            )
        except SendError as exc:
            raise ConnectorError(str(exc)) from None
        if "balance" not in answer:
            raise ConnectorError("SMSC.ru did not report the balance")
        return "{} {}".format(answer["balance"], answer.get("currency") or "").strip()
