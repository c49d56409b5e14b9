"""Zadarma: its Signature (base64 of the hex HMAC-SHA1 of the signed fields),
call_start as the only clock (replays kept, never applied), notifications,
and the signed API of click-to-call."""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import datetime, timezone

import pytest

import connectors
from connectors.zadarma import REPLAYED_CALL_PREFIX

SECRET = "zd-secret"
SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
    "SMS": ("result",),
}


def zadarma_sign(data, secret=SECRET):
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def now(offset=0):
    moment = datetime.fromtimestamp(time.time() + offset, timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def notification(event="NOTIFY_START", **fields):
    values = dict(
        {
            "event": event,
            "pbx_call_id": "in_42",
            "caller_id": "79001234567",
            "called_did": "74951234567",
            "call_start": now(),
        },
        **fields,
    )
    signature = zadarma_sign("".join(values.get(f, "") for f in SIGNED[event]))
    return {"Signature": signature}, urllib.parse.urlencode(values).encode()


def account(connector, **values):
    settings = dict(app_secret=SECRET, token="KEY", extra={"timezone": "UTC"})
    return connector("zadarma", **dict(settings, **values))


def test_good_signature_is_accepted(connector):
    headers, raw = notification()
    account(connector).verify(headers, raw, {})


def test_forged_missing_or_unknown_is_refused(connector):
    headers, raw = notification()
    _headers, other = notification(caller_id="79990000000")
    for given, body in (({}, raw), (headers, other), ({"Signature": "x"}, raw)):
        with pytest.raises(connectors.SignatureError):
            account(connector).verify(given, body, {})
    with pytest.raises(connectors.SignatureError):
        account(connector).verify(headers, b"event=NOTIFY_PARTY", {})
    with pytest.raises(connectors.SignatureError):
        account(connector, app_secret="").verify(headers, raw, {})


def test_call_started_outside_the_window_is_kept_not_applied(connector):
    headers, raw = notification(call_start=now(-3600))
    with pytest.raises(connectors.ReplayedRequest) as replay:
        account(connector).verify(headers, raw, {})
    assert str(replay.value).startswith(REPLAYED_CALL_PREFIX + "in_42: ")


def test_end_of_a_long_call_gets_its_talk_time(connector):
    headers, raw = notification("NOTIFY_END", call_start=now(-1800), duration="1500")
    account(connector).verify(headers, raw, {})
    headers, raw = notification("NOTIFY_END", call_start=now(-1800), duration="60")
    with pytest.raises(connectors.ReplayedRequest):
        account(connector).verify(headers, raw, {})


def test_handshake_echoes_a_plain_token_only(connector):
    answer = account(connector).handshake("GET", {}, {"zd_echo": "abc123"}, b"")
    assert answer.body == "abc123"
    with pytest.raises(connectors.PayloadError):
        account(connector).handshake("GET", {}, {"zd_echo": "<script>"}, b"")


def test_incoming_call_and_its_end(connector):
    _headers, raw = notification()
    [ringing] = account(connector).parse({}, raw, {})
    assert (ringing.call_id, ringing.status, ringing.direction) == (
        "in_42",
        "ringing",
        "in",
    )
    assert ringing.customer_number == "79001234567"
    _headers, raw = notification(
        "NOTIFY_END",
        duration="65",
        disposition="answered",
        is_recorded="1",
        call_id_with_rec="rec_42",
        internal="101",
    )
    [ended] = account(connector).parse({}, raw, {})
    assert (ended.status, ended.duration, ended.answered) == ("ended", 65, True)
    assert (ended.extension, ended.recording_ref) == ("101", "rec_42")


def test_event_id_depends_on_what_is_signed_only(connector):
    _h, first = notification(pbx_call_id="in_42")
    _h, again = notification(pbx_call_id="in_43")
    [a] = account(connector).parse({}, first, {})
    [b] = account(connector).parse({}, again, {})
    assert a.event_id == b.event_id


def test_sms_notification(connector):
    result = json.dumps({"caller_id": "79001234567", "text": "Hello"})
    headers, raw = notification("SMS", result=result)
    account(connector).verify(headers, raw, {})
    [message] = account(connector).parse({}, raw, {})
    assert isinstance(message, connectors.InboundMessage)
    assert message.text == "Hello"


@pytest.mark.parametrize(
    "fields",
    [
        {"pbx_call_id": ""},
        {"call_start": "yesterday"},
        {"event": "NOTIFY_END", "duration": "long"},
        {"event": "NOTIFY_RECORD", "call_id_with_rec": ""},
        {"event": "SMS", "result": "not json"},
        {"event": "SMS", "result": "[]"},
    ],
)
def test_malformed_notifications_are_refused(connector, fields):
    values = dict(
        {"event": "NOTIFY_START", "pbx_call_id": "in_42", "call_start": now()},
        **fields,
    )
    with pytest.raises(connectors.PayloadError):
        account(connector).parse({}, urllib.parse.urlencode(values).encode(), {})


def test_click_to_call_is_a_signed_api_get(connector, provider):
    provider.answer(200, {"status": "success", "from": "101", "to": "79001234567"})
    result = account(connector, base_url=provider.url).originate(
        "101", "+7 900 123-45-67"
    )
    assert result.message == "101 -> 79001234567"
    [(method, path, headers, _body)] = provider.requests
    method_path, _sep, query = path.partition("?")
    assert (method, method_path) == ("GET", "/v1/request/callback/")
    assert dict(urllib.parse.parse_qsl(query)) == {
        "format": "json",
        "from": "101",
        "to": "79001234567",
    }
    signed = method_path + query + hashlib.md5(query.encode()).hexdigest()
    assert headers["Authorization"] == "KEY:" + zadarma_sign(signed)


def test_api_refusal_and_unreachable_api(connector, provider):
    provider.answer(401, {"status": "error", "message": "Not authorized"})
    with pytest.raises(connectors.SendError) as refused:
        account(connector, base_url=provider.url).originate("101", "79001234567")
    assert str(refused.value) == "Not authorized"
    url = provider.url
    provider.shutdown()
    provider.server_close()
    with pytest.raises(connectors.ConnectorError) as unreachable:
        account(connector, base_url=url).test_connection()
    assert str(unreachable.value) == "Zadarma could not be reached (ConnectionError)"
    assert not isinstance(unreachable.value, connectors.SendError)


def test_recording_link_is_asked_then_downloaded(connector, provider):
    provider.route(
        "/v1/pbx/record/request/",
        200,
        {
            "status": "success",
            "link": provider.url + "/files/rec_42.mp3",
        },
    )
    provider.route("/files/rec_42.mp3", 200, b"MP3", {"Content-Type": "audio/mpeg"})
    recording = connectors.Attachment("audio", file_id="rec_42")
    data = account(connector, base_url=provider.url).fetch_media(recording)
    assert data == (b"MP3", "audio/mpeg", "rec_42.mp3")
