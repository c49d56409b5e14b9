"""Mango Office: the sign (SHA-256 of key + json + salt) both ways, events
read from their fields (call legs, summary, recording), replays kept and
never applied, and the signed commands and queries of the VPBX API."""

import hashlib
import json
import time
import urllib.parse

import pytest

import connectors
from connectors.calls import REPLAYED_CALL_PREFIX

KEY, SALT = "KEY", "SALT"
ENTRY = "MToxMDA1NzU5Mzo0MTk6NjI1ODM4MzQ="


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def event(payload, key=KEY, salt=SALT):
    text = json.dumps(payload)
    return urllib.parse.urlencode(
        {"vpbx_api_key": key, "sign": sha(key + text + salt), "json": text}
    ).encode()


def leg(state="Appeared", **extra):
    return dict(
        {
            "entry_id": ENTRY,
            "call_id": "leg-1",
            "timestamp": int(time.time()),
            "seq": 1,
            "call_state": state,
            "location": "abonent",
            "from": {"number": "79001234567"},
            "to": {"extension": 101, "line_number": "74951234567"},
        },
        **extra,
    )


def account(connector, **values):
    return connector("mango", **dict(dict(token=KEY, app_secret=SALT), **values))


def test_declares_a_phone_line():
    cls = connectors.get_connector_class("mango")
    assert (cls.kind, cls.supports_calls, cls.body_format) == ("phone", True, "form")
    assert cls.label == "Phone: Mango Office"


def test_signed_event_is_accepted(connector):
    account(connector).verify({}, event(leg()), {})


@pytest.mark.parametrize(
    "body",
    [
        event(leg(), salt="guess"),
        event(leg(), key="OTHER"),
        event(leg()).replace(b"79001234567", b"79990000000"),
        event(leg()).split(b"&sign=")[0],
        b"",
    ],
)
def test_forged_events_are_refused(connector, body):
    with pytest.raises(connectors.SignatureError):
        account(connector).verify({}, body, {})


def test_no_salt_or_no_key_accepts_nothing(connector):
    with pytest.raises(connectors.SignatureError):
        account(connector, app_secret="").verify({}, event(leg(), salt=""), {})
    with pytest.raises(connectors.SignatureError):
        account(connector, token="").verify({}, event(leg(), key=""), {})


def test_signed_but_not_json_is_malformed(connector):
    text = "[not json"
    body = urllib.parse.urlencode(
        {"vpbx_api_key": KEY, "sign": sha(KEY + text + SALT), "json": text}
    ).encode()
    mango = account(connector)
    mango.verify({}, body, {})
    with pytest.raises(connectors.PayloadError):
        mango.check_format({}, body, {})
    with pytest.raises(connectors.PayloadError):
        mango.check_format({}, event([1, 2]), {})


def test_the_journal_keeps_no_key_and_reads_the_same_events(connector):
    mango = account(connector)
    body = event(leg())
    kept = mango.journal_body(body)
    assert b"vpbx_api_key" not in kept
    assert mango.parse({}, kept, {}) == mango.parse({}, body, {})


def test_an_old_event_is_a_replay_named_by_its_call(connector):
    old = leg(timestamp=int(time.time()) - 3600)
    with pytest.raises(connectors.ReplayedRequest) as info:
        account(connector).verify({}, event(old), {})
    assert str(info.value).startswith(f"{REPLAYED_CALL_PREFIX}{ENTRY}:")


def test_ringing_and_answer_of_an_inbound_call(connector):
    mango = account(connector)
    (ring,) = mango.parse({}, event(leg()), {})
    assert (ring.call_id, ring.status, ring.direction) == (ENTRY, "ringing", "in")
    assert (ring.customer_number, ring.our_number, ring.extension) == (
        "79001234567",
        "74951234567",
        "101",
    )
    assert ring.date == ring.started > 0
    (answer,) = mango.parse({}, event(leg("Connected", seq=2)), {})
    assert (answer.status, answer.extension) == ("answered", "101")
    assert answer.event_id != ring.event_id
    # The same notification again is the same event (the journal's dedup key).
    assert mango.parse({}, event(leg()), {})[0].event_id == ring.event_id


def test_menu_leg_rings_no_one_and_other_states_are_details(connector):
    mango = account(connector)
    (menu,) = mango.parse({}, event(leg(location="ivr")), {})
    assert (menu.status, menu.extension) == ("ringing", "")
    (menu,) = mango.parse({}, event(leg("Connected", location="ivr")), {})
    assert (menu.status, menu.extension) == ("", ""), "the menu answering is no answer"
    for state in ("OnHold", "Disconnected"):
        (details,) = mango.parse({}, event(leg(state, seq=3)), {})
        assert (details.status, details.extension) == ("", "")


def test_outbound_leg_and_internal_call(connector):
    mango = account(connector)
    out = leg(**{"from": {"extension": "101"}, "to": {"number": "79001234567"}})
    (ring,) = mango.parse({}, event(out), {})
    assert (ring.direction, ring.customer_number, ring.extension) == (
        "out",
        "79001234567",
        "101",
    )
    internal = leg(**{"from": {"extension": "101"}, "to": {"extension": "102"}})
    (ignored,) = mango.parse({}, event(internal), {})
    assert isinstance(ignored, connectors.IgnoredEvent)


def test_summary_gives_the_outcome_and_talk_time(connector):
    now = int(time.time())
    summary = {
        "entry_id": ENTRY,
        "call_direction": 1,
        "from": {"number": "79001234567"},
        "to": {"extension": "101"},
        "create_time": now - 100,
        "talk_time": now - 95,
        "end_time": now,
        "entry_result": 1,
        "disconnect_reason": 1110,
    }
    mango = account(connector)
    (end,) = mango.parse({}, event(summary), {})
    assert (end.status, end.answered, end.duration, end.extension) == (
        "ended",
        True,
        95,
        "101",
    )
    assert end.disposition == "answered (1110)"
    assert (end.started, end.date) == (now - 100, now)
    missed = dict(summary, entry_result=0, talk_time=0)
    (end,) = mango.parse({}, event(missed), {})
    assert (end.answered, end.duration, end.extension) == (False, 0, "")


def test_record_added_and_other_notifications(connector):
    mango = account(connector)
    added = {"entry_id": ENTRY, "recording_id": "rec-1", "timestamp": 1}
    (rec,) = mango.parse({}, event(added), {})
    assert (rec.status, rec.recording_ref, rec.call_id) == ("recording", "rec-1", ENTRY)
    (other,) = mango.parse({}, event({"dtmf": "1", "entry_id": ENTRY}), {})
    assert isinstance(other, connectors.IgnoredEvent)
    with pytest.raises(connectors.PayloadError):
        mango.parse({}, event(leg(entry_id="")), {})


def test_click_to_call_is_a_signed_callback_command(connector, provider):
    provider.route("/vpbx/commands/callback", body={"result": 1000})
    mango = account(connector, base_url=provider.url)
    result = mango.originate("101", "+7 (900) 123-45-67")
    assert result.message == "101 -> 79001234567"
    _method, path, _headers, body = provider.requests[-1]
    form = dict(urllib.parse.parse_qsl(body.decode()))
    assert path == "/vpbx/commands/callback"
    assert form["vpbx_api_key"] == KEY
    assert form["sign"] == sha(KEY + form["json"] + SALT)
    payload = json.loads(form["json"])
    assert payload["from"] == {"extension": "101"}
    assert payload["to_number"] == "79001234567"
    assert payload["command_id"].startswith("odoo-")


def test_refused_command_says_the_result(connector, provider):
    provider.route("/vpbx/commands/callback", body={"result": 3102})
    with pytest.raises(connectors.SendError, match="3102"):
        account(connector, base_url=provider.url).originate("101", "79001234567")


def test_recording_follows_the_redirect_of_the_download_query(connector, provider):
    provider.route(
        "/vpbx/queries/recording/post",
        status=302,
        body=b"",
        headers={"Location": f"{provider.url}/files/rec-1.mp3"},
    )
    provider.route(
        "/files/rec-1.mp3", body=b"ID3audio", headers={"Content-Type": "audio/mpeg"}
    )
    mango = account(connector, base_url=provider.url)
    data, mimetype, filename = mango.fetch_media(
        connectors.Attachment(kind="audio", file_id="rec-1")
    )
    assert (data, mimetype, filename) == (b"ID3audio", "audio/mpeg", "rec-1.mp3")
    _m, _p, _h, body = provider.requests[0]
    form = dict(urllib.parse.parse_qsl(body.decode()))
    assert json.loads(form["json"]) == {"recording_id": "rec-1", "action": "download"}
    assert form["sign"] == sha(KEY + form["json"] + SALT)


def test_recording_link_elsewhere_is_not_downloaded(connector, provider):
    provider.route(
        "/vpbx/queries/recording/post",
        status=302,
        body=b"",
        headers={"Location": "http://169.254.169.254/latest/meta-data"},
    )
    with pytest.raises(connectors.ConnectorError):
        account(connector, base_url=provider.url).fetch_media(
            connectors.Attachment(kind="audio", file_id="rec-1")
        )


def test_test_connection_counts_the_employees(connector, provider):
    provider.route("/vpbx/config/users/request", body={"users": [{}, {}, {}]})
    assert "3 employee" in account(connector, base_url=provider.url).test_connection()
    with pytest.raises(connectors.ConnectorError):
        account(connector, app_secret="").test_connection()
