"""SMS through Twilio (Programmable Messaging), the SMS provider Odoo 19
Community ships (``sms_twilio``).

Inbound: Twilio POSTs a form (``From``, ``To``, ``Body``, ``MessageSid``,
``NumMedia``, ``MediaUrl0``...) to the number's "A message comes in" URL, and
status callbacks (``MessageSid``, ``MessageStatus``, ``ErrorCode``) to the
``StatusCallback`` given when sending.  Both are signed in
``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's auth token,
of the full URL Twilio requested followed by every POST parameter (sorted by
name, name then value).  Twilio expects TwiML back: an empty ``<Response/>``
sends no automatic answer.
Outbound: ``POST <root>/2010-04-01/Accounts/<sid>/Messages.json`` with basic
auth; errors are ``{"code", "message", "status"}``.  Sent through Odoo's sms
stack (see ``sms_sms.py``), which hands each SMS to :meth:`send`.
Every call goes to ``config.base_url`` (https://api.twilio.com by default),
which is how tests talk to a fake Twilio on 127.0.0.1.

The phone number is the person: the sender's E.164 number is their identity
on every SMS channel (and is matched to their WhatsApp and Viber contacts).
"""

from __future__ import annotations

import mimetypes
import time
import urllib.parse

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    Contact,
    DeliveryStatus,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    SendResult,
    SubscriptionEvent,
)
from .interface import Connector, register
from .signing import hmac_base64, secrets_equal

DEFAULT_API_ROOT = "https://api.twilio.com"
API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
#: Twilio's default opt-out and opt-in keywords (it stops delivering after STOP).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
#: https://www.twilio.com/docs/api/errors - delivery errors of status callbacks
DELIVERY_ERRORS = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "21610": "The recipient unsubscribed (STOP)",
}
#: Twilio refuses these recipients until they opt in again.
BLOCKING_ERRORS = {21610}
RETRYABLE_ERRORS = {20429, 20500, 20503, 30001}
#: rate limits (seconds the whole account waits): 20429 too many requests,
#: 14107 SMS send rate limit exceeded
RATE_LIMIT_ERRORS = {20429: 1, 14107: 1}


def twilio_signature(auth_token: str, url: str, params: list) -> str:
    """X-Twilio-Signature of a form POST to ``url``; ``params`` is the list of
    (name, value) pairs of the body."""
    data = url + "".join(name + value for name, value in sorted(params))
    return hmac_base64(auth_token, data, "sha1")


@register
class TwilioSmsConnector(Connector):
    code = "sms"
    #: Twilio's API (media of an MMS) and the CDN it redirects to
    media_hosts = ("twilio.com", "twiliocdn.com")
    label = "SMS"
    sequence = 80
    kind = "sms"
    icon = "fa-commenting-o"
    color = "#495057"
    deep_link = "sms:+%s"
    handle_format = "digits"
    common_settings = ("api_base_url",)
    user_ids_are_global = True
    # Twilio: one message segment per second per long-code number (more for
    # short codes and toll-free numbers: raise it on the channel)
    send_rate = 1
    ack = HttpAnswer(200, EMPTY_TWIML, "text/xml")
    body_format = "form"

    # -- plumbing ----------------------------------------------------------
    default_api_root = DEFAULT_API_ROOT

    def _account_sid(self):
        sid = self.config.extra.get("account_sid") or ""
        if not sid or not self.config.token:
            raise SendError(
                "The Twilio account (Account SID and Auth Token) is not configured.",
                code="config",
            )
        return sid

    def _account_url(self, path):
        sid = self._account_sid()
        return (
            f"{self.api_root()}/{API_VERSION}/Accounts/{urllib.parse.quote(sid)}/{path}"
        )

    def _request(self, method, path, **kwargs):
        url = self._account_url(path)
        response = self.http(
            method, url, auth=(self._account_sid(), self.config.token), **kwargs
        )
        data = self.json_answer(response, "Twilio")
        if not isinstance(data, dict):
            raise SendError(
                f"Twilio answered HTTP {response.status_code} with an unexpected body",
                code="bad_answer",
                retryable=True,
            )
        if response.status_code >= 400:
            code = data.get("code")
            raise SendError(
                "{} (Twilio error {})".format(
                    data.get("message") or f"HTTP {response.status_code}",
                    code or response.status_code,
                ),
                code=str(code or response.status_code),
                retryable=code in RETRYABLE_ERRORS,
                blocks_recipient=code in BLOCKING_ERRORS,
                retry_after=RATE_LIMIT_ERRORS.get(code),
            )
        return data

    @classmethod
    def _form(cls, body):
        try:
            # Strict first: a body that is not a form at all is refused.
            urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
            )
            return cls.load_form(body)
        except (UnicodeDecodeError, ValueError, PayloadError):
            return None

    def _signed_url(self, query):
        url = self.config.webhook_url
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url

    # -- inbound -------------------------------------------------------------
    def verify(self, headers, body, query):
        if not self.config.token:
            raise SignatureError("the Twilio auth token is not configured")
        params = self._form(body)
        given = self.header(headers, SIGNATURE_HEADER)
        if params is None or not given:
            raise SignatureError(f"wrong or missing {SIGNATURE_HEADER} header")
        expected = twilio_signature(self.config.token, self._signed_url(query), params)
        if not secrets_equal(expected, given):
            raise SignatureError(f"wrong or missing {SIGNATURE_HEADER} header")

    def parse(self, headers, body, query):
        pairs = self._form(body)
        if not pairs:
            raise PayloadError("a Twilio request is a non-empty form")
        params = dict(pairs)
        sid = params.get("MessageSid") or params.get("SmsSid")
        if not sid:
            raise PayloadError("MessageSid is missing")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if status in ("received", "receiving") or (not status and "Body" in params):
            return self._inbound(sid, params)
        if status in STATUSES:
            code = params.get("ErrorCode") or ""
            text = params.get("ErrorMessage") or DELIVERY_ERRORS.get(code, "")
            if status == "canceled":
                text = text or "The message was canceled before it was sent"
            return [
                DeliveryStatus(
                    f"{sid}:{status}",
                    sid,
                    STATUSES[status],
                    date=time.time(),
                    error_code=code,
                    error_text=text,
                    recipient_id=params.get("To", ""),
                )
            ]
        return [
            IgnoredEvent(
                "{}:{}".format(sid, status or "unknown"),
                reason="Twilio status %s needs no action" % (status or "unknown"),
            )
        ]

    def _inbound(self, sid, params):
        number = (params.get("From") or "").strip()
        if not number:
            raise PayloadError("From is missing")
        # Twilio's WhatsApp senders are "whatsapp:+1415..." (or, for a person
        # hiding their number, "whatsapp:US.1349..."): the whole address stays
        # the identity and where replies go, the number alone is the phone.
        _prefix, _sep, address = number.rpartition(":")
        phone = address if address.lstrip("+").isdigit() else ""
        name = (params.get("ProfileName") or "").strip() or phone or address
        # The carrier's (or WhatsApp's) sender number: a phone they vouch for.
        sender = Contact(
            user_id=number, name=name, phone=phone, phone_verified=bool(phone)
        )
        event = InboundMessage(
            event_id=sid,
            message_id=sid,
            sender=sender,
            chat_id=number,
            date=time.time(),
            text=params.get("Body", ""),
        )
        try:
            count = int(params.get("NumMedia") or 0)
        except ValueError:
            raise PayloadError("NumMedia is not a number") from None
        for index in range(min(count, 10)):
            url = params.get(f"MediaUrl{index}")
            if not url:
                raise PayloadError(f"MediaUrl{index} is missing")
            mimetype = (
                params.get(f"MediaContentType{index}") or "application/octet-stream"
            )
            kind = mimetype.split("/")[0]
            kind = {"image": "image", "video": "video", "audio": "audio"}.get(
                kind, "document"
            )
            extension = mimetypes.guess_extension(mimetype) or ""
            event.attachments.append(
                Attachment(
                    kind,
                    url=url,
                    mimetype=mimetype,
                    filename=f"mms_{sid[-8:]}_{index + 1}{extension}",
                )
            )
        if event.attachments:
            event.message_type = event.attachments[0].kind
        events = [event]
        # Twilio stops delivering to a number that texted STOP: say so at once.
        opt = (params.get("OptOutType") or "").upper()
        word = event.text.strip().upper()
        if opt == "STOP" or (not opt and word in STOP_WORDS):
            events.append(
                SubscriptionEvent(
                    f"{sid}:optout", sender, subscribed=False, date=event.date
                )
            )
        elif opt == "START" or (not opt and word in START_WORDS):
            events.append(
                SubscriptionEvent(
                    f"{sid}:optin", sender, subscribed=True, date=event.date
                )
            )
        return events

    def fetch_media(self, attachment):
        # Media of the account need its credentials (HTTP basic auth) when
        # "media authentication" is on; they are only sent to Twilio itself
        # (requests drops them when Twilio redirects to its CDN).
        auth = None
        if attachment.url.startswith(self.api_root() + "/"):
            auth = (self._account_sid(), self.config.token)
        data, content_type = self.download(attachment.url, auth=auth)
        return (
            data,
            attachment.mimetype or content_type or "application/octet-stream",
            attachment.filename,
        )

    # -- outbound ------------------------------------------------------------
    @staticmethod
    def sms_body(message):
        """The text of the SMS for ``message``.  Files go as links: MMS only
        exists in the US and Canada, a link reaches every phone."""
        links = [f"{att.filename}: {att.url}" for att in message.attachments if att.url]
        return "\n".join(([message.text] if message.text else []) + links)

    def send(self, message):
        if not self.config.account_ref:
            raise SendError(
                "The Twilio phone number of this channel is not set.", code="config"
            )
        body = self.sms_body(message)
        if not body:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        sender = self.config.account_ref
        prefix = message.recipient_id.rpartition(":")[0]
        if prefix and not sender.startswith(prefix + ":"):
            # A WhatsApp customer is answered from the same number's WhatsApp sender.
            sender = f"{prefix}:{sender}"
        data = {"To": message.recipient_id, "From": sender, "Body": body}
        if self.config.webhook_url:
            data["StatusCallback"] = self.config.webhook_url
        answer = self._request("POST", "Messages.json", data=data)
        if not answer.get("sid"):
            raise SendError(
                "Twilio did not return the id of the message",
                code="bad_answer",
                retryable=True,
            )
        return SendResult(answer["sid"], "sent")

    # -- administration ------------------------------------------------------
    def _number(self):
        number = self.config.account_ref
        if not number:
            raise ConnectorError("the Twilio phone number of this channel is not set")
        answer = self._request(
            "GET", "IncomingPhoneNumbers.json", params={"PhoneNumber": number}
        )
        numbers = answer.get("incoming_phone_numbers") or []
        if not numbers:
            raise ConnectorError(
                f"the number {number} is not a number of this Twilio account"
            )
        return numbers[0]

    def register_webhook(self):
        """Point the number's "A message comes in" webhook to this channel."""
        number = self._number()
        self._request(
            "POST",
            "IncomingPhoneNumbers/{}.json".format(urllib.parse.quote(number["sid"])),
            data={"SmsUrl": self.config.webhook_url, "SmsMethod": "POST"},
        )
        return self.config.webhook_url

    def webhook_info(self):
        number = self._number()
        url = number.get("sms_url") or ""
        return {
            "bot": number.get("friendly_name") or number.get("phone_number") or "",
            "url": url,
            "matches": bool(url)
            and url == self.config.webhook_url
            and (number.get("sms_method") or "POST") == "POST",
        }
