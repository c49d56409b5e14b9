"""WhatsApp Cloud API: Meta's signature and handshake, messages and
statuses, and the Graph API calls of sending."""

import json

import pytest
from meta_common import APP_SECRET, SIGNATURE_HEADER, encode, sign

import connectors

PHONE_NUMBER_ID = "PN1"


def webhook(**value):
    metadata = {"display_phone_number": "15550001111", "phone_number_id": "PN1"}
    value = dict({"messaging_product": "whatsapp", "metadata": metadata}, **value)
    change = {"field": "messages", "value": value}
    entry = {"id": "WABA1", "changes": [change]}
    return encode({"object": "whatsapp_business_account", "entry": [entry]})


def text_message(text="Hi"):
    return webhook(
        contacts=[{"profile": {"name": "Anna"}, "wa_id": "79001234567"}],
        messages=[
            {
                "from": "79001234567",
                "id": "wamid.1",
                "timestamp": "1718000000",
                "type": "text",
                "text": {"body": text},
            }
        ],
    )


def whatsapp(connector, **values):
    settings = dict(app_secret=APP_SECRET, verify_token="verify-me")
    return connector("whatsapp", **dict(settings, **values))


def test_good_signature_is_accepted(connector):
    body = text_message()
    whatsapp(connector).verify({SIGNATURE_HEADER: sign(body)}, body, {})


@pytest.mark.parametrize(
    "given",
    ["", "sha256=", sign(b"other body"), sign(text_message(), "other secret")],
    ids=["missing", "empty-digest", "other-body", "other-secret"],
)
def test_forged_or_missing_signature_is_refused(connector, given):
    with pytest.raises(connectors.SignatureError):
        whatsapp(connector).verify({SIGNATURE_HEADER: given}, text_message(), {})


def test_channel_without_app_secret_accepts_nothing(connector):
    body = text_message()
    with pytest.raises(connectors.SignatureError):
        whatsapp(connector, app_secret="").verify(
            {SIGNATURE_HEADER: sign(body, "")}, body, {}
        )


def test_subscription_handshake(connector):
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me"}
    answer = whatsapp(connector).handshake(
        "GET", {}, dict(query, **{"hub.challenge": "1158201444"}), b""
    )
    assert (answer.status, answer.body) == (200, "1158201444")
    with pytest.raises(connectors.SignatureError):
        whatsapp(connector).handshake(
            "GET", {}, dict(query, **{"hub.verify_token": "guess"}), b""
        )
    assert whatsapp(connector).handshake("POST", {}, {}, text_message()) is None


def test_text_message_comes_from_a_verified_number(connector):
    [event] = whatsapp(connector).parse({}, text_message(), {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.event_id, event.chat_id, event.text) == (
        "wamid.1",
        "79001234567",
        "Hi",
    )
    assert event.account_ref == PHONE_NUMBER_ID
    assert event.sender.name == "Anna"
    assert event.sender.phone == "+79001234567" and event.sender.phone_verified


def test_statuses_are_delivery_reports(connector):
    read = {
        "id": "wamid.2",
        "status": "read",
        "timestamp": "1718000001",
        "recipient_id": "79001234567",
    }
    failed = dict(
        read,
        id="wamid.3",
        status="failed",
        errors=[{"code": 131047, "title": "Re-engagement message"}],
    )
    events = whatsapp(connector).parse({}, webhook(statuses=[read, failed]), {})
    assert [(e.message_id, e.status) for e in events] == [
        ("wamid.2", "read"),
        ("wamid.3", "failed"),
    ]
    assert events[1].error_code == "131047"


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": ["x"]},
    ],
)
def test_malformed_bodies_are_refused(connector, data):
    with pytest.raises(connectors.PayloadError):
        whatsapp(connector).parse({}, encode(data), {})


def test_body_of_another_product_is_not_this_format(connector):
    with pytest.raises(connectors.PayloadError):
        whatsapp(connector).check_format({}, encode({"object": "page"}), {})


def test_send_posts_to_the_phone_number_with_a_bearer_token(connector, provider):
    provider.answer(200, {"messages": [{"id": "wamid.OUT"}]})
    channel = whatsapp(
        connector, token="TOKEN", account_ref=PHONE_NUMBER_ID, base_url=provider.url
    )
    result = channel.send(connectors.OutboundMessage("79001234567", text="Hello"))
    assert result.message_id == "wamid.OUT"
    [(method, path, headers, raw)] = provider.requests
    assert (method, path) == ("POST", "/PN1/messages")
    assert headers["Authorization"] == "Bearer TOKEN"
    sent = json.loads(raw)
    assert (sent["to"], sent["type"], sent["text"]["body"]) == (
        "79001234567",
        "text",
        "Hello",
    )


def test_send_maps_graph_errors(connector, provider):
    error = {
        "message": "Re-engagement message",
        "code": 131047,
        "type": "OAuthException",
    }
    provider.answer(400, {"error": error})
    channel = whatsapp(
        connector, token="TOKEN", account_ref=PHONE_NUMBER_ID, base_url=provider.url
    )
    with pytest.raises(connectors.SendError) as refused:
        channel.send(connectors.OutboundMessage("79001234567", text="Hello"))
    assert refused.value.code == "131047"
    assert "Re-engagement message" in refused.value.message


def test_media_is_fetched_with_the_token_from_its_graph_address(connector, provider):
    provider.route(
        "/MEDIA1",
        200,
        {"url": provider.url + "/file/MEDIA1", "mime_type": "image/jpeg"},
    )
    provider.route("/file/MEDIA1", 200, b"JPEG", {"Content-Type": "image/jpeg"})
    channel = whatsapp(connector, token="TOKEN", base_url=provider.url)
    attachment = connectors.Attachment("image", file_id="MEDIA1", filename="a.jpg")
    data, mimetype, _filename = channel.fetch_media(attachment)
    assert (data, mimetype) == (b"JPEG", "image/jpeg")
    download = provider.requests[-1]
    assert download[1] == "/file/MEDIA1"
    assert download[2]["Authorization"] == "Bearer TOKEN"
