"""Phone calls as journal events, and what every telephony connector shares.

A call is reported by the PBX or the telephony provider as a series of events
(ringing, answered, ended, recording ready...), each one journaled like a
message.  All events of one call carry the same provider call id; Odoo merges
them into one ``omnichannel.call`` whatever order they arrive in, so an event
only says what it knows and leaves every other field empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from .errors import ConnectorError, SendError, SignatureError
from .events import register_event_class
from .interface import Connector

#: statuses a call event may report; '' means "details only"
CALL_STATUSES = ("ringing", "answered", "ended", "missed", "voicemail", "recording", "")
#: recordings above this size are not downloaded (a note says so instead)
MAX_RECORDING_BYTES = 50 * 1024 * 1024
#: seconds to wait for a provider's API or a recording server
HTTP_TIMEOUT = 20
#: how the journal note of a call notification outside the replay window
#: starts ("call <provider call id>: <reason>"): its call's later events find it
REPLAYED_CALL_PREFIX = "call "
#: seconds a signed call notification stays acceptable, by default
REPLAY_WINDOW = 600


@register_event_class
@dataclass
class CallEvent:
    """One thing a telephony provider said about a call."""

    event_id: str
    call_id: str  # the provider's id of the call, shared by all its events
    status: str = ""  # one of CALL_STATUSES
    date: float = 0.0  # provider time of this event (epoch seconds)
    direction: str = ""  # 'in' (the customer calls) or 'out' (we call); '' unknown here
    customer_number: str = ""  # the outside party, as the provider writes it
    customer_name: str = ""  # caller id name, when the provider has one
    our_number: str = ""  # the company's number that was called / that calls
    extension: str = ""  # the employee's internal number ringing, answering or calling
    started: float = 0.0  # when the call began, if the provider says so
    duration: int = 0  # talk time in seconds (0: unknown)
    answered: bool = False  # an end event telling that the call had been answered
    hangup_by: str = ""  # 'customer' or 'employee'
    recording_url: str = ""  # where the recording can be downloaded
    recording_ref: str = ""  # provider id to ask a recording link with (Zadarma)
    disposition: str = (
        ""  # the provider's own word for the outcome ("busy", "no answer")
    )

    kind: ClassVar[str] = "call"


@register_event_class
@dataclass
class CallTranscript:
    """The provider's speech recognition of a call's recording (Zadarma
    ``SPEECH_RECOGNITION``): stored on the call, shown in its history."""

    event_id: str
    call_id: str  # the provider's id of the call
    transcript: str = ""
    language: str = ""
    voicemail: bool = False  # the recording is a voicemail the customer left
    date: float = 0.0

    kind: ClassVar[str] = "call_transcript"


@dataclass
class OriginateResult:
    """The provider accepted a click-to-call request."""

    call_id: str = ""  # the provider call id the call will have, when known in advance
    message: str = ""


class PhoneConnector(Connector):
    """Base of the telephony connectors: recordings, click-to-call, test."""

    #: a phone number is the same person on every line
    user_ids_are_global = True
    kind = "phone"
    icon = "fa-phone"
    #: a phone line carries calls, not text: no survey message
    supports_calls = True
    supports_survey = False
    common_settings = ("webhook_secret",)
    #: seconds to wait after the call before asking for its recording
    recording_delay: ClassVar[int] = 0

    def originate(self, extension: str, number: str) -> OriginateResult:
        """Ring the employee's ``extension`` first, then connect ``number``.
        Raise :class:`SendError` with the provider's reason when refused."""
        raise SendError("this phone line cannot place calls from Odoo")

    def test_connection(self) -> str:
        """Check the settings against the provider; return what it said."""
        raise ConnectorError("this phone line has nothing to test")

    def fetch_media(self, attachment):
        if not attachment.url:
            raise ConnectorError("the provider gave no recording address")
        return self.download_recording(attachment.url, filename=attachment.filename)

    # -- helpers --------------------------------------------------------------
    def extension_digits(self):
        try:
            return max(1, int(self.config.extra.get("extension_digits") or 4))
        except (TypeError, ValueError):
            return 4

    def is_extension(self, number):
        """Internal numbers are short digit strings ("101"); anything longer
        is an outside number."""
        number = (number or "").strip()
        return number.isdigit() and len(number) <= self.extension_digits()

    def download_recording(self, url, filename=""):
        """The recording at ``url``, through the checked path of
        :meth:`Connector.download`: (data, mimetype, filename)."""
        max_bytes = int(
            self.config.extra.get("max_recording_bytes") or MAX_RECORDING_BYTES
        )
        data, mimetype = self.download(url, max_bytes=max_bytes)
        if not data:
            raise ConnectorError("the recording is empty")
        if not filename:
            filename = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "recording"
        return data, mimetype or "audio/mpeg", filename

    # -- replays ------------------------------------------------------------------
    def replay_window(self):
        """Seconds a signed notification stays acceptable (configurable)."""
        try:
            return max(60, int(self.config.extra.get("replay_window") or REPLAY_WINDOW))
        except (TypeError, ValueError):
            return REPLAY_WINDOW

    def stale_reason(self, sent_at, what, slack=0):
        """Why ``sent_at`` (epoch seconds) is outside the replay window: more
        than the window ago, or as far in the future (a wrong clock or zone);
        '' when it is inside."""
        window = self.replay_window()
        age = time.time() - sent_at
        if age > window + slack or age < -window:
            return (
                f"{what} is {int(age // 60)} minutes away from now, outside the "
                f"{window // 60}-minute window: a replay (or the clock or "
                "time zone is wrong), not applied"
            )
        return ""

    def check_fresh(self, sent_at, what, slack=0, error=SignatureError):
        """Raise ``error`` when ``sent_at`` is outside the replay window:
        a refusal (403) for a signed sending time, which the sender sets at
        once; :class:`ReplayedRequest` (kept, never applied) for the times of
        providers that sign none."""
        reason = self.stale_reason(sent_at, what, slack)
        if reason:
            raise error(reason)
