"""The generic phone webhook: any PBX, telephony provider or script can report
its calls to Odoo with it, and optionally place calls for click-to-call.

Inbound (the PBX calls Odoo)::

    POST <channel webhook URL>
    Content-Type: application/json
    X-Omnichannel-Timestamp: 1718000000
    X-Omnichannel-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

The timestamp is when the request is sent (epoch seconds); the signature is
keyed with the webhook secret.  A request whose timestamp is outside the
replay window (10 minutes by default, a setting) is refused with 403, like a
wrong signature.  A script of before the timestamp header (HMAC of the raw
body alone) is still accepted, but then each event's own time stands for the
sending time: a request with an event outside the window, or without a time,
is journaled as ignored, never applied.  The body::

    {"event_id": "pbx-1718000000.42-answer",
     "call_id": "1718000000.42",
     "event": "ringing",
     "timestamp": 1718000000,
     "direction": "in",
     "customer_number": "+79123456789",
     "customer_name": "Anna",
     "our_number": "+74951234567",
     "extension": "101",
     "started_at": 1717999990,
     "duration": 125,
     "answered": true,
     "hangup_by": "customer",
     "recording_url": "https://pbx/rec/42.mp3",
     "disposition": "NO ANSWER"}

* ``event_id``: unique per event, a retry reuses it (required);
* ``call_id``: the same for every event of one call (required);
* ``event``: ringing | answered | ended | missed | voicemail | recording;
* ``timestamp``: when it happened, epoch seconds or ISO 8601 with an offset;
* ``direction``: in (the customer calls) | out (we call);
* ``customer_number``: the outside party, any national or international format;
* ``customer_name``: optional caller id name;
* ``our_number``: optional, the company's number called / calling;
* ``extension``: the employee's internal number ringing / answering / calling;
* ``started_at``: optional, when the call began;
* ``duration``, ``answered``, ``hangup_by`` (customer | employee): of an end;
* ``recording_url``: of a recording, where to download it (may come with
  "ended");
* ``disposition``: optional, the PBX's own word for the outcome.

or ``{"events": [<event>, ...]}`` (at most 100) to report several at once.
Every field but ``event_id``, ``call_id`` and ``event`` is optional in each
event: they are merged into one call record whatever their order.

Click-to-call (Odoo calls the PBX), when the channel's API address is set,
with the same timestamp and signature headers, keyed with the webhook secret
(the PBX checks both, and refuses a timestamp older than a few minutes)::

    POST <API address>
    {"action": "originate", "request_id": "...",
     "extension": "101", "number": "+79123456789"}

The PBX answers 2xx (optionally ``{"call_id": "<id its events will carry>"}``)
once it rings the extension, or an error status with ``{"error": "<reason>"}``.
``{"action": "ping"}`` is sent by the "Test connection" button.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

from .calls import (
    CALL_STATUSES,
    HTTP_TIMEOUT,
    CallEvent,
    OriginateResult,
    PhoneConnector,
)
from .errors import (
    ConnectorError,
    PayloadError,
    ReplayedRequest,
    SendError,
    SignatureError,
)
from .interface import register
from .signing import hmac_hex, secrets_equal

SIGNATURE_HEADER = "X-Omnichannel-Signature"
TIMESTAMP_HEADER = "X-Omnichannel-Timestamp"
MAX_EVENTS = 100
_TEXT_FIELDS = {
    "customer_number": 64,
    "customer_name": 200,
    "our_number": 64,
    "extension": 64,
    "disposition": 100,
    "recording_url": 2000,
}


def parse_timestamp(value, field_name="timestamp"):
    """Epoch seconds (number or numeric string) or ISO 8601 with an offset."""
    if value in (None, ""):
        return 0.0
    if isinstance(value, bool):
        raise PayloadError(f"{field_name} must be a number or an ISO 8601 date")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(f"{field_name} is not a date: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise PayloadError(f"{field_name} needs a UTC offset")
        return parsed.timestamp()
    raise PayloadError(f"{field_name} must be a number or an ISO 8601 date")


def signed_headers(secret, body, timestamp=None):
    """The headers of a signed request: ``X-Omnichannel-Timestamp`` (epoch
    seconds) and ``X-Omnichannel-Signature: sha256=<hex HMAC-SHA256 of
    "<timestamp>.<body>">``, keyed with the webhook secret.  The timestamp is
    signed so that a request seen once cannot be posted again later."""
    timestamp = str(int(time.time() if timestamp is None else timestamp))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256="
        + hmac_hex(secret, timestamp.encode() + b"." + body),
    }


class SignedJsonMixin:
    """Signed JSON (see :func:`signed_headers`), keyed with the channel's
    webhook secret: the generic webhook and the Asterisk bridge."""

    def verify(self, headers, body, query):
        given = self.header(headers, SIGNATURE_HEADER)
        given = given.removeprefix("sha256=")
        timestamp = self.header(headers, TIMESTAMP_HEADER).strip()
        if timestamp and (not timestamp.isdigit() or len(timestamp) > 12):
            raise SignatureError(
                f"malformed {TIMESTAMP_HEADER} header "
                "(epoch seconds, signed with the body)"
            )
        # Without the header: a sender of before it, which signs the body alone.
        signed = timestamp.encode() + b"." + body if timestamp else body
        expected = hmac_hex(self.config.secret, signed) if self.config.secret else ""
        if not secrets_equal(expected, given.lower()):
            raise SignatureError(f"wrong or missing {SIGNATURE_HEADER} header")
        if timestamp:
            self.check_fresh(int(timestamp), TIMESTAMP_HEADER)
            return
        # Authentic, but nothing signed says when it was sent: each event's
        # own time stands for it (another format is refused first, 400).
        self.check_format(headers, body, query)
        for item in self.events_of(body):
            sent_at = self.event_time(item)
            if not sent_at:
                raise ReplayedRequest(
                    f"sent without the {TIMESTAMP_HEADER} header and with an event "
                    "without a time of its own: "
                    "it cannot be told from a replay, not applied"
                )
            self.check_fresh(sent_at, "the event time", error=ReplayedRequest)

    def event_time(self, item):
        """When the event ``item`` happened (epoch seconds), or 0."""
        raise NotImplementedError

    def signed_post(self, url, payload, unreachable):
        """POST ``payload`` signed (see :func:`signed_headers`) to ``url``; a
        network failure raises ``unreachable(<exception class name>)``."""
        body = json.dumps(payload).encode()
        headers = dict(
            signed_headers(self.config.secret, body),
            **{"Content-Type": "application/json"},
        )
        return self.http(
            "POST",
            url,
            data=body,
            headers=headers,
            timeout=HTTP_TIMEOUT,
            unreachable=unreachable,
        )

    #: keys every event of this format has (a body without them is another format)
    format_keys = ()

    def check_format(self, headers, body, query):
        # A script posting its own JSON to this address (another PBX's
        # format) is refused; a body of this format the parser cannot read
        # is journaled as Unreadable like any provider's.
        items = self.events_of(body)
        if not all(all(key in item for key in self.format_keys) for item in items):
            raise PayloadError(
                "each event needs {}".format(", ".join(self.format_keys))
            )

    def events_of(self, body, what="event"):
        data = self.load_json(body)
        items = (
            data.get("events")
            if isinstance(data, dict) and "events" in data
            else [data]
        )
        if not isinstance(items, list) or not items or len(items) > MAX_EVENTS:
            raise PayloadError(f'"events" must be a list of 1 to {MAX_EVENTS} {what}s')
        if not all(isinstance(item, dict) for item in items):
            raise PayloadError(f"each {what} is a JSON object")
        return items


@register
class PhoneWebhookConnector(SignedJsonMixin, PhoneConnector):
    code = "phone_webhook"
    label = "Phone: generic PBX webhook"
    sequence = 120
    format_keys = ("event_id", "call_id")

    def event_time(self, item):
        try:
            return parse_timestamp(item.get("timestamp"))
        except PayloadError:
            return 0

    def parse(self, headers, body, query):
        return [self._parse_event(item) for item in self.events_of(body)]

    def _parse_event(self, item):
        def text(key, limit=100, required=False):
            value = item.get(key)
            if value is None or value == "":
                if required:
                    raise PayloadError(f"{key} is required")
                return ""
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or len(value) > limit:
                raise PayloadError(
                    f"{key} must be a string of at most {limit} characters"
                )
            return value.strip()

        event_id, call_id = (
            text("event_id", required=True),
            text("call_id", required=True),
        )
        status = text("event", required=True).lower()
        if status not in CALL_STATUSES or not status:
            raise PayloadError(
                "event must be one of {}".format(
                    ", ".join(s for s in CALL_STATUSES if s)
                )
            )
        direction = text("direction").lower()
        if direction not in ("in", "out", ""):
            raise PayloadError('direction must be "in" or "out"')
        hangup_by = text("hangup_by").lower()
        if hangup_by not in ("customer", "employee", ""):
            raise PayloadError('hangup_by must be "customer" or "employee"')
        duration = item.get("duration") or 0
        if (
            isinstance(duration, bool)
            or not isinstance(duration, (int, float))
            or not 0 <= duration < 10**6
        ):
            raise PayloadError("duration must be a number of seconds")
        answered = item.get("answered", False)
        if not isinstance(answered, bool):
            raise PayloadError("answered must be true or false")
        values = {key: text(key, limit) for key, limit in _TEXT_FIELDS.items()}
        if values["recording_url"] and not values["recording_url"].startswith(
            ("https://", "http://")
        ):
            raise PayloadError("recording_url must be an http(s) address")
        if status == "recording" and not values["recording_url"]:
            raise PayloadError("a recording event needs recording_url")
        return CallEvent(
            event_id=event_id,
            call_id=call_id,
            status=status,
            direction=direction,
            date=parse_timestamp(item.get("timestamp")),
            started=parse_timestamp(item.get("started_at"), "started_at"),
            duration=int(duration),
            answered=answered,
            hangup_by=hangup_by,
            **values,
        )

    def originate(self, extension, number):
        if not self.config.base_url:
            raise SendError("no click-to-call address is set on this phone line")
        response = self.signed_post(
            self.config.base_url,
            {
                "action": "originate",
                "request_id": uuid.uuid4().hex,
                "extension": extension,
                "number": number,
            },
            unreachable=lambda name: SendError(
                f"the PBX could not be reached ({name})", retryable=True
            ),
        )
        data = self._json(response)
        if not 200 <= response.status_code < 300:
            raise SendError(
                data.get("error") or f"the PBX answered HTTP {response.status_code}",
                code=str(response.status_code),
            )
        return OriginateResult(
            call_id=str(data.get("call_id") or ""),
            message=str(data.get("message") or ""),
        )

    def test_connection(self):
        if not self.config.base_url:
            raise ConnectorError(
                "this line only receives events: "
                "set the click-to-call address to test it"
            )
        response = self.signed_post(
            self.config.base_url,
            {"action": "ping"},
            unreachable=lambda name: ConnectorError(
                f"the PBX could not be reached ({name})"
            ),
        )
        if not 200 <= response.status_code < 300:
            raise ConnectorError(
                self._json(response).get("error")
                or f"the PBX answered HTTP {response.status_code}"
            )
        return "The PBX answered the signed ping."

    @staticmethod
    def _json(response):
        try:
            data = response.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
