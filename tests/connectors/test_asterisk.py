"""Asterisk: AMI events forwarded by the bridge, signed like the generic
phone webhook, translated into call events here."""

import hashlib
import hmac
import json
import time

import pytest

import connectors
from connectors.ami import AmiError, parse_address
from connectors.ami import encode as ami_encode
from connectors.phone_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

SECRET = "bridge-secret"
T0 = str(int(time.time()))


def signed(body, timestamp=None, secret=SECRET):
    timestamp = str(int(time.time() if timestamp is None else timestamp))
    digest = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: "sha256=" + digest}


def ami(name, **fields):
    return dict(
        {
            "Event": name,
            "Uniqueid": "1718000000.1",
            "Linkedid": "1718000000.1",
            "Timestamp": T0,
        },
        **fields,
    )


def bridge(*events):
    return json.dumps({"events": list(events)}).encode()


def pbx(connector, **values):
    return connector("asterisk", **dict(dict(secret=SECRET), **values))


def test_signed_events_are_accepted(connector):
    body = bridge(ami("Newchannel", CallerIDNum="+79001234567", Exten="74951234567"))
    pbx(connector).verify(signed(body), body, {})


def test_forged_stale_or_missing_signature_is_refused(connector):
    body = bridge(ami("Hangup"))
    for headers in (
        {},
        signed(body, secret="other"),
        signed(body, time.time() - 3600),
    ):
        with pytest.raises(connectors.SignatureError):
            pbx(connector).verify(headers, body, {})


def test_incoming_call_answer_and_end(connector):
    body = bridge(
        ami(
            "Newchannel",
            CallerIDNum="+79001234567",
            CallerIDName="Anna",
            Exten="74951234567",
        ),
        ami(
            "DialEnd",
            DialStatus="ANSWER",
            CallerIDNum="+79001234567",
            DestCallerIDNum="101",
        ),
        ami("Hangup", **{"Cause-txt": "Normal Clearing"}),
    )
    ringing, answered, ended = pbx(connector).parse({}, body, {})
    assert (ringing.status, ringing.direction, ringing.customer_name) == (
        "ringing",
        "in",
        "Anna",
    )
    assert ringing.call_id == answered.call_id == ended.call_id == "1718000000.1"
    assert (answered.status, answered.extension) == ("answered", "101")
    assert (ended.status, ended.disposition) == ("ended", "Normal Clearing")
    assert len({ringing.event_id, answered.event_id, ended.event_id}) == 3


def test_employees_calling_each_other_is_no_customer_call(connector):
    body = bridge(ami("Newchannel", CallerIDNum="101", Exten="102"))
    [event] = pbx(connector).parse({}, body, {})
    assert event.kind == "ignored" and event.reason == "internal call"


def test_hangup_of_the_second_leg_is_ignored(connector):
    body = bridge(ami("Hangup", Uniqueid="1718000000.2", CallerIDNum="+7900"))
    [event] = pbx(connector).parse({}, body, {})
    assert event.kind == "ignored"


def test_recording_url_comes_from_the_line_template(connector):
    line = pbx(
        connector, extra={"recording_url": "https://pbx.example/rec/{call_id}.wav"}
    )
    [ended] = line.parse({}, bridge(ami("Hangup", CallerIDNum="+7900")), {})
    assert ended.recording_url == "https://pbx.example/rec/1718000000.1.wav"


@pytest.mark.parametrize(
    "body",
    [
        bridge(dict(ami("Hangup"), Timestamp=5)),
        bridge(dict(ami("Hangup"), Event="")),
        bridge({"Event": "Hangup", "Linkedid": "1"}),
        json.dumps({"events": []}).encode(),
        b"[1]",
    ],
    ids=["not-text", "no-event", "no-id", "empty", "not-objects"],
)
def test_malformed_events_are_refused(connector, body):
    with pytest.raises(connectors.PayloadError):
        pbx(connector).parse({}, body, {})


def test_ami_address_and_wire_format():
    assert parse_address("tls://pbx.example") == ("pbx.example", 5039, True)
    assert parse_address("10.0.0.5:5038") == ("10.0.0.5", 5038, False)
    assert ami_encode([("Action", "Ping"), ("ActionID", "1")]) == (
        b"Action: Ping\r\nActionID: 1\r\n\r\n"
    )
    # A line break would let a value inject another AMI header.
    with pytest.raises(AmiError):
        ami_encode([("Channel", "PJSIP/101\r\nAction: Originate")])
