"""Messenger and Instagram Direct (one connector family): Meta's signature,
messaging items, referrals, echoes, and the Send API."""

import json

import pytest
from meta_common import APP_SECRET, SIGNATURE_HEADER, encode, sign

import connectors

PAGE = "PAGE1"


def webhook(item, product="page", account=PAGE):
    item = dict(
        {
            "sender": {"id": "PSID1"},
            "recipient": {"id": account},
            "timestamp": 1718000000000,
        },
        **item,
    )
    entry = {"id": account, "time": 1718000000000, "messaging": [item]}
    return encode({"object": product, "entry": [entry]})


def page(connector, code="messenger", **values):
    return connector(code, **dict(dict(app_secret=APP_SECRET), **values))


def test_good_signature_is_accepted(connector):
    body = webhook({"message": {"mid": "m_1", "text": "Hello"}})
    page(connector).verify({SIGNATURE_HEADER: sign(body)}, body, {})
    page(connector, "instagram").verify({SIGNATURE_HEADER: sign(body)}, body, {})


@pytest.mark.parametrize("code", ["messenger", "instagram"])
def test_forged_or_missing_signature_is_refused(connector, code):
    body = webhook({"message": {"mid": "m_1", "text": "Hello"}})
    for headers in ({}, {SIGNATURE_HEADER: sign(body, "x")}, {SIGNATURE_HEADER: "x"}):
        with pytest.raises(connectors.SignatureError):
            page(connector, code).verify(headers, body, {})


def test_text_message(connector):
    body = webhook({"message": {"mid": "m_1", "text": "Hello"}})
    [event] = page(connector).parse({}, body, {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.message_id, event.chat_id, event.text) == ("m_1", "PSID1", "Hello")
    assert event.account_ref == PAGE
    # A page-scoped id is nobody's verified phone or email.
    assert not (event.sender.phone_verified or event.sender.email_verified)


def test_echo_of_the_page_is_ignored(connector):
    body = webhook({"message": {"mid": "m_2", "is_echo": True, "text": "ours"}})
    [event] = page(connector).parse({}, body, {})
    assert event.kind == "ignored" and "echo" in event.reason


def test_delivery_watermark_reports_each_message(connector):
    body = webhook({"delivery": {"mids": ["m_8", "m_9"], "watermark": 1718000000000}})
    events = page(connector).parse({}, body, {})
    assert [(e.message_id, e.status) for e in events] == [
        ("m_8", "delivered"),
        ("m_9", "delivered"),
    ]


def test_ad_referral_describes_the_lead(connector):
    referral = {"ref": "fb__ad__spring", "source": "ADS", "type": "OPEN_THREAD"}
    [event] = page(connector).parse({}, webhook({"referral": referral}), {})
    assert event.kind == "referral"
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (
        "fb",
        "ad",
        "spring",
    )


def test_image_attachment_keeps_its_cdn_address(connector):
    url = "https://scontent.xx.fbcdn.net/v/a.jpg?oh=1"
    attachment = {"type": "image", "payload": {"url": url}}
    body = webhook({"message": {"mid": "m_3", "attachments": [attachment]}})
    [event] = page(connector).parse({}, body, {})
    assert event.message_type == "image"
    assert event.attachments[0].url == url


def test_instagram_reads_its_own_product_only(connector):
    body = webhook({"message": {"mid": "ig_1", "text": "Oi"}}, "instagram", "IG1")
    [event] = page(connector, "instagram").parse({}, body, {})
    assert (event.message_id, event.account_ref) == ("ig_1", "IG1")
    with pytest.raises(connectors.PayloadError):
        page(connector, "instagram").parse({}, webhook({"message": {}}), {})
    with pytest.raises(connectors.PayloadError):
        page(connector).parse({}, body, {})


@pytest.mark.parametrize(
    "raw",
    [b"{}", b"null", b'{"object": "page", "entry": [1]}', b'{"object": "page"}'],
)
def test_malformed_bodies_are_refused(connector, raw):
    with pytest.raises(connectors.PayloadError):
        page(connector).parse({}, raw, {})


def test_send_posts_to_me_messages_with_a_response_type(connector, provider):
    provider.answer(200, {"recipient_id": "PSID1", "message_id": "m_OUT"})
    channel = page(connector, token="PAGE_TOKEN", base_url=provider.url)
    result = channel.send(connectors.OutboundMessage("PSID1", text="Hello"))
    assert result.message_id == "m_OUT"
    [(method, path, headers, raw)] = provider.requests
    assert (method, path) == ("POST", "/me/messages")
    assert headers["Authorization"] == "Bearer PAGE_TOKEN"
    assert json.loads(raw) == {
        "messaging_type": "RESPONSE",
        "recipient": {"id": "PSID1"},
        "message": {"text": "Hello"},
    }


def test_paging_links_of_another_host_never_get_the_token(connector):
    channel = page(connector, token="PAGE_TOKEN")
    with pytest.raises(connectors.SendError) as refused:
        channel.graph("GET", "https://evil.example/graph?after=1")
    assert refused.value.code == "bad_address"


def test_profile_lookup_gives_the_name(connector, provider):
    provider.route("/PSID1", 200, {"first_name": "Anna", "last_name": "K"})
    channel = page(connector, token="PAGE_TOKEN", base_url=provider.url)
    profile = channel.fetch_profile("PSID1")
    assert (profile.user_id, profile.name) == ("PSID1", "Anna K")
    assert channel.fetch_profile("../me") is None
