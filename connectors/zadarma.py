"""Zadarma: a hosted PBX common in Russia and the CIS.

Why Zadarma: the seeds' market (Russian-speaking companies) uses it widely,
its PBX is free with a number, and it has what the issue asks for: signed call
notifications, a callback API that rings the employee first, and recordings
fetched by id.  (Twilio Voice would need TwiML applications and is little used
there.)

Webhooks (Zadarma posts ``application/x-www-form-urlencoded`` to the channel's
webhook URL, set in the Zadarma cabinet under Settings > Integrations and API >
Notifications; it first checks the address with ``GET ?zd_echo=<x>``, answered
with ``<x>``).  Each notification is signed in the ``Signature`` header:
``base64(hex(HMAC-SHA1(<fields>, API secret)))`` where <fields> depend on the
event:

* NOTIFY_START, NOTIFY_INTERNAL, NOTIFY_END (inbound):
  caller_id + called_did + call_start
* NOTIFY_ANSWER: caller_id + destination + call_start
* NOTIFY_OUT_START, NOTIFY_OUT_END (outbound): internal + destination + call_start
* NOTIFY_RECORD: pbx_call_id + call_id_with_rec

API (``https://api.zadarma.com``): ``Authorization: <key>:<signature>`` with
signature = ``base64(hex(HMAC-SHA1(method + params + md5(params), API secret)))``,
params being the query sorted by name (``format=json`` included).  Used:
``/v1/request/callback/`` (click-to-call: rings ``from`` - the employee's
extension - then ``to``), ``/v1/pbx/record/request/`` (a download link of a
recording) and ``/v1/info/balance/`` ("Test connection").

Settings: token = API key ("Key"), app_secret = API secret ("Secret"), and the
time zone of the Zadarma account (``call_start`` is local time there).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.parse
from datetime import datetime

from .calls import (
    HTTP_TIMEOUT,
    REPLAYED_CALL_PREFIX,
    CallEvent,
    CallTranscript,
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
from .events import Contact, HttpAnswer, IgnoredEvent, InboundMessage
from .interface import register
from .signing import hmac_hex, secrets_equal

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - Python < 3.9
    ZoneInfo = None

API_URL = "https://api.zadarma.com"
SIGNED_FIELDS = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_IVR": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
    # Not call events: an SMS received on a number of the account, and the
    # transcript of a recording; Zadarma signs their "result" field (JSON).
    "SMS": ("result",),
    "SPEECH_RECOGNITION": ("result",),
}
_ECHO = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
#: Longest transcript kept (a long call's recognition can be large).
MAX_TRANSCRIPT = 60000
#: the talk time an end notification may add to the replay window (seconds)
MAX_CALL_SECONDS = 4 * 3600


def zadarma_signature(data: str, secret: str) -> str:
    """Zadarma's scheme (PHP ``base64_encode(hash_hmac('sha1', ...))``: the
    hex digest, base64-encoded)."""
    return base64.b64encode(hmac_hex(secret, data, "sha1").encode()).decode()


@register
class ZadarmaConnector(PhoneConnector):
    code = "zadarma"
    #: recording links of the API (api.zadarma.com and its file servers)
    media_hosts = ("zadarma.com",)
    label = "Phone: Zadarma"
    sequence = 140
    body_format = "form"
    #: Zadarma advises to ask for a recording 40 s after the call ended.
    recording_delay = 40
    default_api_root = API_URL

    # -- webhooks ---------------------------------------------------------------
    def handshake(self, method, headers, query, body):
        if method == "GET" and "zd_echo" in query:
            if not _ECHO.match(query["zd_echo"]):
                raise PayloadError("zd_echo is not a plain token")
            return HttpAnswer(200, query["zd_echo"])
        return None

    @classmethod
    def _form(cls, body):
        form = {}
        for key, value in cls.load_form(body):
            form.setdefault(
                key, value
            )  # the first value of a repeated field, as before
        return form

    def verify(self, headers, body, query):
        data = self._form(body)
        fields = SIGNED_FIELDS.get(data.get("event", ""))
        if not fields:
            raise SignatureError(
                "unknown Zadarma event {!r}".format(data.get("event", "")[:40])
            )
        if not self.config.app_secret:
            raise SignatureError("the API secret of this Zadarma account is not set")
        expected = zadarma_signature(
            "".join(data.get(f, "") for f in fields), self.config.app_secret
        )
        if not secrets_equal(expected, self.header(headers, "Signature")):
            raise SignatureError("wrong or missing Signature header")
        self._check_fresh(data)

    # Zadarma retries a notification that is not answered 2xx: one outside
    # the window is authentic, so it is kept as ignored and acknowledged.
    def _check_fresh(self, data):
        """Zadarma signs neither a sending time nor a nonce: a notification
        seen once (a log, a proxy) could be posted again as it is.  What it
        signs is ``call_start``: a notification of a call that started outside
        the replay window is never applied; an end comes when the call is over, so
        its talk time is added.  (NOTIFY_RECORD signs the call and recording
        ids: posted again, it is the same journal event.)"""
        if "call_start" not in SIGNED_FIELDS[data["event"]]:
            return
        slack = 0
        if data["event"] in ("NOTIFY_END", "NOTIFY_OUT_END"):
            try:
                slack = min(max(int(data.get("duration") or 0), 0), MAX_CALL_SECONDS)
            except ValueError:
                slack = 0
        try:
            self.check_fresh(
                self._time(data.get("call_start", "")),
                "call_start",
                slack,
                error=ReplayedRequest,
            )
        except ReplayedRequest as exc:
            # Named in the journal, so that the call's later notifications
            # (recording, transcript: no call_start to judge) are not left
            # waiting hours for a call that will never be applied.
            raise ReplayedRequest(
                "{}{}: {}".format(
                    REPLAYED_CALL_PREFIX, data.get("pbx_call_id", "")[:100], exc
                )
            ) from None

    @staticmethod
    def _event_id(data):
        """The journal key of a call notification, made of what Zadarma
        signed: ``pbx_call_id`` is not signed, and a notification posted again
        under another call id must still be one already seen."""
        signed = "\x1f".join(data.get(f, "") for f in SIGNED_FIELDS[data["event"]])
        return "zd:{}:{}".format(
            data["event"],
            hashlib.sha256(signed.encode()).hexdigest()[:32],
        )

    def parse(self, headers, body, query):
        data = self._form(body)
        event = data["event"]
        if event in ("SMS", "SPEECH_RECOGNITION"):
            return self._parse_result(event, data, body)
        pbx_call_id = data.get("pbx_call_id", "").strip()
        if not pbx_call_id or len(pbx_call_id) > 200:
            raise PayloadError("pbx_call_id is required")
        if event == "NOTIFY_IVR":
            # A call passes several menu steps; the body tells them apart,
            # and a retry of the same step is the same event.
            step = hashlib.sha256(body).hexdigest()[:32]
            return [IgnoredEvent(f"{pbx_call_id}:{event}:{step}", "voice menu step")]
        started = (
            self._time(data.get("call_start", "")) if event != "NOTIFY_RECORD" else 0.0
        )
        event_id = self._event_id(data)
        base = dict(call_id=pbx_call_id, date=time.time(), started=started)
        internal = data.get("internal", "")
        if event == "NOTIFY_START":
            return [
                CallEvent(
                    event_id,
                    status="ringing",
                    direction="in",
                    customer_number=data.get("caller_id", ""),
                    our_number=data.get("called_did", ""),
                    **base,
                )
            ]
        if event == "NOTIFY_INTERNAL":
            return [
                CallEvent(
                    f"{event_id}:{internal}",
                    status="ringing",
                    direction="in",
                    customer_number=data.get("caller_id", ""),
                    our_number=data.get("called_did", ""),
                    extension=internal,
                    **base,
                )
            ]
        if event == "NOTIFY_ANSWER":
            return [
                CallEvent(
                    event_id,
                    status="answered",
                    direction="in",
                    customer_number=data.get("caller_id", ""),
                    extension=internal or data.get("destination", ""),
                    **base,
                )
            ]
        if event == "NOTIFY_OUT_START":
            return [
                CallEvent(
                    event_id,
                    status="ringing",
                    direction="out",
                    customer_number=data.get("destination", ""),
                    extension=internal,
                    **base,
                )
            ]
        if event == "NOTIFY_RECORD":
            if not data.get("call_id_with_rec"):
                raise PayloadError("call_id_with_rec is required")
            return [
                CallEvent(
                    event_id,
                    status="recording",
                    recording_ref=data["call_id_with_rec"],
                    call_id=pbx_call_id,
                    date=time.time(),
                )
            ]
        # NOTIFY_END, NOTIFY_OUT_END
        outbound = event == "NOTIFY_OUT_END"
        try:
            duration = int(data.get("duration") or 0)
        except ValueError:
            raise PayloadError("duration must be a number") from None
        disposition = data.get("disposition", "")
        recording = (
            data.get("call_id_with_rec", "") if data.get("is_recorded") == "1" else ""
        )
        return [
            CallEvent(
                event_id,
                status="ended",
                direction="out" if outbound else "in",
                customer_number=data.get(
                    "destination" if outbound else "caller_id", ""
                ),
                our_number="" if outbound else data.get("called_did", ""),
                extension=internal or data.get("last_internal", ""),
                duration=duration,
                answered=disposition == "answered",
                disposition=disposition,
                recording_ref=recording,
                **base,
            )
        ]

    def _parse_result(self, event, data, body):
        """SMS and SPEECH_RECOGNITION: their content is a JSON ``result``."""
        try:
            result = json.loads(data.get("result") or "")
        except ValueError:
            raise PayloadError("result is not JSON") from None
        if not isinstance(result, dict):
            raise PayloadError("result must be an object")
        if event == "SMS":
            number = str(result.get("caller_id") or "").strip()
            if not number:
                raise PayloadError("an SMS needs a caller_id")
            if number.isdigit() and len(number) > 6:
                number = (
                    "+" + number
                )  # Zadarma writes international numbers without "+"
            # No id of its own: a retry is the same body.
            event_id = f"sms:{hashlib.sha256(body).hexdigest()[:32]}"
            return [
                InboundMessage(
                    event_id=event_id,
                    message_id=event_id,
                    sender=Contact(
                        user_id=number, name=number, phone=number, phone_verified=True
                    ),
                    chat_id=number,
                    date=time.time(),
                    text=str(result.get("text") or ""),
                    note="SMS",
                )
            ]
        call_id = str(result.get("pbx_call_id") or "").strip()
        if not call_id or len(call_id) > 200:
            raise PayloadError("pbx_call_id is required")
        return [
            CallTranscript(
                event_id=f"{call_id}:speech:{hashlib.sha256(body).hexdigest()[:16]}",
                call_id=call_id,
                transcript=_transcript(result.get("result"))[:MAX_TRANSCRIPT],
                language=str(result.get("lang") or "")[:20],
                voicemail=result.get("voicemail") in (True, 1, "1", "true"),
                date=time.time(),
            )
        ]

    def _time(self, value):
        """call_start is the local time of the Zadarma account."""
        if not value:
            return 0.0
        try:
            naive = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise PayloadError('call_start is not "YYYY-MM-DD HH:MM:SS"') from None
        tz_name = self.config.extra.get("timezone") or "UTC"
        try:
            tz = ZoneInfo(tz_name)
        except Exception:  # noqa: BLE001 - an unknown zone name falls back to UTC
            tz = ZoneInfo("UTC")
        return naive.replace(tzinfo=tz).timestamp()

    # -- API ----------------------------------------------------------------------
    def _api(self, method, params):
        """GET an API method ("/v1/request/callback/") signed as Zadarma
        documents; return its JSON or raise ConnectorError with its message."""
        if not self.config.token or not self.config.app_secret:
            raise ConnectorError(
                "set the API key (token) and the API secret of the Zadarma account"
            )
        params = dict(params, format="json")
        query = urllib.parse.urlencode(sorted(params.items()))
        signature = zadarma_signature(
            method + query + hashlib.md5(query.encode()).hexdigest(),
            self.config.app_secret,
        )
        url = self.api_root() + method + "?" + query
        response = self.http(
            "GET",
            url,
            headers={"Authorization": f"{self.config.token}:{signature}"},
            timeout=HTTP_TIMEOUT,
            unreachable=lambda name: ConnectorError(
                f"Zadarma could not be reached ({name})"
            ),
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        if (
            not isinstance(data, dict)
            or data.get("status") != "success"
            or response.status_code >= 400
        ):
            message = data.get("message") if isinstance(data, dict) else ""
            raise ConnectorError(
                message or f"Zadarma answered HTTP {response.status_code}"
            )
        return data

    def originate(self, extension, number):
        digits = "".join(c for c in number if c.isdigit())
        try:
            data = self._api("/v1/request/callback/", {"from": extension, "to": digits})
        except ConnectorError as exc:
            raise SendError(str(exc)) from None
        return OriginateResult(
            message="{} -> {}".format(
                data.get("from", extension), data.get("to", digits)
            )
        )

    def test_connection(self):
        data = self._api("/v1/info/balance/", {})
        return "Zadarma answered: balance {} {}.".format(
            data.get("balance", "?"),
            data.get("currency", ""),
        )

    def fetch_media(self, attachment):
        if attachment.url:
            return self.download_recording(attachment.url, filename=attachment.filename)
        data = self._api(
            "/v1/pbx/record/request/", {"call_id": attachment.file_id, "lifetime": 3600}
        )
        link = data.get("link") or (data.get("links") or [""])[0]
        if not link:
            raise ConnectorError("Zadarma gave no link for this recording")
        return self.download_recording(link, filename=attachment.filename)


def _transcript(result):
    """The text of Zadarma's recognition result: its phrases, else its words
    (``{"phrases": [{"result": "...", "channel": 1}], "words": [{"result":
    [{"w": "..."}], "channel": 1}]}``), else the result itself when it is text."""
    if isinstance(result, str):
        return result.strip()
    if not isinstance(result, dict):
        return ""
    lines = []
    for phrase in result.get("phrases") or []:
        if (
            isinstance(phrase, dict)
            and isinstance(phrase.get("result"), str)
            and phrase["result"].strip()
        ):
            lines.append(phrase["result"].strip())
    if not lines:
        for channel in result.get("words") or []:
            words = channel.get("result") if isinstance(channel, dict) else None
            text = " ".join(
                str(w.get("w") or w.get("word") or "")
                for w in words or []
                if isinstance(w, dict)
            ).strip()
            if text:
                lines.append(text)
    return "\n".join(lines)
