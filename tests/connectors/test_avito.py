"""Avito Messenger: the secret of the webhook address, webhook v3 bodies,
the token cache, sending text and images, the chat's listing."""

import json

import pytest

import connectors
from connectors.avito import AvitoConnector, biggest_image, listing_of

SECRET = "avito-secret"
USER = "81743640"


def avito(connector, **values):
    extra = values.pop("extra", {"client_id": "client-1"})
    settings = dict(
        secret=SECRET,
        account_ref=USER,
        app_secret="client-secret",
        webhook_url="https://odoo.example.com/omnichannel/webhook/key",
        extra=extra,
    )
    return connector("avito", **dict(settings, **values))


def body(value=None, **envelope):
    data = dict(
        {
            "id": "9f1c5e3a-0b7e-4a7e-8f3d-1c2b3a4d5e6f",
            "version": "v3.0.0",
            "timestamp": 1718000000,
            "payload": {"type": "message", "value": message(**(value or {}))},
        },
        **envelope,
    )
    return json.dumps(data).encode()


def message(**values):
    return dict(
        {
            "id": "a1b2c3",
            "chat_id": "u2i-abc~def",
            "user_id": int(USER),
            "author_id": 94235311,
            "created": 1718000000,
            "type": "text",
            "chat_type": "u2i",
            "content": {"text": "Здравствуйте, шкаф ещё продаётся?"},
            "item_id": 1768287444,
            "published_at": "2024-06-10T06:13:20Z",
        },
        **values,
    )


@pytest.fixture(autouse=True)
def no_cached_tokens():
    AvitoConnector.forget_tokens()
    yield
    AvitoConnector.forget_tokens()


def test_secret_in_the_query_is_accepted(connector):
    avito(connector).verify({}, body(), {"secret": SECRET})


@pytest.mark.parametrize(
    "query", [{}, {"secret": ""}, {"secret": "avito-secreT"}, {"token": SECRET}]
)
def test_missing_or_forged_secret_is_refused(connector, query):
    with pytest.raises(connectors.SignatureError):
        avito(connector).verify({}, body(), query)


def test_channel_without_secret_accepts_nothing(connector):
    with pytest.raises(connectors.SignatureError):
        avito(connector, secret="").verify({}, body(), {"secret": ""})


def test_webhook_address_carries_the_secret(connector):
    assert avito(connector).webhook_address() == (
        "https://odoo.example.com/omnichannel/webhook/key?secret=avito-secret"
    )


def test_text_message(connector):
    (event,) = avito(connector).parse({}, body(), {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.event_id, event.message_id, event.chat_id) == (
        "msg:a1b2c3",
        "a1b2c3",
        "u2i-abc~def",
    )
    assert event.sender.user_id == "94235311"
    assert event.text == "Здравствуйте, шкаф ещё продаётся?"
    assert event.date == 1718000000.0
    connectors.check_events([event])


def test_image_takes_the_biggest_size(connector):
    sizes = {
        "140x105": "https://00.img.avito.st/image/1/small.jpg",
        "1280x960": "https://00.img.avito.st/image/1/big.jpg",
        "640x480": "https://00.img.avito.st/image/1/mid.jpg",
    }
    (event,) = avito(connector).parse(
        {}, body({"type": "image", "content": {"image": {"sizes": sizes}}}), {}
    )
    assert event.message_type == "image"
    (attachment,) = event.attachments
    assert attachment.url.endswith("/big.jpg")
    assert attachment.kind == "image"
    assert biggest_image({}) == ""


def test_images_come_from_avito_hosts_only(connector):
    conn = avito(connector)
    with pytest.raises(connectors.ConnectorError):
        conn.fetch_media(
            connectors.Attachment("image", url="https://evil.example.com/x.jpg")
        )


def test_own_message_is_a_status_and_system_is_ignored(connector):
    (echo,) = avito(connector).parse({}, body({"author_id": int(USER)}), {})
    assert (echo.kind, echo.message_id, echo.status) == ("status", "a1b2c3", "sent")
    (system,) = avito(connector).parse(
        {},
        body({"type": "system", "author_id": 0, "content": {"text": "Покупатель"}}),
        {},
    )
    assert system.kind == "ignored"
    (deleted,) = avito(connector).parse({}, body({"type": "deleted"}), {})
    assert (deleted.kind, deleted.message_id) == ("revoke", "a1b2c3")
    assert deleted.event_id != "msg:a1b2c3"


def test_other_notifications_and_the_address_check_are_ignored(connector):
    (event,) = avito(connector).parse({}, b"{}", {})
    assert event.kind == "ignored"
    raw = json.dumps({"id": "x1", "payload": {"type": "chat_read", "value": {}}})
    (event,) = avito(connector).parse({}, raw.encode(), {})
    assert event.kind == "ignored" and event.event_id == "x1"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "1"}',
        b'{"payload": {"type": "message", "value": [1]}}',
        json.dumps({"payload": {"type": "message", "value": {"id": "1"}}}).encode(),
        body({"chat_id": ["x"]}),
        body({"user_id": 1}),
    ],
)
def test_malformed_bodies(connector, raw):
    with pytest.raises(connectors.PayloadError):
        avito(connector).parse({}, raw, {})


def test_not_json_is_refused_by_the_format_check(connector):
    with pytest.raises(connectors.PayloadError):
        avito(connector).check_format({}, b"{oops", {})


def test_listing_of_a_chat():
    chat = {
        "id": "u2i-abc~def",
        "context": {
            "type": "item",
            "value": {
                "id": 1768287444,
                "title": "Шкаф-купе 2 м",
                "url": "https://www.avito.ru/moskva/mebel/shkaf_1768287444",
                "price_string": "15 000 ₽",
                "user_id": int(USER),
            },
        },
    }
    assert listing_of(chat) == {
        "id": "1768287444",
        "title": "Шкаф-купе 2 м",
        "url": "https://www.avito.ru/moskva/mebel/shkaf_1768287444",
        "price": "15 000 ₽",
    }
    assert listing_of({"context": {"type": "user"}}) == {}


def test_token_is_fetched_once_and_sent_as_bearer(connector, provider):
    provider.route("/token", body={"access_token": "tok-1", "expires_in": 86400})
    provider.route("/messages", body={"id": "m1", "type": "text"})
    conn = avito(connector, base_url=provider.url)
    for text in ("one", "two"):
        result = conn.send(connectors.OutboundMessage("u2i-abc~def", text=text))
        assert result.message_id == "m1"
    tokens = [r for r in provider.requests if r[1] == "/token"]
    assert len(tokens) == 1, "the token is cached"
    assert b"grant_type=client_credentials" in tokens[0][3]
    sends = [r for r in provider.requests if r[1].endswith("/messages")]
    assert sends[0][1] == f"/messenger/v1/accounts/{USER}/chats/u2i-abc~def/messages"
    assert sends[0][2]["Authorization"] == "Bearer tok-1"
    assert json.loads(sends[1][3]) == {"message": {"text": "two"}, "type": "text"}


def test_expired_token_is_fetched_again_once(connector, provider):
    provider.route("/token", body={"access_token": "tok-2", "expires_in": 86400})
    provider.answer(401, {"error": {"code": 401, "message": "token expired"}})
    provider.answer(200, {"id": "m2"})
    conn = avito(connector, base_url=provider.url)
    assert conn.send(connectors.OutboundMessage("c1", text="hi")).message_id == "m2"
    assert len([r for r in provider.requests if r[1] == "/token"]) == 2


def test_refused_credentials_do_not_show_the_secret(connector, provider):
    provider.route(
        "/token", status=400, body={"error": "invalid_client", "error_description": ""}
    )
    with pytest.raises(connectors.SendError) as caught:
        avito(connector, base_url=provider.url).send(
            connectors.OutboundMessage("c1", text="hi")
        )
    assert caught.value.code == "auth"
    assert "client-secret" not in str(caught.value)


def test_image_is_uploaded_then_sent_by_id(connector, provider):
    provider.route("/token", body={"access_token": "tok", "expires_in": 86400})
    provider.route(
        "/uploadImages",
        body={"12345.abc": {"1280x960": "https://00.img.avito.st/image/1/x"}},
    )
    provider.route("/messages/image", body={"id": "img-1", "type": "image"})
    provider.route("/messages", body={"id": "txt-1", "type": "text"})
    result = avito(connector, base_url=provider.url).send(
        connectors.OutboundMessage(
            "c1",
            text="Фото",
            attachments=[
                connectors.OutboundAttachment("sofa.png", "image/png", b"\x89PNG")
            ],
        )
    )
    assert result.message_id == "txt-1"
    upload = next(r for r in provider.requests if r[1].endswith("/uploadImages"))
    assert b'name="uploadfile[]"' in upload[3] and b"\x89PNG" in upload[3]
    image = next(r for r in provider.requests if r[1].endswith("/messages/image"))
    assert json.loads(image[3]) == {"image_id": "12345.abc"}


def test_missing_settings_are_clear(connector):
    with pytest.raises(connectors.SendError) as caught:
        avito(connector, extra={}).send(connectors.OutboundMessage("c1", text="x"))
    assert caught.value.code == "config"
