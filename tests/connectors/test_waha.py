"""WAHA (self-hosted WhatsApp Web gateway): HMAC-SHA512 webhooks, events,
sending, session status and QR code."""

import base64
import hashlib
import hmac
import json

import pytest

import connectors
from connectors.waha import ALGORITHM_HEADER, HMAC_HEADER, SessionStatus

KEY = "waha-hmac-key"
API_KEY = "waha-api-key"
SESSION = "sales"


def sign(body, key=KEY):
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def headers_for(body, key=KEY):
    return {HMAC_HEADER: sign(body, key), ALGORITHM_HEADER: "sha512"}


def event(kind, payload, **extra):
    data = {
        "id": "evt_01jnq5m3k1f0v6d2h8a7qv9c4e",
        "timestamp": 1741249702485,
        "event": kind,
        "session": SESSION,
        "me": {"id": "74950000000@c.us", "pushName": "Shop"},
        "payload": payload,
        "engine": "WEBJS",
    }
    data.update(extra)
    return json.dumps(data).encode()


def text_payload(**fields):
    payload = {
        "id": "false_79161234567@c.us_3EB0C767D097B7C7C030",
        "timestamp": 1741249702,
        "from": "79161234567@c.us",
        "fromMe": False,
        "to": "74950000000@c.us",
        "body": "Здравствуйте, диван в наличии?",
        "hasMedia": False,
        "ack": 1,
        "_data": {"notifyName": "Anna"},
    }
    payload.update(fields)
    return payload


@pytest.fixture
def waha(connector):
    def make(**values):
        values = dict(
            {"token": API_KEY, "secret": KEY, "account_ref": SESSION}, **values
        )
        return connector("whatsapp_waha", **values)

    return make


def test_type_is_registered_with_its_settings():
    cls = connectors.get_connector_class("whatsapp_waha")
    assert cls.label == "WhatsApp (WAHA gateway)"
    assert cls.user_ids_are_global
    assert set(cls.common_settings) == {"webhook_secret", "api_base_url"}
    assert cls.media_hosts == ()


def test_documented_hmac_example_is_accepted(waha):
    # The example of the Events page: body, key and the HMAC it gives.
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    expected = (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )
    waha(secret="my-secret-key").verify(
        {HMAC_HEADER: expected, ALGORITHM_HEADER: "sha512"}, body, {}
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {HMAC_HEADER: "abc", ALGORITHM_HEADER: "sha512"},
        {HMAC_HEADER: sign(b"{}")},  # no algorithm
        {HMAC_HEADER: sign(b"{}"), ALGORITHM_HEADER: "sha256"},
        {HMAC_HEADER: sign(b"{}", "other-key"), ALGORITHM_HEADER: "sha512"},
    ],
)
def test_forged_or_missing_hmac_is_refused(waha, headers):
    with pytest.raises(connectors.SignatureError):
        waha().verify(headers, b"{}", {})


def test_channel_without_hmac_key_accepts_nothing(waha):
    with pytest.raises(connectors.SignatureError):
        waha(secret="").verify(headers_for(b"{}", ""), b"{}", {})


def test_text_message_gives_a_verified_phone(waha):
    [message] = waha().parse({}, event("message", text_payload()), {})
    assert isinstance(message, connectors.InboundMessage)
    assert message.event_id == "msg:false_79161234567@c.us_3EB0C767D097B7C7C030"
    assert message.message_id == "3EB0C767D097B7C7C030"
    assert message.chat_id == "79161234567@c.us"
    assert message.text == "Здравствуйте, диван в наличии?"
    assert message.date == 1741249702
    sender = message.sender
    # The same user id and phone as a Cloud API wa_id 79161234567.
    assert (sender.user_id, sender.phone, sender.phone_verified, sender.name) == (
        "79161234567",
        "+79161234567",
        True,
        "Anna",
    )
    connectors.check_events([message])


def test_message_any_is_the_same_event(waha):
    [one] = waha().parse({}, event("message", text_payload()), {})
    [two] = waha().parse({}, event("message.any", text_payload()), {})
    assert one.event_id == two.event_id


def test_media_message_names_the_gateway_url(waha):
    url = "http://waha.local:3000/api/files/sales/3EB0C767D097B7C7C030.pdf"
    [message] = waha().parse(
        {},
        event(
            "message",
            text_payload(
                body="the spec",
                hasMedia=True,
                media={
                    "url": url,
                    "mimetype": "application/pdf",
                    "filename": "spec.pdf",
                    "error": None,
                },
            ),
        ),
        {},
    )
    assert message.message_type == "document"
    assert message.text == "the spec"
    [attachment] = message.attachments
    assert (attachment.url, attachment.filename, attachment.mimetype) == (
        url,
        "spec.pdf",
        "application/pdf",
    )


def test_media_the_gateway_did_not_keep_is_noted(waha):
    [message] = waha().parse(
        {},
        event(
            "message",
            text_payload(
                body="", hasMedia=True, media={"url": None, "mimetype": "image/jpeg"}
            ),
        ),
        {},
    )
    assert message.message_type == "image"
    assert not message.attachments
    assert "did not keep this file" in message.note


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"fromMe": True}, "paired phone"),
        ({"from": "120363025246125486@g.us"}, "one-to-one"),
        ({"from": "status@broadcast"}, "one-to-one"),
    ],
)
def test_own_group_and_status_messages_are_ignored(waha, fields, reason):
    [ignored] = waha().parse({}, event("message", text_payload(**fields)), {})
    assert isinstance(ignored, connectors.IgnoredEvent)
    assert reason in ignored.reason


def test_hidden_lid_sender_has_no_phone(waha):
    [message] = waha().parse(
        {}, event("message", text_payload(**{"from": "123456789012345@lid"})), {}
    )
    assert message.sender.user_id == "123456789012345@lid"
    assert (message.sender.phone, message.sender.phone_verified) == ("", False)


def test_event_of_another_session_is_ignored(waha):
    [ignored] = waha().parse({}, event("message", text_payload(), session="other"), {})
    assert isinstance(ignored, connectors.IgnoredEvent)
    assert "other" in ignored.reason


@pytest.mark.parametrize(
    "ack, status",
    [
        ({"ack": 1, "ackName": "SERVER"}, "sent"),
        ({"ack": 2, "ackName": "DEVICE"}, "delivered"),
        ({"ack": 3, "ackName": "READ"}, "read"),
        ({"ack": 4, "ackName": "PLAYED"}, "read"),
        ({"ack": -1, "ackName": "ERROR"}, "failed"),
        ({"ack": 3}, "read"),
    ],
)
def test_acks_become_delivery_statuses(waha, ack, status):
    payload = dict(
        {
            "id": "true_79161234567@c.us_BAE5F2EF5C69001E",
            "from": "79161234567@c.us",
            "participant": None,
            "fromMe": True,
        },
        **ack,
    )
    [report] = waha().parse({}, event("message.ack", payload), {})
    assert isinstance(report, connectors.events.DeliveryStatus)
    assert (report.message_id, report.status) == ("BAE5F2EF5C69001E", status)


def test_pending_ack_and_acks_of_customer_messages_are_ignored(waha):
    pending = {"id": "true_7@c.us_X1", "fromMe": True, "ack": 0, "ackName": "PENDING"}
    theirs = {"id": "false_7@c.us_X2", "fromMe": False, "ack": 3, "ackName": "READ"}
    for payload in (pending, theirs):
        [ignored] = waha().parse({}, event("message.ack", payload), {})
        assert isinstance(ignored, connectors.IgnoredEvent)


def test_session_status_becomes_a_connection_event(waha):
    payload = {
        "status": "FAILED",
        "statuses": [
            {"status": "STARTING", "timestamp": 1700000002000},
            {"status": "WORKING", "timestamp": 1700000003000},
            {"status": "FAILED", "timestamp": 1700000004000},
        ],
        "data": None,
    }
    [status] = waha().parse({}, event("session.status", payload), {})
    assert isinstance(status, SessionStatus)
    assert (status.status, status.session, status.date) == (
        "FAILED",
        SESSION,
        1700000004,
    )
    assert status.event_id == "session:FAILED:1700000004000"
    stored = connectors.event_from_dict(connectors.event_to_dict(status))
    assert stored == status


def test_other_events_are_ignored(waha):
    [ignored] = waha().parse(
        {}, event("presence.update", {"id": "7@c.us", "presences": []}), {}
    )
    assert isinstance(ignored, connectors.IgnoredEvent)


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": 5, "session": "sales", "payload": {}}',
        b'{"event": "message", "session": "sales", "payload": []}',
        b'{"event": "message", "payload": {}}',
        event("message", {"from": "7@c.us"}),
        event("message.ack", {"id": "true_7@c.us_X", "fromMe": True}),
        event("session.status", {"statuses": []}),
    ],
)
def test_unreadable_bodies_raise_payload_errors(waha, body):
    with pytest.raises(connectors.PayloadError):
        waha().parse({}, body, {})


def test_send_text_with_api_key_and_session(waha, provider):
    provider.answer(
        201,
        {
            "id": {
                "fromMe": True,
                "remote": "79161234567@c.us",
                "id": "BAE5F2EF5C69001E",
                "_serialized": "true_79161234567@c.us_BAE5F2EF5C69001E",
            },
            "body": "Есть",
        },
    )
    result = waha(base_url=provider.url).send(
        connectors.OutboundMessage("79161234567@c.us", text="Есть")
    )
    assert (result.message_id, result.status) == ("BAE5F2EF5C69001E", "sent")
    [(method, path, headers, body)] = provider.requests
    assert (method, path, headers["X-Api-Key"]) == ("POST", "/api/sendText", API_KEY)
    assert json.loads(body) == {
        "session": SESSION,
        "chatId": "79161234567@c.us",
        "text": "Есть",
    }


def test_send_files_image_and_document_with_caption(waha, provider):
    provider.answer(201, {"key": {"id": "3EB0AAAA", "fromMe": True}})
    provider.answer(201, {"id": "true_79161234567@c.us_3EB0BBBB"})
    result = waha(base_url=provider.url).send(
        connectors.OutboundMessage(
            "79161234567",
            text="photo and offer",
            attachments=[
                connectors.OutboundAttachment("sofa.png", "image/png", b"PNGDATA"),
                connectors.OutboundAttachment("offer.pdf", "application/pdf", b"%PDF"),
            ],
        )
    )
    assert result.message_id == "3EB0AAAA"
    image, document = provider.json_bodies()
    assert [p for _m, p, _h, _b in provider.requests] == [
        "/api/sendImage",
        "/api/sendFile",
    ]
    assert image["chatId"] == "79161234567@c.us"
    assert image["caption"] == "photo and offer"
    assert image["file"] == {
        "mimetype": "image/png",
        "filename": "sofa.png",
        "data": base64.b64encode(b"PNGDATA").decode(),
    }
    assert "caption" not in document
    assert document["file"]["filename"] == "offer.pdf"


def test_send_refusals(waha, provider):
    provider.answer(422, {"message": "Session status is not as expected"})
    with pytest.raises(connectors.SendError) as down:
        waha(base_url=provider.url).send(connectors.OutboundMessage("7@c.us", text="x"))
    assert down.value.retryable, "the phone reconnects: the message waits"
    provider.answer(401, {"message": "Unauthorized"})
    with pytest.raises(connectors.SendError) as refused:
        waha(base_url=provider.url).send(connectors.OutboundMessage("7@c.us", text="x"))
    assert not refused.value.retryable
    with pytest.raises(connectors.SendError):
        waha(base_url=provider.url, token="").send(
            connectors.OutboundMessage("7@c.us", text="x")
        )


def test_session_info_and_qr(waha, provider):
    provider.route(
        "/api/sessions/" + SESSION,
        body={
            "name": SESSION,
            "status": "WORKING",
            "me": {"id": "74950000000@c.us", "pushName": "Shop"},
            "config": {
                "webhooks": [
                    {
                        "url": "https://odoo/w",
                        "events": ["message"],
                        "hmac": {"key": "k"},
                    }
                ]
            },
        },
    )
    provider.route(
        f"/api/{SESSION}/auth/qr",
        body=b"\x89PNGQR",
        headers={"Content-Type": "image/png"},
    )
    gateway = waha(base_url=provider.url)
    info = gateway.session_info()
    assert (info["status"], info["me"], info["signed"]) == (
        "WORKING",
        "74950000000@c.us",
        ["https://odoo/w"],
    )
    assert gateway.qr_image() == (b"\x89PNGQR", "image/png")
    _m, path, headers, _b = provider.requests[-1]
    assert path == f"/api/{SESSION}/auth/qr?format=image"
    assert headers["X-Api-Key"] == API_KEY


def test_unknown_session_is_said(waha, provider):
    provider.answer(404, {"message": "Session not found"})
    with pytest.raises(connectors.ConnectorError, match="no session named"):
        waha(base_url=provider.url).session_info()


def test_media_is_fetched_from_the_gateway_with_the_api_key(waha, provider):
    provider.answer(200, b"%PDF-1.4", {"Content-Type": "application/pdf"})
    gateway = waha(base_url=provider.url)
    attachment = connectors.Attachment(
        "document", url=provider.url + "/api/files/sales/x.pdf", filename="x.pdf"
    )
    assert gateway.fetch_media(attachment) == (b"%PDF-1.4", "application/pdf", "x.pdf")
    assert provider.requests[-1][2]["X-Api-Key"] == API_KEY


def test_media_elsewhere_is_refused(waha, provider):
    attachment = connectors.Attachment(
        "document", url="https://evil.example.com/x.pdf", filename="x.pdf"
    )
    with pytest.raises(connectors.ConnectorError):
        waha(base_url=provider.url).fetch_media(attachment)
    assert not provider.requests
