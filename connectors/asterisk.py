"""Asterisk, through its Manager Interface (AMI).

How call events reach Odoo: AMI pushes events only to clients connected at
that moment and keeps none for later, so reading it from an Odoo cron now and
then would lose every call that starts and ends between two runs (and a lost
``Hangup`` leaves a call ringing forever), while staying connected means a
listener that never ends inside an Odoo worker.  Instead a small bridge,
``tools/asterisk_ami_bridge.py`` (standard library only, runs on the PBX or
next to it), keeps one AMI connection, forwards the call events unchanged as
JSON to this channel's webhook, signed like the generic phone webhook
(``X-Omnichannel-Signature``), buffers them while Odoo is unreachable and
retries.  Each event gets an id once, so a re-post is deduplicated by the
journal.  The translation of AMI events into calls happens here, in Odoo,
where the channel's settings are.

From Odoo to Asterisk (click-to-call, "Test connection") we open a short AMI
connection: ``Login``, ``Originate`` (or ``Ping``), ``Logoff``.

Settings (the channel's common fields, shown as "AMI address", "AMI user" and
"AMI secret"): api_base_url = ``host:port``, or ``tls://host:port`` for
Asterisk's TLS manager port (recommended: the secret and the Originate travel
encrypted; a self-signed PBX certificate goes in "AMI certificate");
account_ref = the AMI user; token = its secret (``manager.conf``:
``read = call``, ``write = originate``); originate context, dial string of an
extension, internal number length and an optional recording URL template live
on the channel.
"""

from __future__ import annotations

import uuid

from .ami import CALL_EVENTS, AmiClient, AmiError, parse_address
from .calls import CallEvent, OriginateResult, PhoneConnector
from .errors import ConnectorError, PayloadError, SendError
from .events import IgnoredEvent
from .interface import register
from .phone_webhook import SignedJsonMixin

#: OriginateResponse "Reason" (Asterisk's AST_CONTROL_* codes) -> why it failed
ORIGINATE_REASONS = {
    "0": "the extension could not be called"
    " (unknown, not registered or wrong dial string)",
    "1": "the call was hung up",
    "3": "your phone did not answer",
    "5": "your phone is busy",
    "8": "the line is congested or unavailable",
}
#: seconds the employee's phone rings before the originate gives up
RING_SECONDS = 20


@register
class AsteriskConnector(SignedJsonMixin, PhoneConnector):
    code = "asterisk"
    label = "Phone: Asterisk (AMI)"
    sequence = 130
    format_keys = ("Event",)

    def event_time(self, item):
        try:
            return float(item.get("Timestamp") or item.get("ReceivedAt") or 0)
        except (TypeError, ValueError):
            return 0

    # -- inbound: AMI events forwarded by the bridge ---------------------------
    def parse(self, headers, body, query):
        events = []
        for ami_event in self.events_of(body, "AMI event"):
            if not all(
                isinstance(k, str) and isinstance(v, str) for k, v in ami_event.items()
            ):
                raise PayloadError("AMI event headers and values are strings")
            if not ami_event.get("Event"):
                raise PayloadError('an AMI event has an "Event" header')
            events.append(self._translate(ami_event))
        return events

    def _event_id(self, ami_event):
        if ami_event.get("EventId"):
            return ami_event["EventId"][:200]
        parts = [
            ami_event.get(k, "")
            for k in ("Linkedid", "Uniqueid", "Event", "Timestamp", "ReceivedAt")
        ]
        if not parts[1] or not (parts[3] or parts[4]):
            raise PayloadError("an AMI event needs EventId, or Uniqueid and Timestamp")
        return ":".join(parts)

    def _translate(self, ev):
        name = ev["Event"]
        event_id = self._event_id(ev)
        call_id = ev.get("Linkedid") or ev.get("Uniqueid") or ""
        if name not in CALL_EVENTS or not call_id:
            return IgnoredEvent(event_id, f"AMI event {name}")
        try:
            date = float(ev.get("Timestamp") or ev.get("ReceivedAt") or 0)
        except ValueError:
            raise PayloadError("Timestamp must be epoch seconds") from None
        first_leg = ev.get("Uniqueid") == call_id
        call = dict(event_id=event_id, call_id=call_id, date=date)
        caller = ev.get("CallerIDNum", "")
        other = next(
            (
                n
                for n in (
                    ev.get("DestCallerIDNum"),
                    ev.get("ConnectedLineNum"),
                    ev.get("Exten"),
                )
                if n and n not in ("<unknown>", "s")
            ),
            "",
        )
        if self.is_extension(caller) and self.is_extension(other):
            # Employees calling each other: not a customer's call.
            return IgnoredEvent(event_id, "internal call")

        if name == "Newchannel":
            if not first_leg:
                return IgnoredEvent(event_id, f"second leg of call {call_id}")
            dialed = ev.get("Exten", "")
            if self.is_extension(caller):
                if not dialed or dialed == "s":
                    return IgnoredEvent(event_id, "call without a dialled number yet")
                return CallEvent(
                    status="ringing",
                    direction="out",
                    customer_number=dialed,
                    extension=caller,
                    started=date,
                    **call,
                )
            name_id = ev.get("CallerIDName", "")
            return CallEvent(
                status="ringing",
                direction="in",
                customer_number=_number(caller),
                customer_name=""
                if name_id in ("", "<unknown>") or name_id == caller
                else name_id,
                our_number="" if dialed in ("", "s") else dialed,
                started=date,
                **call,
            )
        if name == "DialBegin":
            destination = ev.get("DestCallerIDNum") or ev.get("DialString", "")
            if self.is_extension(destination):
                return CallEvent(status="ringing", extension=destination, **call)
            return CallEvent(
                status="ringing",
                direction="out",
                customer_number=_number(destination),
                extension=caller if self.is_extension(caller) else "",
                **call,
            )
        if name == "DialEnd":
            if ev.get("DialStatus") != "ANSWER":
                return IgnoredEvent(
                    event_id, "dial ended: {}".format(ev.get("DialStatus", "?"))
                )
            destination = ev.get("DestCallerIDNum", "")
            extension = (
                destination
                if self.is_extension(destination)
                else (caller if self.is_extension(caller) else "")
            )
            return CallEvent(status="answered", extension=extension, **call)
        if name == "Newexten":
            if (ev.get("Application") or "").lower() != "voicemail":
                return IgnoredEvent(event_id, "dialplan step")
            return CallEvent(status="voicemail", **call)
        if name in ("HangupRequest", "SoftHangupRequest"):
            return CallEvent(
                hangup_by="employee"
                if self._is_employee_channel(ev.get("Channel", ""))
                else "customer",
                **call,
            )
        # Hangup: only the first leg's end is the end of the call.
        if not first_leg:
            return IgnoredEvent(event_id, "second leg hung up")
        return CallEvent(
            status="ended",
            disposition=ev.get("Cause-txt", ""),
            recording_url=self._recording_url(ev),
            **call,
        )

    def _is_employee_channel(self, channel):
        """ "PJSIP/101-0000002a" or "Local/101@from-internal-0001;1" is the
        phone of extension 101; a trunk channel is the customer's side."""
        resource = channel.split("/", 1)[-1].rsplit("-", 1)[0].split("@")[0]
        return self.is_extension(resource)

    def _recording_url(self, ev):
        template = self.config.extra.get("recording_url") or ""
        if not template:
            return ""
        values = {
            "linkedid": ev.get("Linkedid", ""),
            "uniqueid": ev.get("Uniqueid", ""),
            "call_id": ev.get("Linkedid") or ev.get("Uniqueid", ""),
        }
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return ""

    # -- outbound: AMI actions -------------------------------------------------
    def _client(self):
        try:
            host, port, tls = parse_address(self.config.base_url)
        except AmiError as exc:
            raise ConnectorError(str(exc)) from None
        if not self.config.account_ref or not self.config.token:
            raise ConnectorError(
                "set the AMI user (Provider account ID) and its secret (token)"
            )
        return AmiClient(
            host,
            port,
            timeout=10,
            tls=tls,
            cadata=self.config.extra.get("ami_ca") or None,
        )

    def test_connection(self):
        client = self._client()
        try:
            client.connect()
            client.login(self.config.account_ref, self.config.token)
            pong = client.action("Ping")
        except AmiError as exc:
            raise ConnectorError(str(exc)) from None
        finally:
            client.close()
        if pong.get("Response") != "Success":
            raise ConnectorError(pong.get("Message") or "Ping refused")
        return (
            f"Connected to {client.banner}, logged in as {self.config.account_ref},"
            " Ping answered."
        )

    def originate(self, extension, number):
        try:
            client = self._client()
        except ConnectorError as exc:
            raise SendError(str(exc)) from None
        extra = self.config.extra
        channel_id = f"odoo-{uuid.uuid4().hex[:24]}"
        digits = "".join(c for c in number if c.isdigit())
        try:
            client.connect()
            # Call events are needed to hear the OriginateResponse.
            client.login(self.config.account_ref, self.config.token, events="call")
            response = client.action(
                "Originate",
                ActionID=channel_id,
                Channel=(extra.get("dial_template") or "PJSIP/{extension}").replace(
                    "{extension}", extension
                ),
                Context=extra.get("originate_context") or "from-internal",
                Exten=digits,
                Priority=1,
                CallerID=f'"{number}" <{digits}>',
                Timeout=RING_SECONDS * 1000,
                Async="true",
                # Asterisk 13+: every event of the call will carry this Linkedid.
                ChannelId=channel_id,
            )
            if response.get("Response") != "Success":
                raise SendError(response.get("Message") or "Asterisk refused the call")
            outcome = client.wait_event(
                lambda e: (
                    e.get("Event") == "OriginateResponse"
                    and e.get("ActionID") == channel_id
                ),
                RING_SECONDS + 5,
            )
        except AmiError as exc:
            raise SendError(str(exc), retryable=True) from None
        finally:
            client.close()
        if outcome and outcome.get("Response") != "Success":
            reason = outcome.get("Reason", "")
            raise SendError(
                ORIGINATE_REASONS.get(
                    reason,
                    f"Asterisk could not place the call (reason {reason})",
                ),
                code=reason,
            )
        return OriginateResult(
            call_id=channel_id, message="answered" if outcome else "queued"
        )


def _number(value):
    return "" if value in ("<unknown>", "anonymous", "Anonymous") else value
