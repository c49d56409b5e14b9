"""Sandbox: the page's secret header, visitor messages and their files."""

import base64
import json

import pytest

import connectors
from connectors.sandbox import SECRET_HEADER

SECRET = "sandbox-secret"


def message(**fields):
    return json.dumps(
        dict({"event_id": "e1", "session": "visitor-1", "text": "Hello"}, **fields)
    ).encode()


def sandbox(connector, **values):
    return connector("sandbox", **dict(dict(secret=SECRET), **values))


def test_secret_is_accepted_and_a_wrong_one_refused(connector):
    sandbox(connector).verify({SECRET_HEADER: SECRET}, message(), {})
    for headers in ({}, {SECRET_HEADER: "x"}):
        with pytest.raises(connectors.SignatureError):
            sandbox(connector).verify(headers, message(), {})


def test_message_with_a_file(connector):
    data = base64.b64encode(b"PNG").decode()
    attachment = {"filename": "a.png", "mimetype": "image/png", "data": data}
    [event] = sandbox(connector).parse({}, message(attachments=[attachment]), {})
    assert (event.chat_id, event.text, event.message_type) == (
        "visitor-1",
        "Hello",
        "image",
    )
    assert event.sender.name == "Sandbox visitor"
    assert sandbox(connector).fetch_media(event.attachments[0]) == (
        b"PNG",
        "image/png",
        "a.png",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"1",
        message(session=""),
        message(text=""),
        message(text=5),
        message(attachments={"data": ""}),
        message(attachments=[{"data": "not base64!"}]),
    ],
)
def test_malformed_messages_are_refused(connector, body):
    with pytest.raises(connectors.PayloadError):
        sandbox(connector).parse({}, body, {})


def test_replies_stay_on_the_server(connector):
    result = sandbox(connector).send(connectors.OutboundMessage("visitor-1", text="Hi"))
    assert result.status == "sent" and result.message_id.startswith("sandbox-")
