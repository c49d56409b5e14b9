"""The connectors alone (no database): how each reads the real-world shapes
of its provider's bodies.  Fast; the webhook tests (test_real_payloads.py)
check what the salesperson then sees."""

import json
import urllib.parse

from odoo.tests import BaseCase, tagged

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.meta import referral_utm


def parse(code, body, **config):
    connector = connectors.get_connector_class(code)(connectors.ChannelConfig(**config))
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return connectors.check_events(connector.parse({}, raw, {}))


@tagged("post_install", "-at_install")
class TestConnectorPayloads(BaseCase):
    def test_telegram_older_client_and_documentation_shapes(self):
        user = {
            "id": 1111111,
            "first_name": "Test Firstname",
            "last_name": "Test Lastname",
            "username": "Testusername",
        }
        update = {
            "update_id": 10001,
            "message": {
                "date": 1441645532,
                "message_id": 1365,
                "from": user,
                "text": "/start",
                "chat": dict(user, type="private"),
            },
        }
        [event] = parse("telegram", update)
        self.assertEqual(
            (event.kind, event.sender.user_id, event.sender.name, event.command),
            ("message", "1111111", "Test Firstname Test Lastname", "start"),
        )
        self.assertEqual(
            (event.utm_source, event.utm_medium, event.utm_campaign), ("", "", "")
        )
        voice = dict(
            update["message"], text=None, voice={"file_id": "AwADBAAD", "duration": 5}
        )
        [event] = parse("telegram", {"update_id": 10008, "message": voice})
        self.assertEqual(
            (event.message_type, event.attachments[0].file_id), ("voice", "AwADBAAD")
        )

    def test_telegram_malformed_stays_malformed(self):
        for body in (
            {"update_id": 5, "message": {"message_id": "z"}},
            {"update_id": 6, "message": {"message_id": 1, "chat": {"id": "x"}}},
            {
                "update_id": 7,
                "message": {
                    "message_id": 1,
                    "chat": {"id": 1},
                    "from": {"id": 1},
                    "photo": "not a list",
                },
            },
        ):
            with self.assertRaises(connectors.PayloadError):
                parse("telegram", body)

    def test_telegram_deep_link_business_and_service(self):
        user = {"id": 42, "first_name": "A"}
        base = {
            "message_id": 3,
            "date": 1,
            "from": user,
            "chat": {"id": 42, "type": "private"},
        }
        [event] = parse(
            "telegram",
            {
                "update_id": 1,
                "message": dict(base, text="/start ads__cpc__black_friday"),
            },
        )
        self.assertEqual(
            (event.utm_source, event.utm_medium, event.utm_campaign),
            ("ads", "cpc", "black_friday"),
        )
        [event] = parse(
            "telegram",
            {
                "update_id": 2,
                "business_message": dict(base, text="hi", business_connection_id="BC1"),
            },
        )
        self.assertEqual(event.chat_id, "business:BC1:42")
        [event] = parse(
            "telegram", {"update_id": 3, "message": dict(base, new_chat_members=[user])}
        )
        self.assertEqual(
            (event.kind, event.reason),
            ("ignored", "Telegram service message (new_chat_members)"),
        )

    def test_whatsapp_username_edit_and_revoke(self):
        def body(message, contact):
            return {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "W",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {"phone_number_id": "P"},
                                    "contacts": [contact],
                                    "messages": [message],
                                },
                            }
                        ],
                    }
                ],
            }

        [event] = parse(
            "whatsapp",
            body(
                {
                    "from_user_id": "US.1",
                    "id": "w1",
                    "timestamp": "1",
                    "type": "text",
                    "text": {"body": "hi"},
                },
                {"user_id": "US.1", "profile": {"name": "K"}},
            ),
        )
        self.assertEqual(
            (
                event.sender.user_id,
                event.sender.phone,
                event.sender.name,
                event.chat_id,
            ),
            ("US.1", "", "K", "US.1"),
        )
        [event] = parse(
            "whatsapp",
            body(
                {
                    "from": "79001112233",
                    "id": "w2",
                    "timestamp": "1",
                    "type": "edit",
                    "edit": {
                        "original_message_id": "w0",
                        "message": {"type": "text", "text": {"body": "new"}},
                    },
                },
                {"wa_id": "79001112233", "profile": {"name": "A"}},
            ),
        )
        self.assertEqual(
            (event.event_id, event.message_id, event.is_edit, event.text),
            ("w2", "w0", True, "new"),
        )
        [event] = parse(
            "whatsapp",
            body(
                {
                    "from": "79001112233",
                    "id": "w3",
                    "timestamp": "1",
                    "type": "revoke",
                    "revoke": {"original_message_id": "w0"},
                },
                {"wa_id": "79001112233"},
            ),
        )
        self.assertEqual((event.kind, event.message_id), ("revoke", "w0"))

    def test_meta_referral_to_utm(self):
        self.assertEqual(
            referral_utm({"ref": "vk__post__spring", "source": "SHORTLINK"})[:3],
            ("vk", "post", "spring"),
        )
        self.assertEqual(
            referral_utm(
                {
                    "source_url": "https://www.instagram.com/p/1",
                    "source_type": "ad",
                    "source_id": "12",
                    "headline": "",
                }
            )[:3],
            ("Instagram", "Ad", "Ad 12"),
        )
        self.assertEqual(
            referral_utm({"source": "SHORTLINK", "type": "OPEN_THREAD"})[:3],
            ("", "Link", ""),
        )
        self.assertEqual(referral_utm(None), ("", "", "", ""))

    def test_vk_legacy_message_and_button_press(self):
        [event] = parse(
            "vk",
            {
                "type": "message_new",
                "event_id": "e1",
                "group_id": 1,
                "object": {
                    "id": 3,
                    "date": 1612543491,
                    "out": 0,
                    "user_id": 326596496,
                    "body": "Ну как?",
                },
            },
        )
        self.assertEqual(
            (event.sender.user_id, event.chat_id, event.text),
            ("326596496", "326596496", "Ну как?"),
        )
        [event] = parse(
            "vk",
            {
                "type": "message_event",
                "event_id": "e2",
                "group_id": 1,
                "object": {
                    "user_id": 5,
                    "peer_id": 2000000001,
                    "event_id": "cb1",
                    "payload": {"payload": "week"},
                },
            },
        )
        self.assertEqual(
            (event.kind, event.callback_id, event.chat_id, event.payload),
            ("button_press", "cb1", "2000000001", '{"payload": "week"}'),
        )

    def test_twilio_whatsapp_and_zadarma_sms(self):
        form = urllib.parse.urlencode(
            {
                "MessageSid": "SM1",
                "SmsStatus": "received",
                "Body": "Msg",
                "NumMedia": "0",
                "From": "whatsapp:+14133881111",
                "To": "whatsapp:+12028831111",
            }
        ).encode()
        [event] = parse("sms", form)
        self.assertEqual(
            (event.sender.user_id, event.sender.phone),
            ("whatsapp:+14133881111", "+14133881111"),
        )
        form = urllib.parse.urlencode(
            {
                "event": "SMS",
                "result": json.dumps(
                    {
                        "caller_id": "79161234567",
                        "caller_did": "78430000001",
                        "text": "Перезвоните",
                    }
                ),
            }
        ).encode()
        [event] = parse("zadarma", form)
        self.assertEqual(
            (event.kind, event.sender.phone, event.text),
            ("message", "+79161234567", "Перезвоните"),
        )
        self.assertEqual(
            parse("zadarma", form)[0].event_id,
            event.event_id,
            "a retry is the same event",
        )
