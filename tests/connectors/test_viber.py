"""Viber: HMAC-SHA256 of the body keyed with the bot token, callbacks, send."""

import hashlib
import hmac
import json

import pytest

import connectors
from connectors.viber import SIGNATURE_HEADER

TOKEN = "viber-token"


def sign(body, token=TOKEN):
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def message_body(**message):
    return json.dumps(
        {
            "event": "message",
            "timestamp": 1718000000123,
            "message_token": 5741311803571721087,
            "sender": {"id": "01234567890A=", "name": "Anna", "language": "ru"},
            "message": dict({"type": "text", "text": "Hello"}, **message),
        }
    ).encode()


def test_good_signature_is_accepted(connector):
    body = message_body()
    connector("viber", token=TOKEN).verify(
        {SIGNATURE_HEADER: sign(body).upper()}, body, {}
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {SIGNATURE_HEADER: ""}, {SIGNATURE_HEADER: "0" * 64}],
    ids=["missing", "empty", "forged"],
)
def test_forged_or_missing_signature_is_refused(connector, headers):
    with pytest.raises(connectors.SignatureError):
        connector("viber", token=TOKEN).verify(headers, message_body(), {})


def test_signature_of_another_token_or_body_is_refused(connector):
    body = message_body()
    viber = connector("viber", token=TOKEN)
    with pytest.raises(connectors.SignatureError):
        viber.verify({SIGNATURE_HEADER: sign(body, "other")}, body, {})
    with pytest.raises(connectors.SignatureError):
        viber.verify({SIGNATURE_HEADER: sign(body)}, message_body(text="Hi"), {})


def test_channel_without_token_accepts_nothing(connector):
    body = message_body()
    with pytest.raises(connectors.SignatureError):
        connector("viber").verify({SIGNATURE_HEADER: sign(body, "")}, body, {})


def test_text_message_is_parsed(connector):
    [event] = connector("viber", token=TOKEN).parse({}, message_body(), {})
    assert isinstance(event, connectors.InboundMessage)
    assert event.event_id == "message:5741311803571721087"
    assert event.message_id == "5741311803571721087"
    assert event.sender.user_id == event.chat_id == "01234567890A="
    assert (event.sender.name, event.sender.language) == ("Anna", "ru")
    assert event.text == "Hello"
    assert event.date == pytest.approx(1718000000.123)


def test_picture_message_names_its_file(connector):
    body = message_body(
        type="picture", text="", media="https://dl-media.viber.com/1/a.jpg"
    )
    [event] = connector("viber", token=TOKEN).parse({}, body, {})
    assert event.message_type == "image"
    [attachment] = event.attachments
    assert attachment.url == "https://dl-media.viber.com/1/a.jpg"
    assert attachment.mimetype.startswith("image/")


def test_location_message(connector):
    body = message_body(type="location", location={"lat": 55.75, "lon": 37.61})
    [event] = connector("viber", token=TOKEN).parse({}, body, {})
    assert event.message_type == "location"
    assert (event.location.latitude, event.location.longitude) == (55.75, 37.61)


def test_delivery_and_unsubscribe_callbacks(connector):
    viber = connector("viber", token=TOKEN)
    delivered = json.dumps(
        {
            "event": "delivered",
            "timestamp": 1718000000000,
            "message_token": 42,
            "user_id": "01234567890A=",
        }
    ).encode()
    [status] = viber.parse({}, delivered, {})
    assert isinstance(status, connectors.SendResult) is False
    assert (status.message_id, status.status) == ("42", "delivered")
    unsubscribed = json.dumps(
        {"event": "unsubscribed", "timestamp": 1, "user_id": "01234567890A="}
    ).encode()
    [event] = viber.parse({}, unsubscribed, {})
    assert event.kind == "subscription" and event.subscribed is False


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"event": 1}',
        b'{"event": "delivered", "timestamp": 1}',
        b'{"event": "message", "message_token": 1, "message": {"type": "text"}}',
        b'{"event": "message", "message_token": [1], "sender": {"id": "a"},'
        b' "message": {"type": "text"}}',
    ],
)
def test_malformed_bodies_are_refused(connector, body):
    with pytest.raises(connectors.PayloadError):
        connector("viber", token=TOKEN).parse({}, body, {})


def test_send_posts_the_text_with_the_token_header(connector, provider):
    provider.answer(200, {"status": 0, "message_token": 987})
    viber = connector("viber", token=TOKEN, base_url=provider.url + "/pa/")
    result = viber.send(connectors.OutboundMessage("01234567890A=", text="Hi"))
    assert result.message_id == "987"
    [(method, path, headers, body)] = provider.requests
    assert (method, path) == ("POST", "/pa/send_message")
    assert headers["X-Viber-Auth-Token"] == TOKEN
    assert json.loads(body)["text"] == "Hi"
    assert json.loads(body)["receiver"] == "01234567890A="


def test_send_maps_viber_refusals(connector, provider):
    provider.answer(200, {"status": 6, "status_message": "notSubscribed"})
    viber = connector("viber", token=TOKEN, base_url=provider.url)
    with pytest.raises(connectors.SendError) as refused:
        viber.send(connectors.OutboundMessage("u", text="Hi"))
    assert refused.value.code == "6"
    assert refused.value.blocks_recipient


def test_send_maps_http_failures(connector, provider):
    viber = connector("viber", token=TOKEN, base_url=provider.url)
    provider.answer(503, {})
    with pytest.raises(connectors.SendError) as down:
        viber.send(connectors.OutboundMessage("u", text="Hi"))
    assert (down.value.code, down.value.retryable) == ("http_503", True)
    provider.answer(429, {}, {"Retry-After": "7"})
    with pytest.raises(connectors.SendError) as limited:
        viber.send(connectors.OutboundMessage("u", text="Hi"))
    assert limited.value.retry_after == 7.0


def test_unreachable_provider_is_a_retryable_network_error(connector, provider):
    url = provider.url
    provider.shutdown()
    provider.server_close()
    viber = connector("viber", token=TOKEN, base_url=url)
    with pytest.raises(connectors.SendError) as unreachable:
        viber.send(connectors.OutboundMessage("u", text="Hi"))
    assert (unreachable.value.code, unreachable.value.retryable) == ("network", True)
    assert "could not reach the provider (ConnectionError)" in str(unreachable.value)


def test_media_is_downloaded_from_the_api_host_only(connector, provider):
    provider.answer(200, b"JPEGDATA", {"Content-Type": "image/jpeg"})
    viber = connector("viber", token=TOKEN, base_url=provider.url)
    attachment = connectors.Attachment("image", url=provider.url + "/m/a.jpg")
    assert viber.fetch_media(attachment) == (b"JPEGDATA", "image/jpeg", "file")
    elsewhere = connectors.Attachment("image", url="https://evil.example/a.jpg")
    with pytest.raises(connectors.ConnectorError):
        viber.fetch_media(elsewhere)
