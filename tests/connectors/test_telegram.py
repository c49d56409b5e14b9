"""Telegram: the secret token header, updates read from their JSON, and
sending through python-telegram-bot against a local Bot API."""

import json
import urllib.parse

import pytest

import connectors
from connectors.telegram import SECRET_HEADER

SECRET = "webhook-secret_1"
USER = {
    "id": 7,
    "is_bot": False,
    "first_name": "Anna",
    "last_name": "K",
    "username": "anna",
    "language_code": "ru",
}
CHAT = {"id": 7, "type": "private"}


def update(update_id=1, kind="message", **message):
    content = dict(
        {"message_id": 10, "date": 1718000000, "chat": CHAT, "from": USER}, **message
    )
    return json.dumps({"update_id": update_id, kind: content}).encode()


def parse(connector, body):
    return connector("telegram", secret=SECRET).parse({}, body, {})


def test_secret_header_is_accepted(connector):
    connector("telegram", secret=SECRET).verify(
        {SECRET_HEADER: SECRET}, update(text="hi"), {}
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: ""}, {SECRET_HEADER: SECRET + "x"}, {SECRET_HEADER: "s"}],
    ids=["missing", "empty", "longer", "forged"],
)
def test_wrong_or_missing_secret_is_refused(connector, headers):
    with pytest.raises(connectors.SignatureError):
        connector("telegram", secret=SECRET).verify(headers, update(text="hi"), {})


def test_channel_without_secret_accepts_nothing(connector):
    with pytest.raises(connectors.SignatureError):
        connector("telegram").verify({SECRET_HEADER: ""}, update(text="hi"), {})


def test_start_command_carries_the_link_utm(connector):
    [event] = parse(connector, update(text="/start ads__cpc__spring"))
    assert isinstance(event, connectors.InboundMessage)
    assert (event.event_id, event.message_id, event.chat_id) == ("1", "7:10", "7")
    assert event.command == "start"
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (
        "ads",
        "cpc",
        "spring",
    )
    assert (event.sender.name, event.sender.username) == ("Anna K", "anna")


def test_photo_keeps_the_largest_size_and_the_caption(connector):
    photo = [
        {"file_id": "small", "width": 90, "height": 90, "file_size": 10},
        {"file_id": "large", "width": 900, "height": 900, "file_size": 99},
    ]
    [event] = parse(connector, update(photo=photo, caption="pic"))
    assert (event.message_type, event.text) == ("image", "pic")
    [attachment] = event.attachments
    assert (attachment.file_id, attachment.size) == ("large", 99)


def test_edit_is_marked_and_dated_by_its_edit(connector):
    [event] = parse(
        connector, update(3, "edited_message", text="fixed", edit_date=1718000100)
    )
    assert event.is_edit and event.message_id == "7:10"
    assert event.date == 1718000100


def test_shared_own_contact_is_a_verified_phone(connector):
    contact = {"phone_number": "+79001234567", "first_name": "Anna", "user_id": 7}
    [event] = parse(connector, update(contact=contact))
    assert event.message_type == "contact"
    assert event.shared_contact.phone == "+79001234567"
    assert event.shared_contact.phone_verified


def test_blocked_bot_is_an_unsubscription(connector):
    member = {
        "chat": CHAT,
        "from": USER,
        "date": 1,
        "old_chat_member": {"status": "member", "user": USER},
        "new_chat_member": {"status": "kicked", "user": USER},
    }
    body = json.dumps({"update_id": 4, "my_chat_member": member}).encode()
    [event] = parse(connector, body)
    assert event.kind == "subscription" and not event.subscribed


def test_unhandled_update_kind_is_ignored(connector):
    body = json.dumps({"update_id": 5, "poll": {"id": "1"}}).encode()
    [event] = parse(connector, body)
    assert event.kind == "ignored" and "poll" in event.reason


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'"text"',
        b'{"update_id": "6", "message": {}}',
        b'{"update_id": true, "message": {}}',
        b'{"update_id": 7, "message": "x"}',
    ],
)
def test_malformed_updates_are_refused(connector, body):
    with pytest.raises(connectors.PayloadError):
        parse(connector, body)


def bot_api(provider):
    provider.route("/getMe", 200, {"ok": True, "result": dict(USER, is_bot=True)})
    return provider


def test_send_goes_to_the_configured_bot_api(connector, provider):
    bot_api(provider).route(
        "/sendMessage",
        200,
        {
            "ok": True,
            "result": {"message_id": 55, "date": 1718000000, "chat": CHAT},
        },
    )
    telegram = connector("telegram", token="123:TOKEN", base_url=provider.url)
    result = telegram.send(connectors.OutboundMessage("7", text="Hello"))
    assert result.message_id == "7:55"
    [send] = [r for r in provider.requests if r[1].endswith("/sendMessage")]
    assert send[1] == "/bot123:TOKEN/sendMessage"
    assert b"Hello" in send[3]


def test_send_maps_a_blocked_bot(connector, provider):
    bot_api(provider).route(
        "/sendMessage",
        403,
        {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        },
    )
    telegram = connector("telegram", token="123:TOKEN", base_url=provider.url)
    with pytest.raises(connectors.SendError) as refused:
        telegram.send(connectors.OutboundMessage("7", text="Hello"))
    assert refused.value.blocks_recipient and not refused.value.retryable


def sent_markup(provider):
    [send] = [r for r in provider.requests if r[1].endswith("/sendMessage")]
    body = send[3].decode()
    fields = (
        json.loads(body) if body.startswith("{") else dict(urllib.parse.parse_qsl(body))
    )
    markup = fields.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else markup


def send_with(connector, provider, **message):
    bot_api(provider).route(
        "/sendMessage",
        200,
        {"ok": True, "result": {"message_id": 56, "date": 1718000000, "chat": CHAT}},
    )
    telegram = connector("telegram", token="123:TOKEN", base_url=provider.url)
    telegram.send(connectors.OutboundMessage("7", text="Question?", **message))
    return sent_markup(provider)


def test_telegram_declares_buttons_and_the_contact_request():
    telegram = connectors.get_connector_class("telegram")
    assert telegram.supports_buttons and telegram.supports_request_contact
    viber = connectors.get_connector_class("viber")
    assert not viber.supports_buttons and not viber.supports_request_contact


def test_long_choices_are_inline_buttons_one_per_row(connector, provider):
    long_choice = "Доставка мебели в загородный дом с подъёмом на этаж"
    markup = send_with(
        connector, provider, choices=["Купить диван", "Ремонт", long_choice]
    )
    rows = markup["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [
        ["Купить диван"],
        ["Ремонт"],
        [long_choice],
    ]
    # callback_data is limited to 64 bytes: a longer choice sends its number.
    assert [row[0]["callback_data"] for row in rows] == ["Купить диван", "Ремонт", "3"]


def test_request_contact_is_a_one_time_reply_keyboard(connector, provider):
    markup = send_with(
        connector, provider, request_contact="Share my phone", choices=["x"]
    )
    assert markup["keyboard"] == [[{"text": "Share my phone", "request_contact": True}]]
    assert markup["one_time_keyboard"] is True
    assert "inline_keyboard" not in markup


def test_plain_text_has_no_keyboard(connector, provider):
    assert send_with(connector, provider) is None
