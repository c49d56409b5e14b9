"""Email and live chat travel through Odoo's own stacks: their connectors
declare the channel types and refuse the webhook."""

import pytest

import connectors


@pytest.mark.parametrize("code", ["email", "livechat"])
def test_webhook_is_refused(connector, code):
    channel = connector(code, secret="anything")
    with pytest.raises(connectors.SignatureError):
        channel.verify({}, b"{}", {})
    with pytest.raises(connectors.PayloadError):
        channel.parse({}, b"{}", {})
    assert channel.user_ids_are_global


@pytest.mark.parametrize("code", ["email", "livechat"])
def test_nothing_is_sent_through_the_connector(connector, code):
    with pytest.raises(connectors.SendError):
        connector(code).send(connectors.OutboundMessage("partner-7", text="Hi"))


def test_unknown_channel_type_is_a_connector_error():
    with pytest.raises(connectors.ConnectorError):
        connectors.get_connector_class("carrier-pigeon")
