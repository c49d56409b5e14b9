"""Twilio SMS: X-Twilio-Signature (HMAC-SHA1 of the URL and the sorted form
fields, base64), inbound SMS/MMS, delivery callbacks and Messages.json."""

import base64
import hashlib
import hmac
import urllib.parse

import pytest

import connectors
from connectors.twilio_sms import SIGNATURE_HEADER

TOKEN = "auth-token"
URL = "https://odoo.example.com/omnichannel/webhook/sms/abc"


def sign(params, url=URL, token=TOKEN):
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def form(**fields):
    values = dict(
        {"MessageSid": "SM1", "From": "+79001234567", "To": "+15550001111"}, **fields
    )
    pairs = sorted(values.items())
    return pairs, urllib.parse.urlencode(pairs).encode()


def sms(connector, **values):
    settings = dict(token=TOKEN, webhook_url=URL, account_ref="+15550001111")
    return connector("sms", **dict(settings, **values))


def test_good_signature_is_accepted(connector):
    pairs, raw = form(Body="Hello", SmsStatus="received")
    sms(connector).verify({SIGNATURE_HEADER: sign(pairs)}, raw, {})


def test_signature_covers_the_query_string(connector):
    pairs, raw = form(Body="Hello")
    query = {"channel": "7"}
    signed = sign(pairs, URL + "?channel=7")
    sms(connector).verify({SIGNATURE_HEADER: signed}, raw, query)
    with pytest.raises(connectors.SignatureError):
        sms(connector).verify({SIGNATURE_HEADER: sign(pairs)}, raw, query)


@pytest.mark.parametrize("given", ["", "AAAA", None], ids=["empty", "forged", "none"])
def test_forged_or_missing_signature_is_refused(connector, given):
    pairs, raw = form(Body="Hello")
    headers = {SIGNATURE_HEADER: given} if given is not None else {}
    with pytest.raises(connectors.SignatureError):
        sms(connector).verify(headers, raw, {})


def test_changed_field_or_other_token_is_refused(connector):
    pairs, raw = form(Body="Hello")
    _pairs, changed = form(Body="Hello!")
    with pytest.raises(connectors.SignatureError):
        sms(connector).verify({SIGNATURE_HEADER: sign(pairs)}, changed, {})
    with pytest.raises(connectors.SignatureError):
        sms(connector).verify({SIGNATURE_HEADER: sign(pairs, token="x")}, raw, {})
    with pytest.raises(connectors.SignatureError):
        sms(connector, token="").verify(
            {SIGNATURE_HEADER: sign(pairs, token="")}, raw, {}
        )


def test_inbound_sms_is_from_a_verified_number(connector):
    _pairs, raw = form(Body="Hello", SmsStatus="received")
    [event] = sms(connector).parse({}, raw, {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.message_id, event.text) == ("SM1", "Hello")
    assert event.sender.phone == "+79001234567" and event.sender.phone_verified


def test_mms_names_its_media(connector):
    _pairs, raw = form(
        Body="",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1",
        MediaContentType0="image/jpeg",
    )
    [event] = sms(connector).parse({}, raw, {})
    [attachment] = event.attachments
    assert attachment.mimetype == "image/jpeg"
    assert attachment.url.endswith("/Media/ME1")
    assert attachment.filename.startswith("mms_")


def test_delivery_callback_reports_the_error(connector):
    _pairs, raw = form(MessageStatus="undelivered", ErrorCode="30003")
    [event] = sms(connector).parse({}, raw, {})
    assert event.kind == "status"
    assert (event.message_id, event.status, event.error_code) == (
        "SM1",
        "failed",
        "30003",
    )
    assert event.error_text == "Unreachable destination handset"


@pytest.mark.parametrize(
    "raw",
    [b"", b"From=%2B7900", b"MessageSid=SM1&SmsStatus=received&Body=x"],
    ids=["empty", "no-sid", "no-from"],
)
def test_malformed_forms_are_refused(connector, raw):
    with pytest.raises(connectors.PayloadError):
        sms(connector).parse({}, raw, {})


def test_send_posts_to_the_account_messages(connector, provider):
    provider.answer(201, {"sid": "SM99", "status": "queued"})
    channel = sms(connector, base_url=provider.url, extra={"account_sid": "AC123"})
    result = channel.send(connectors.OutboundMessage("+79001234567", text="Hi"))
    assert result.message_id == "SM99"
    [(method, path, headers, raw)] = provider.requests
    assert (method, path) == ("POST", "/2010-04-01/Accounts/AC123/Messages.json")
    expected = "Basic " + base64.b64encode(b"AC123:" + TOKEN.encode()).decode()
    assert headers["Authorization"] == expected
    sent = dict(urllib.parse.parse_qsl(raw.decode()))
    assert (sent["To"], sent["From"], sent["Body"]) == (
        "+79001234567",
        "+15550001111",
        "Hi",
    )
    assert sent["StatusCallback"] == URL


def test_send_maps_twilio_errors(connector, provider):
    provider.answer(400, {"code": 21610, "message": "Unsubscribed recipient"})
    channel = sms(connector, base_url=provider.url, extra={"account_sid": "AC1"})
    with pytest.raises(connectors.SendError) as refused:
        channel.send(connectors.OutboundMessage("+79001234567", text="Hi"))
    assert refused.value.code == "21610" and refused.value.blocks_recipient
