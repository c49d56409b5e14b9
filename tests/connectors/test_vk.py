"""VK Callback API: the secret key inside the body, the community check,
the confirmation handshake, events and messages.send."""

import json
import urllib.parse

import pytest

import connectors
from connectors.vk import random_id_for

SECRET = "vk-secret"
GROUP = 123


def body(kind="message_new", obj=None, **extra):
    data = dict({"type": kind, "group_id": GROUP, "secret": SECRET}, **extra)
    data["object"] = obj if obj is not None else {"message": message()}
    return json.dumps(data).encode()


def message(**values):
    return dict(
        {"date": 1718000000, "from_id": 42, "id": 100, "peer_id": 42, "text": "Hi"},
        **values,
    )


def vk(connector, **values):
    settings = dict(secret=SECRET, account_ref=str(GROUP), verify_token="abc123")
    return connector("vk", **dict(settings, **values))


def test_secret_key_in_the_body_is_accepted(connector):
    vk(connector).verify({}, body(event_id="e1"), {})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "message_new", "group_id": 123}',
        b'{"type": "message_new", "group_id": 123, "secret": "vk-secreT"}',
        b"not json",
    ],
    ids=["missing", "forged", "not-json"],
)
def test_missing_or_forged_secret_is_refused(connector, raw):
    with pytest.raises(connectors.SignatureError):
        vk(connector).verify({}, raw, {})


def test_event_of_another_community_is_refused(connector):
    with pytest.raises(connectors.SignatureError):
        vk(connector).verify({}, body(group_id=999), {})


def test_channel_without_secret_accepts_nothing(connector):
    raw = json.dumps({"type": "message_new", "group_id": GROUP, "secret": ""})
    with pytest.raises(connectors.SignatureError):
        vk(connector, secret="").verify({}, raw.encode(), {})


def test_confirmation_handshake_answers_the_confirmation_string(connector):
    raw = json.dumps({"type": "confirmation", "group_id": GROUP}).encode()
    answer = vk(connector).handshake("POST", {}, {}, raw)
    assert (answer.status, answer.body) == (200, "abc123")
    assert vk(connector).handshake("POST", {}, {}, body()) is None
    forged = json.dumps({"type": "confirmation", "group_id": GROUP, "secret": "x"})
    with pytest.raises(connectors.SignatureError):
        vk(connector).handshake("POST", {}, {}, forged.encode())


def test_journal_keeps_the_body_without_its_secret(connector):
    kept = json.loads(vk(connector).journal_body(body(event_id="e1")))
    assert "secret" not in kept and kept["event_id"] == "e1"


def test_new_message_is_parsed(connector):
    [event] = vk(connector).parse({}, body(event_id="ev1"), {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.event_id, event.message_id, event.chat_id) == ("ev1", "100", "42")
    assert (event.sender.user_id, event.text) == ("42", "Hi")


def test_message_of_an_api_before_5_80_is_read(connector):
    legacy = {"user_id": 42, "id": 7, "body": "old", "date": 1, "out": 0}
    [event] = vk(connector).parse({}, body(obj=legacy), {})
    assert (event.event_id, event.text, event.sender.user_id) == (
        "message_new:7:42",
        "old",
        "42",
    )


def test_message_deny_is_an_unsubscription(connector):
    raw = body("message_deny", {"user_id": 42}, event_id="e3")
    [event] = vk(connector).parse({}, raw, {})
    assert event.kind == "subscription" and event.subscribed is False
    assert event.sender.user_id == "42"


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"type": 5, "object": {}}',
        b'{"type": "message_new"}',
        b'{"type": "message_new", "object": {"message": {"from_id": "42"}}}',
    ],
)
def test_malformed_events_are_refused(connector, raw):
    with pytest.raises(connectors.PayloadError):
        vk(connector).parse({}, raw, {})


def test_send_posts_the_token_in_the_body_not_the_url(connector, provider):
    provider.answer(200, {"response": 321})
    channel = vk(connector, token="TOKEN", base_url=provider.url + "/method")
    outbound = connectors.OutboundMessage("42", text="Hello", idempotency_key="m-1")
    assert channel.send(outbound).message_id == "321"
    [(method, path, _headers, raw)] = provider.requests
    assert (method, path) == ("POST", "/method/messages.send")
    params = dict(urllib.parse.parse_qsl(raw.decode()))
    assert params["access_token"] == "TOKEN" and "TOKEN" not in path
    assert params["message"] == "Hello"
    assert params["random_id"] == str(random_id_for("m-1"))


def test_random_id_is_stable_and_positive():
    assert random_id_for("m-1") == random_id_for("m-1") != random_id_for("m-2")
    assert 0 < random_id_for("m-1") < 2**31


def test_send_maps_vk_errors(connector, provider):
    provider.answer(200, {"error": {"error_code": 901, "error_msg": "Cannot send"}})
    channel = vk(connector, token="TOKEN", base_url=provider.url)
    with pytest.raises(connectors.SendError) as refused:
        channel.send(connectors.OutboundMessage("42", text="Hello"))
    assert refused.value.code == "901" and refused.value.blocks_recipient
    provider.answer(200, {"error": {"error_code": 6, "error_msg": "Too many"}})
    with pytest.raises(connectors.SendError) as limited:
        channel.send(connectors.OutboundMessage("42", text="Hello"))
    assert limited.value.retryable and limited.value.retry_after


def test_send_refuses_a_recipient_that_is_no_peer_id(connector):
    with pytest.raises(connectors.SendError) as refused:
        vk(connector, token="TOKEN").send(connectors.OutboundMessage("anna", text="x"))
    assert refused.value.code == "bad_recipient"
