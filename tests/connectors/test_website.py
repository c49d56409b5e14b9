"""Website forms and API: the API key header and the submission format."""

import json

import pytest

import connectors
from connectors.website import API_KEY_HEADER

KEY = "site-api-key"


def submit(**fields):
    return json.dumps(
        dict(
            {"name": "Anna", "email": "Anna@Example.com", "message": "40 chairs"},
            **fields,
        )
    ).encode()


def site(connector, **values):
    return connector("website", **dict(dict(secret=KEY), **values))


def test_api_key_is_accepted(connector):
    site(connector).verify({API_KEY_HEADER: KEY}, submit(), {})


@pytest.mark.parametrize("given", [None, "", "site-api-kex"])
def test_wrong_or_missing_api_key_is_refused(connector, given):
    headers = {} if given is None else {API_KEY_HEADER: given}
    with pytest.raises(connectors.SignatureError):
        site(connector).verify(headers, submit(), {})
    with pytest.raises(connectors.SignatureError):
        site(connector, secret="").verify({API_KEY_HEADER: ""}, submit(), {})


def test_submission_becomes_a_form_event(connector):
    body = submit(
        submission_id="form-1",
        phone="+7 900 123-45-67",
        page_url="https://example.com/chairs",
        utm_source="google",
    )
    [event] = site(connector).parse({}, body, {})
    assert event.kind == "form"
    assert (event.event_id, event.text, event.page_url) == (
        "form-1",
        "40 chairs",
        "https://example.com/chairs",
    )
    # The email, lower-cased, names the person; it is their claim only.
    assert event.sender.user_id == event.chat_id == "anna@example.com"
    assert not event.sender.email_verified
    assert event.utm_source == "google"


def test_submission_without_id_gets_a_stable_one(connector):
    [first] = site(connector).parse({}, submit(), {})
    [again] = site(connector).parse({}, submit(), {})
    [other] = site(connector).parse({}, submit(message="41 chairs"), {})
    assert first.event_id == again.event_id != other.event_id
    assert first.event_id.startswith("sha256:")


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        submit(email="", phone=""),
        submit(email="not an address"),
        submit(email="", phone="call me"),
        submit(page_url="javascript:alert(1)"),
        submit(name=["Anna"]),
        submit(message="x" * 20001),
    ],
)
def test_malformed_submissions_are_refused_with_their_reason(connector, body):
    with pytest.raises(connectors.PayloadError):
        site(connector).check_format({}, body, {})


def test_a_form_cannot_be_answered(connector):
    with pytest.raises(connectors.SendError):
        site(connector).send(connectors.OutboundMessage("anna@example.com", text="Hi"))
