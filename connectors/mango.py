"""Mango Office: the Russian cloud PBX (ВАТС MANGO OFFICE), through its VPBX API.

Why Mango Office (rather than Ringostat): both directions are signed with
the same key, so Odoo can verify every event Mango posts and Mango every
command Odoo sends; it has click-to-call (``/vpbx/commands/callback``) and
recordings by id (``/events/record/added``, ``/vpbx/queries/recording/post``).

Wire format (Mango Office VPBX API, "API ВАТС" v1.9 and later):

* Every request, both ways, is ``application/x-www-form-urlencoded`` with
  three fields: ``vpbx_api_key`` (the PBX's unique code), ``json`` (the
  payload, a JSON object as text) and ``sign`` = ``hex(sha256(vpbx_api_key +
  json + api_salt))``, the salt being the PBX's signing key.
* Events: Mango posts to ``<the external system's address>/events/<name>``:
  ``/events/call`` on every change of a call leg (``call_state`` Appeared,
  Connected, OnHold, Disconnected; ``entry_id`` is the whole call,
  ``call_id`` the leg, ``seq`` orders the leg's notifications;
  ``from``/``to`` carry ``number`` and ``extension``, ``to.line_number`` the
  company's number called); ``/events/summary`` once the call is over
  (``entry_result`` 1 when a conversation took place, ``call_direction`` 1 in,
  2 out, 0 internal, unix times ``create_time``/``talk_time``/``end_time``);
  ``/events/record/added`` when a recording is stored (``recording_id``).
  Which one a body is, is read from its fields (the body alone is parsed
  again from the journal): a webhook address ending in ``/events/...`` is
  accepted for any channel key.
* Commands and queries: ``POST <API root>/vpbx/<method>`` answered in JSON
  (``result`` 1000 is success): ``commands/callback`` (click-to-call: rings
  ``from.extension``, then ``to_number``), ``queries/recording/post`` with
  ``action`` "download" (answered by a redirect to the file) and
  ``config/users/request`` (the employees: "Test connection").

Settings: token = the unique code of the PBX (vpbx_api_key), app_secret =
the signing key (api_salt), api_base_url = the API root (default
``https://app.mango-office.ru``).
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import uuid

from .calls import (
    HTTP_TIMEOUT,
    REPLAYED_CALL_PREFIX,
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
from .events import IgnoredEvent
from .interface import register
from .signing import secrets_equal

API_URL = "https://app.mango-office.ru"
#: the answer code of an accepted command or query
RESULT_OK = 1000
#: the talk time an end may add to the replay window (seconds)
MAX_CALL_SECONDS = 4 * 3600
#: summary call_direction values
DIRECTIONS = {1: "in", 2: "out"}


def mango_sign(api_key: str, payload: str, salt: str) -> str:
    """Mango's signature of a request: hex SHA-256 of key + json + salt."""
    return hashlib.sha256((api_key + payload + salt).encode("utf-8")).hexdigest()


def _digits(number) -> str:
    return "".join(c for c in str(number or "") if c.isdigit())


def _text(value) -> str:
    """A number or an extension as text (Mango writes extensions as numbers
    in some events and as strings in others)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()[:200]


def _int(value, name):
    if value in (None, ""):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{name} must be a number") from None


@register
class MangoConnector(PhoneConnector):
    code = "mango"
    label = "Phone: Mango Office"
    sequence = 145
    body_format = "form"
    #: recordings are served by Mango's file servers, behind the API's redirect
    media_hosts = ("mango-office.ru",)
    default_api_root = API_URL
    #: Mango has a recording by the time it announces it (record/added)
    recording_delay = 0
    #: the unique code, the signing key and the API root: shown in the
    #: phone-line group under Mango's names
    common_settings = ()

    # -- webhooks ---------------------------------------------------------------
    @classmethod
    def _fields(cls, body):
        form = {}
        for key, value in cls.load_form(body):
            form.setdefault(key, value)
        return form

    @classmethod
    def _payload(cls, form):
        """The ``json`` field as an object, or PayloadError."""
        data = cls.load_json((form.get("json") or "").encode("utf-8"))
        if not isinstance(data, dict):
            raise PayloadError("the json field must be an object")
        return data

    def verify(self, headers, body, query):
        form = self._fields(body)
        if not self.config.app_secret or not self.config.token:
            raise SignatureError(
                "the unique code or the signing key of this Mango Office PBX is not set"
            )
        if not secrets_equal(self.config.token, form.get("vpbx_api_key")):
            raise SignatureError("vpbx_api_key is not this PBX's unique code")
        expected = mango_sign(
            self.config.token, form.get("json", ""), self.config.app_secret
        )
        if not secrets_equal(expected, form.get("sign")):
            raise SignatureError("wrong or missing sign")
        try:
            data = json.loads(form.get("json") or "")
        except ValueError:
            return  # signed but unreadable: check_format refuses it
        if isinstance(data, dict):
            self._check_fresh(data)

    def journal_body(self, body):
        """The body without ``vpbx_api_key``: the PBX's unique code is half
        of its API credentials, and parse() reads ``json`` alone."""
        return urllib.parse.urlencode(
            [(k, v) for k, v in self.load_form(body) if k != "vpbx_api_key"]
        ).encode()

    def check_format(self, headers, body, query):
        self._payload(self._fields(body))

    def _check_fresh(self, data):
        """Mango signs the time of each event (``timestamp``; the summary's
        ``end_time``): one signed long ago or far ahead is an authentic
        notification posted again, kept as ignored and never applied."""
        sent = data.get("timestamp") or data.get("end_time")
        if not isinstance(sent, (int, float)) or isinstance(sent, bool) or not sent:
            return
        try:
            self.check_fresh(float(sent), "the event time", error=ReplayedRequest)
        except ReplayedRequest as exc:
            raise ReplayedRequest(
                "{}{}: {}".format(
                    REPLAYED_CALL_PREFIX, _text(data.get("entry_id"))[:100], exc
                )
            ) from None

    def parse(self, headers, body, query):
        data = self._payload(self._fields(body))
        entry_id = _text(data.get("entry_id"))
        if "call_state" in data:
            return self._parse_call(data, entry_id)
        if "entry_result" in data:
            return self._parse_summary(data, entry_id)
        if "recording_id" in data and "recording_state" not in data:
            return self._parse_record_added(data, entry_id)
        # Other notifications (recording progress, DTMF, SMS statuses...):
        # kept in the journal, nothing to apply; a retry is the same body.
        return [
            IgnoredEvent(
                f"mango:other:{hashlib.sha256(body).hexdigest()[:32]}",
                "Mango Office notification without call data",
            )
        ]

    @staticmethod
    def _party(data, side):
        party = data.get(side)
        return party if isinstance(party, dict) else {}

    def _sides(self, data):
        """(direction, customer number, extension, our number) of a call
        event or a summary: the side without an extension is the customer."""
        frm, to = self._party(data, "from"), self._party(data, "to")
        from_ext, to_ext = _text(frm.get("extension")), _text(to.get("extension"))
        from_number, to_number = _text(frm.get("number")), _text(to.get("number"))
        our_number = _text(to.get("line_number")) or _text(data.get("line_number"))
        if from_ext and not to_ext and to_number:
            return "out", to_number, from_ext, our_number
        if not from_ext and from_number:
            return "in", from_number, to_ext, our_number
        return "", "", from_ext or to_ext, our_number

    @staticmethod
    def _entry(entry_id):
        if not entry_id or len(entry_id) > 200:
            raise PayloadError("entry_id is required")
        return entry_id

    def _parse_call(self, data, entry_id):
        entry_id = self._entry(entry_id)
        state = _text(data.get("call_state"))
        leg = _text(data.get("call_id"))
        seq = _int(data.get("seq"), "seq")
        event_id = f"mango:call:{entry_id}:{leg[:40]}:{seq}:{state[:20]}"
        direction, customer, extension, our_number = self._sides(data)
        if not customer:
            # Between two employees, or a leg without an outside party.
            return [IgnoredEvent(event_id, "internal call (no outside number)")]
        when = float(_int(data.get("timestamp"), "timestamp"))
        location = _text(data.get("location"))
        status = {"Appeared": "ringing", "Connected": "answered"}.get(state, "")
        if location in ("ivr", "queue") or not extension:
            # In the voice menu or a queue: the call is there, no phone rings,
            # and the menu picking up is no employee answering.
            extension = ""
            if status == "answered":
                status = ""
        return [
            CallEvent(
                event_id,
                call_id=entry_id,
                status=status,
                date=when,
                direction=direction,
                customer_number=customer,
                our_number=our_number if direction == "in" else "",
                extension=extension if status in ("ringing", "answered") else "",
                started=when if status == "ringing" else 0.0,
            )
        ]

    def _parse_summary(self, data, entry_id):
        entry_id = self._entry(entry_id)
        direction = DIRECTIONS.get(_int(data.get("call_direction"), "call_direction"))
        if not direction:
            return [IgnoredEvent(f"mango:summary:{entry_id}", "internal call")]
        _dir, customer, extension, our_number = self._sides(data)
        created = _int(data.get("create_time"), "create_time")
        talk = _int(data.get("talk_time"), "talk_time")
        end = _int(data.get("end_time"), "end_time")
        answered = _int(data.get("entry_result"), "entry_result") == 1
        duration = max(0, end - talk) if answered and talk and end else 0
        reason = _int(data.get("disconnect_reason"), "disconnect_reason")
        return [
            CallEvent(
                f"mango:summary:{entry_id}",
                call_id=entry_id,
                status="ended",
                date=float(end or created),
                direction=direction,
                customer_number=customer,
                our_number=our_number if direction == "in" else "",
                extension=extension if answered else "",
                started=float(created),
                duration=min(duration, MAX_CALL_SECONDS),
                answered=answered,
                disposition=("answered" if answered else "not answered")
                + (f" ({reason})" if reason else ""),
            )
        ]

    def _parse_record_added(self, data, entry_id):
        entry_id = self._entry(entry_id)
        recording = _text(data.get("recording_id"))
        if not recording:
            raise PayloadError("recording_id is required")
        return [
            CallEvent(
                f"mango:record:{entry_id}:{recording[:100]}",
                call_id=entry_id,
                status="recording",
                recording_ref=recording,
                date=float(_int(data.get("timestamp"), "timestamp")),
            )
        ]

    # -- API ----------------------------------------------------------------------
    def _post(self, method, payload, **kwargs):
        """POST a signed command or query to ``/vpbx/<method>``; the raw
        answer."""
        if not self.config.token or not self.config.app_secret:
            raise ConnectorError(
                "set the unique code (token) and the signing key of the Mango "
                "Office PBX"
            )
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        form = {
            "vpbx_api_key": self.config.token,
            "sign": mango_sign(self.config.token, text, self.config.app_secret),
            "json": text,
        }
        return self.http(
            "POST",
            f"{self.api_root()}/vpbx/{method}",
            data=form,
            timeout=HTTP_TIMEOUT,
            unreachable=lambda name: ConnectorError(
                f"Mango Office could not be reached ({name})"
            ),
            **kwargs,
        )

    def _api(self, method, payload):
        """A command or query answered in JSON; ConnectorError unless its
        ``result`` is 1000 (or, for queries, there is no result code)."""
        response = self._post(method, payload)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or response.status_code >= 400:
            raise ConnectorError(f"Mango Office answered HTTP {response.status_code}")
        result = data.get("result")
        if result is not None and _int(result, "result") != RESULT_OK:
            message = _text(data.get("message"))
            raise ConnectorError(
                f"Mango Office refused the request (result {result})"
                + (f": {message}" if message else "")
            )
        return data

    def originate(self, extension, number):
        digits = _digits(number)
        command_id = f"odoo-{uuid.uuid4().hex}"
        try:
            self._api(
                "commands/callback",
                {
                    "command_id": command_id,
                    "from": {"extension": str(extension)},
                    "to_number": digits,
                },
            )
        except ConnectorError as exc:
            raise SendError(str(exc)) from None
        return OriginateResult(message=f"{extension} -> {digits}")

    def test_connection(self):
        data = self._api("config/users/request", {})
        users = data.get("users")
        count = len(users) if isinstance(users, list) else 0
        return f"Mango Office answered: {count} employee(s) on the PBX."

    def fetch_media(self, attachment):
        if attachment.url:
            return self.download_recording(attachment.url, filename=attachment.filename)
        if not attachment.file_id:
            raise ConnectorError("Mango Office gave no recording id")
        # Mango answers the download query with a redirect to the file on its
        # file servers: the file itself comes through the checked download.
        response = self._post(
            "queries/recording/post",
            {"recording_id": attachment.file_id, "action": "download"},
            allow_redirects=False,
        )
        link = response.headers.get("Location") or ""
        if not (300 <= response.status_code < 400 and link):
            raise ConnectorError(
                f"Mango Office gave no link for this recording "
                f"(HTTP {response.status_code})"
            )
        link = urllib.parse.urljoin(response.url or self.api_root(), link)
        return self.download_recording(link, filename=attachment.filename)
