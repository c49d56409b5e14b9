"""The generic phone webhook: the signed timestamp (replays refused), the
older body-only signature (replays kept, never applied), call events, and
click-to-call through the channel's API address."""

import hashlib
import hmac
import json
import time

import pytest

import connectors
from connectors.phone_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

SECRET = "pbx-secret"


def signed(body, timestamp=None, secret=SECRET):
    timestamp = str(int(time.time() if timestamp is None else timestamp))
    digest = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: "sha256=" + digest}


def body_only(body, secret=SECRET):
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: "sha256=" + digest}


def event(**values):
    return dict(
        {
            "event_id": "pbx-42-answer",
            "call_id": "42",
            "event": "answered",
            "timestamp": int(time.time()),
            "direction": "in",
            "customer_number": "+79001234567",
            "extension": "101",
        },
        **values,
    )


def encode(data):
    return json.dumps(data).encode()


def line(connector, **values):
    return connector("phone_webhook", **dict(dict(secret=SECRET), **values))


def test_signed_timestamp_is_accepted(connector):
    body = encode(event())
    line(connector).verify(signed(body), body, {})


def test_signature_is_case_insensitive_hex(connector):
    body = encode(event())
    headers = signed(body)
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].upper().replace("SHA256=", "")
    line(connector).verify(headers, body, {})


@pytest.mark.parametrize("change", ["secret", "body", "timestamp", "missing"])
def test_forged_or_missing_signature_is_refused(connector, change):
    body = encode(event())
    headers = signed(body, secret="other" if change == "secret" else SECRET)
    if change == "body":
        body = encode(event(extension="102"))
    elif change == "timestamp":
        headers[TIMESTAMP_HEADER] = str(int(headers[TIMESTAMP_HEADER]) + 1)
    elif change == "missing":
        del headers[SIGNATURE_HEADER]
    with pytest.raises(connectors.SignatureError):
        line(connector).verify(headers, body, {})


def test_line_without_secret_accepts_nothing(connector):
    body = encode(event())
    with pytest.raises(connectors.SignatureError):
        line(connector, secret="").verify(signed(body, secret=""), body, {})


def test_malformed_timestamp_header_is_refused(connector):
    body = encode(event())
    headers = dict(signed(body), **{TIMESTAMP_HEADER: "yesterday"})
    with pytest.raises(connectors.SignatureError):
        line(connector).verify(headers, body, {})


def test_old_signed_timestamp_is_a_refused_replay(connector):
    body = encode(event())
    with pytest.raises(connectors.SignatureError) as refused:
        line(connector).verify(signed(body, time.time() - 3600), body, {})
    assert "replay" in str(refused.value)
    # The window is a setting of the line.
    wide = line(connector, extra={"replay_window": 7200})
    wide.verify(signed(body, time.time() - 3600), body, {})


def test_body_only_signature_uses_each_event_time(connector):
    fresh = encode(event())
    line(connector).verify(body_only(fresh), fresh, {})
    stale = encode(event(timestamp=int(time.time()) - 3600))
    with pytest.raises(connectors.ReplayedRequest):
        line(connector).verify(body_only(stale), stale, {})
    timeless = encode(event(timestamp=None))
    with pytest.raises(connectors.ReplayedRequest):
        line(connector).verify(body_only(timeless), timeless, {})


def test_call_events_are_parsed(connector):
    data = {
        "events": [
            event(started_at="2024-06-10T06:13:20+00:00"),
            event(
                event_id="pbx-42-end",
                event="ended",
                duration=125,
                answered=True,
                hangup_by="customer",
            ),
        ]
    }
    answered, ended = line(connector).parse({}, encode(data), {})
    assert answered.kind == "call" and answered.call_id == "42"
    assert (answered.status, answered.direction, answered.extension) == (
        "answered",
        "in",
        "101",
    )
    assert answered.started == 1717999999 + 1
    assert (ended.status, ended.duration, ended.answered, ended.hangup_by) == (
        "ended",
        125,
        True,
        "customer",
    )


@pytest.mark.parametrize(
    "data",
    [
        {"events": []},
        {"events": ["x"]},
        event(event="exploded"),
        event(direction="sideways"),
        event(duration="long"),
        event(event="recording"),
        event(recording_url="ftp://pbx/42.mp3"),
        event(timestamp="2024-06-10 06:13:20"),
        event(call_id=None),
    ],
)
def test_malformed_events_are_refused(connector, data):
    with pytest.raises(connectors.PayloadError):
        line(connector).parse({}, encode(data), {})


def test_another_format_is_refused_before_it_is_journaled(connector):
    with pytest.raises(connectors.PayloadError):
        line(connector).check_format({}, encode({"call": "42"}), {})


def test_click_to_call_is_signed_and_returns_the_call_id(connector, provider):
    provider.answer(200, {"call_id": "43", "message": "ringing 101"})
    result = line(connector, base_url=provider.url + "/dial").originate(
        "101", "+79001234567"
    )
    assert (result.call_id, result.message) == ("43", "ringing 101")
    [(method, path, headers, raw)] = provider.requests
    assert (method, path) == ("POST", "/dial")
    sent = json.loads(raw)
    assert (sent["action"], sent["extension"], sent["number"]) == (
        "originate",
        "101",
        "+79001234567",
    )
    expected = signed(raw, int(headers[TIMESTAMP_HEADER]))[SIGNATURE_HEADER]
    assert headers[SIGNATURE_HEADER] == expected


def test_click_to_call_refusal_carries_the_pbx_reason(connector, provider):
    provider.answer(409, {"error": "extension 101 is busy"})
    with pytest.raises(connectors.SendError) as refused:
        line(connector, base_url=provider.url).originate("101", "+79001234567")
    assert refused.value.message == "extension 101 is busy"
    assert refused.value.code == "409"


def test_unreachable_pbx_errors_keep_their_wording(connector, provider):
    url = provider.url
    provider.shutdown()
    provider.server_close()
    with pytest.raises(connectors.SendError) as unreachable:
        line(connector, base_url=url).originate("101", "+79001234567")
    assert str(unreachable.value) == "the PBX could not be reached (ConnectionError)"
    assert unreachable.value.retryable and unreachable.value.code is None
    with pytest.raises(connectors.ConnectorError) as failed:
        line(connector, base_url=url).test_connection()
    assert not isinstance(failed.value, connectors.SendError)
    assert str(failed.value) == "the PBX could not be reached (ConnectionError)"


def test_ping_checks_the_connection(connector, provider):
    provider.answer(200, {})
    answer = line(connector, base_url=provider.url).test_connection()
    assert answer == "The PBX answered the signed ping."
    assert json.loads(provider.requests[0][3]) == {"action": "ping"}


def test_recording_is_downloaded_from_an_allowed_host_only(connector, provider):
    provider.answer(200, b"ID3-audio", {})
    channel = line(connector, base_url=provider.url)
    recording = connectors.Attachment("audio", url=provider.url + "/rec/42.mp3")
    assert channel.fetch_media(recording) == (b"ID3-audio", "audio/mpeg", "42.mp3")
    elsewhere = connectors.Attachment("audio", url="http://10.0.0.5/rec/42.mp3")
    with pytest.raises(connectors.ConnectorError) as refused:
        channel.fetch_media(elsewhere)
    assert "not a host of this provider" in str(refused.value)


def test_recording_above_the_line_limit_is_refused(connector, provider):
    provider.answer(200, b"x" * 2048, {})
    channel = line(
        connector, base_url=provider.url, extra={"max_recording_bytes": 1024}
    )
    recording = connectors.Attachment("audio", url=provider.url + "/rec/big.mp3")
    with pytest.raises(connectors.ConnectorError):
        channel.fetch_media(recording)
