"""What every connector shares: the events' checks and their journal form,
the signing helper, and the one HTTP path (answers, downloads)."""

import inspect

import pytest

import connectors
from connectors.provider_http import ProviderHttp
from connectors.safe_http import DownloadRefused
from connectors.signing import hmac_base64, hmac_hex, secrets_equal
from connectors.validation import MAX_ID_LENGTH, MAX_TEXT_LENGTH


def message(**values):
    return connectors.InboundMessage(
        **dict(
            {"event_id": "e1", "message_id": "m1", "sender": connectors.Contact("u1")},
            **values,
        )
    )


def test_events_survive_the_journal_round_trip():
    event = message(
        text="Hi",
        attachments=[connectors.Attachment("image", file_id="f1")],
    )
    again = connectors.event_from_dict(connectors.event_to_dict(event))
    assert again == event and isinstance(again.attachments[0], connectors.Attachment)


def test_check_event_cleans_text_and_names():
    event = connectors.check_event(
        message(text="a\x00b", sender=connectors.Contact("u1", name="gpj\u202e.exe"))
    )
    assert event.text == "ab"
    assert event.sender.name == "gpj.exe"


@pytest.mark.parametrize(
    "values",
    [
        {"event_id": " "},
        {"message_id": "x" * (MAX_ID_LENGTH + 1)},
        {"chat_id": "a\nb"},
        {"text": "x" * (MAX_TEXT_LENGTH + 1)},
        {"date": float("nan")},
        {"is_edit": "yes"},
        {"attachments": ["file"]},
        {"sender": "u1"},
    ],
)
def test_check_event_refuses_what_cannot_be_stored(values):
    with pytest.raises(connectors.PayloadError):
        connectors.check_events([message(**values)])


def test_is_storable_id():
    assert connectors.is_storable_id("wamid.1")
    assert not connectors.is_storable_id("")
    assert not connectors.is_storable_id("a\x00")
    assert not connectors.is_storable_id(5)


def test_signing_helpers_match_known_vectors():
    # RFC 4231 test case 2 (HMAC-SHA256) and RFC 2202 test case 2 (HMAC-SHA1).
    data = "what do ya want for nothing?"
    assert hmac_hex("Jefe", data) == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert hmac_base64("Jefe", data.encode(), "sha1") == "7/zfauXrL6LSdBbV8YTfnCWafHk="


def test_secrets_equal_refuses_an_empty_secret():
    assert secrets_equal("s3cret", "s3cret")
    assert not secrets_equal("s3cret", "s3creT")
    assert not secrets_equal("", "")
    assert not secrets_equal("s3cret", None)
    assert secrets_equal("42", 42)


def test_load_json_refuses_deep_nesting():
    with pytest.raises(connectors.PayloadError):
        connectors.Connector.load_json(b"[" * 100 + b"]" * 100)
    with pytest.raises(connectors.PayloadError):
        connectors.Connector.load_json(b"\xff")


class _Answer:
    def __init__(self, status, body=None, headers=None):
        self.status_code, self._body, self.headers = status, body, headers or {}

    def json(self):
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


def test_json_answer_maps_unavailability():
    assert ProviderHttp.json_answer(_Answer(400, {"error": 1}), "X") == {"error": 1}
    with pytest.raises(connectors.SendError) as limited:
        ProviderHttp.json_answer(_Answer(429, {}, {"Retry-After": "30"}), "X")
    assert (limited.value.code, limited.value.retry_after) == ("http_429", 30.0)
    with pytest.raises(connectors.SendError) as down:
        ProviderHttp.json_answer(_Answer(502), "X")
    assert down.value.retryable and down.value.code == "http_502"
    with pytest.raises(connectors.SendError) as garbled:
        ProviderHttp.json_answer(_Answer(200), "X")
    assert garbled.value.retryable and "without JSON" in garbled.value.message


def test_api_root_is_the_channel_address_or_the_provider_default(connector):
    assert connector("viber").api_root() == "https://chatapi.viber.com/pa"
    assert connector("viber", base_url="http://fake/pa/").api_root() == "http://fake/pa"


def test_downloads_stay_on_allowed_public_hosts(connector, provider):
    channel = connector("vk")
    for url in (
        "http://127.0.0.1:8069/web/database/manager",
        "file:///etc/passwd",
        "https://user:pw@vk.com/a.jpg",
        "https://vk.com.evil.example/a.jpg",
    ):
        with pytest.raises(DownloadRefused):
            channel.download(url)


def test_redirect_to_another_host_is_checked_again(connector, provider):
    provider.answer(302, b"", {"Location": "http://169.254.169.254/latest/meta-data"})
    channel = connector("vk", base_url=provider.url)
    with pytest.raises(DownloadRefused):
        channel.download(provider.url + "/photo.jpg")


def test_listed_private_host_is_allowed_when_the_channel_says_so(connector, provider):
    provider.answer(200, b"data", {"Content-Type": "audio/wav"})
    host = f"127.0.0.1:{provider.server_port}"
    listed = connector("vk", extra={"media_hosts": ["127.0.0.1"]})
    with pytest.raises(DownloadRefused):
        listed.download(f"http://{host}/rec.wav")
    trusted = connector(
        "vk", extra={"media_hosts": ["127.0.0.1"], "media_private": True}
    )
    assert trusted.download(f"http://{host}/rec.wav") == (b"data", "audio/wav")


def test_connectors_that_read_referrals_declare_it():
    """The Odoo side looks for a pending referral (an ad click or opt-in
    journaled before the first message) only on types that declare
    ``sends_referrals``: a connector that makes Referral events without it
    would have them never applied to the next message's lead."""
    for cls in connectors.connector_classes():
        source = "".join(
            inspect.getsource(k)
            for k in cls.__mro__
            if k.__module__.startswith("connectors")
        )
        assert ("Referral(" in source) == cls.sends_referrals, cls.code
