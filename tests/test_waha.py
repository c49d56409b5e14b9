import base64
import json

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .fake_meta import FakeGraphServer, MetaWebhookMixin, wa_message
from .fake_waha import (
    OWN_NUMBER,
    QR_PNG,
    FakeWahaServer,
    waha_ack,
    waha_message,
    waha_session_status,
)
from .provider_case import ProviderCase
from .test_telegram import PNG

CUSTOMER = "79125554433"


class WahaCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.waha = FakeWahaServer().start()
        self.addCleanup(self.waha.stop)
        self.channel = self._create_channel(
            "whatsapp_waha",
            name="WhatsApp (phone)",
            token=self.waha.api_key,
            account_ref=self.waha.session,
            webhook_secret=self.waha.hmac_key,
            api_base_url=self.waha.url,
        )
        self.waha.webhook_url = self.channel.sudo().webhook_url

    def send(self, kind, payload, key=None, session=None):
        """POST one event signed as the gateway signs it (``key``: another
        HMAC key, a forgery)."""
        body = json.dumps(self.waha.envelope(kind, payload, session=session)).encode()
        return self.post_raw(body, key=key)

    def post_raw(self, body, key=None):
        headers = self.waha.signed_headers(body, key)
        return self.post_webhook(self.channel, body, headers=headers)

    def alerts(self):
        return self.env["omnichannel.alert"].search(
            [("channel_id", "=", self.channel.id), ("kind", "=", "whatsapp_session")]
        )


@tagged("post_install", "-at_install")
class TestWahaWebhook(WahaCase):
    """Events of a fake WAHA gateway through the real webhook."""

    def test_gateway_posts_a_signed_text_message(self):
        # The fake gateway itself POSTs to Odoo, as WAHA does.
        response = self.waha.webhook(
            self.base_url() + f"/omnichannel/webhook/{self.channel.sudo().webhook_key}",
            self.waha.envelope(
                "message", waha_message("3EB0AA01", CUSTOMER, "Есть кресла в наличии?")
            ),
            http=self.opener,
        )
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        message = self.last_message()
        self.assertIn("Есть кресла в наличии?", message.body)
        self.assertEqual(message.provider_message_id, "3EB0AA01")
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.chat_id, identity.name),
            (CUSTOMER, f"{CUSTOMER}@c.us", "Anna Smirnova"),
        )
        self.assertTrue(identity.phone_verified, "the gateway vouches for the number")
        self.assertEqual(identity.partner_id.phone_sanitized, "+" + CUSTOMER)
        self.assertEqual(message.conversation_id.lead_id.source_id.name, "WhatsApp")

    def test_file_is_downloaded_from_the_gateway(self):
        url = self.waha.add_file(
            f"{self.waha.session}/3EB0AA02.pdf", b"%PDF spec", "application/pdf"
        )
        self.send(
            "message",
            waha_message(
                "3EB0AA02",
                CUSTOMER,
                "the spec",
                media={
                    "url": url,
                    "mimetype": "application/pdf",
                    "filename": "spec.pdf",
                },
            ),
        )
        self.run_downloads()
        message = self.last_message()
        self.assertEqual(message.message_type, "document")
        self.assertIn("the spec", message.body)
        self.assertEqual(
            (message.attachment_ids.name, message.attachment_ids.raw),
            ("spec.pdf", b"%PDF spec"),
        )
        fetch = self.waha.find("/api/files/")[-1]
        self.assertEqual(fetch.headers.get("X-Api-Key"), self.waha.api_key)

    def test_file_named_on_another_host_is_not_downloaded(self):
        self.send(
            "message",
            waha_message(
                "3EB0AA03",
                CUSTOMER,
                "",
                media={
                    "url": "http://169.254.169.254/latest/meta-data",
                    "mimetype": "image/jpeg",
                },
            ),
        )
        self.run_downloads()
        message = self.last_message()
        self.assertFalse(message.attachment_ids)
        self.assertIn("not a host", message.download_ids.error_message or "")

    def test_forged_signature_is_refused_and_nothing_stored(self):
        payload = waha_message("3EB0AA04", CUSTOMER, "hello")
        self.assertEqual(self.send("message", payload, key="forged").status_code, 403)
        body = json.dumps(self.waha.envelope("message", payload)).encode()
        for headers in (
            {},
            {"X-Webhook-Hmac": "00" * 64, "X-Webhook-Hmac-Algorithm": "sha512"},
            dict(self.waha.signed_headers(body), **{"X-Webhook-Hmac-Algorithm": "md5"}),
        ):
            response = self.post_webhook(self.channel, body, headers=headers)
            self.assertEqual(response.status_code, 403, headers)
            self.assertNotIn(self.waha.hmac_key, response.text)
        self.channel.webhook_secret = False
        self.assertEqual(
            self.send("message", payload, key="").status_code,
            403,
            "a channel without an HMAC key accepts nothing",
        )
        self.assertFalse(self.journal())
        self.assertFalse(self.messages())

    def test_malformed_bodies(self):
        for body in (b"{nope", b"[]", b'"message"'):
            self.assertEqual(self.post_raw(body).status_code, 400, body)
        self.assertFalse(self.journal(), "not JSON objects: not WAHA's at all")
        self.assert_kept_unreadable(
            [
                self.post_raw(body)
                for body in (
                    b'{"event": 5, "session": "sales", "payload": {}}',
                    b'{"event": "message", "session": "sales", "payload": []}',
                    b'{"event": "message", "session": "sales", "payload": {"id": 1}}',
                )
            ],
            "ok",
        )

    def test_retry_makes_no_duplicate(self):
        envelope = self.waha.envelope(
            "message", waha_message("3EB0AA05", CUSTOMER, "Доставка в Казань?")
        )
        body = json.dumps(envelope).encode()
        for _attempt in range(3):
            self.assertEqual(self.post_raw(body).status_code, 200)
        # message.any carries the same message once more
        self.send("message.any", envelope["payload"])
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(len(self.messages()), 1)

    def test_own_and_group_messages_make_no_conversation(self):
        self.send(
            "message", waha_message("3EB0AA06", CUSTOMER, "from the phone", fromMe=True)
        )
        self.send(
            "message",
            waha_message(
                "3EB0AA07", CUSTOMER, "hi all", **{"from": "120363025246125486@g.us"}
            ),
        )
        self.send("message", waha_message("3EB0AA08", CUSTOMER, "x"), session="other")
        self.assertEqual(set(self.journal().mapped("state")), {"ignored"})
        self.assertFalse(self.messages())


@tagged("post_install", "-at_install")
class TestWahaReplies(WahaCase):
    def setUp(self):
        super().setUp()
        self.send("message", waha_message("3EB0AB01", CUSTOMER, "Сколько стоит?"))
        self.remember_conversation()

    def test_reply_goes_out_and_acks_come_back(self):
        sent = self.reply("4 500 ₽")
        self.assertEqual(sent["status"], "sent")
        [(path, payload)] = self.waha.sent
        self.assertEqual(
            (path, payload),
            (
                "/api/sendText",
                {"session": "sales", "chatId": f"{CUSTOMER}@c.us", "text": "4 500 ₽"},
            ),
        )
        message = self.Message.browse(sent["id"])
        message_id = message.provider_message_id
        self.assertTrue(message_id.startswith("3EB0"))
        self.send("message.ack", waha_ack(message_id, CUSTOMER, "DEVICE"))
        self.assertEqual(message.status, "delivered")
        self.send("message.ack", waha_ack(message_id, CUSTOMER, "READ"))
        self.assertEqual(message.status, "read")
        self.send("message.ack", waha_ack(message_id, CUSTOMER, "SERVER"))
        self.assertEqual(message.status, "read", "a late ack never moves it back")

    def test_files_go_out_inline(self):
        sent = self.reply(
            "Our catalogue", ("chair.png", PNG), ("catalogue.pdf", b"%PDF catalogue")
        )
        self.assertEqual(sent["status"], "sent")
        paths = [path for path, _payload in self.waha.sent]
        self.assertEqual(paths, ["/api/sendImage", "/api/sendFile"])
        image, document = (payload for _path, payload in self.waha.sent)
        self.assertEqual(image["caption"], "Our catalogue")
        self.assertEqual(base64.b64decode(image["file"]["data"]), PNG)
        self.assertEqual(document["file"]["filename"], "catalogue.pdf")

    def test_reply_waits_while_the_number_is_disconnected(self):
        self.waha.status = "SCAN_QR_CODE"
        sent = self.reply("Ответим позже")
        self.assertEqual(sent["status"], "queued", "retried once the number is back")
        self.waha.status = "WORKING"
        message = self.Message.browse(sent["id"])
        message.next_send_date = fields.Datetime.now()
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")


@tagged("post_install", "-at_install")
class TestWahaSession(WahaCase):
    def test_qr_code_is_shown_while_the_number_is_not_paired(self):
        self.waha.status = "SCAN_QR_CODE"
        action = self.channel.action_waha_pair()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(wizard.status, "SCAN_QR_CODE")
        self.assertEqual(base64.b64decode(wizard.qr_image), QR_PNG)
        qr = self.waha.find(f"/api/{self.waha.session}/auth/qr")[-1]
        self.assertEqual(qr.headers.get("X-Api-Key"), self.waha.api_key)
        # once scanned
        self.waha.status = "WORKING"
        wizard.action_refresh()
        self.assertFalse(wizard.qr_image)
        self.assertIn(OWN_NUMBER, wizard.message)
        self.assertEqual(self.channel.waha_me, OWN_NUMBER)

    def test_check_connection(self):
        action = self.channel.action_waha_check_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("WORKING", self.channel.webhook_status)
        self.assertIn("yes, signed", self.channel.webhook_status)
        self.waha.api_key = "rotated"
        with self.assertRaises(UserError):
            self.channel.action_waha_check_connection()

    def test_status_cron_raises_and_resolves_the_alert(self):
        Channel = self.env["omnichannel.channel"]
        Channel._cron_waha_check_sessions()
        self.assertEqual(self.channel.waha_status, "WORKING")
        self.assertFalse(self.alerts())
        for status in ("SCAN_QR_CODE", "FAILED"):
            self.waha.status = status
            Channel._cron_waha_check_sessions()
            alert = self.alerts().filtered(lambda a: a.state == "open")
            self.assertEqual(len(alert), 1, "one open alert, updated")
            self.assertEqual(alert.signature, status)
        self.assertIn("banned", alert.detail)
        self.waha.status = "WORKING"
        Channel._cron_waha_check_sessions()
        self.assertEqual(set(self.alerts().mapped("state")), {"resolved"})
        unconfigured = self._create_channel("whatsapp_waha", name="Not set up yet")
        self.waha.stop()
        Channel._cron_waha_check_sessions()
        self.assertFalse(
            self.env["omnichannel.alert"].search(
                [("channel_id", "=", unconfigured.id)]
            ),
            "a channel not connected yet is not asked",
        )
        self.assertEqual(
            self.alerts().filtered(lambda a: a.state == "open").signature,
            "unreachable",
            "a gateway that does not answer is an alert too",
        )

    def test_session_status_webhook(self):
        self.send("session.status", waha_session_status("FAILED"))
        self.assertEqual(self.channel.waha_status, "FAILED")
        self.assertEqual(self.alerts().state, "open")
        self.send("session.status", waha_session_status("WORKING"))
        self.assertEqual(self.channel.waha_status, "WORKING")
        self.assertEqual(self.alerts().state, "resolved")
        # a late report of an older state changes nothing
        self.send("session.status", waha_session_status("STOPPED", at_ms=1700000000000))
        self.assertEqual(self.channel.waha_status, "WORKING")


@tagged("post_install", "-at_install")
class TestWahaToCloudApi(MetaWebhookMixin, WahaCase):
    """A number moves from the gateway to the official Cloud API: the
    customer who wrote to both is one customer."""

    def test_same_customer_on_waha_then_cloud_api(self):
        self.send("message", waha_message("3EB0AC01", CUSTOMER, "Пишу через WhatsApp"))
        graph = FakeGraphServer(tokens=("EAAG-TEST",)).start()
        self.addCleanup(graph.stop)
        cloud = self._create_channel(
            "whatsapp",
            name="WhatsApp Cloud API",
            token="EAAG-TEST",
            app_secret="meta-app-secret",
            verify_token="verify-me",
            account_ref="106540352242922",
            api_base_url=graph.api_url,
        )
        response = self.post_meta(
            cloud,
            wa_message(
                "106540352242922",
                CUSTOMER,
                "wamid.HBgLNzkxMjU1NTQ0MzM",
                "text",
                {"body": "Теперь через официальный номер"},
            ),
        )
        self.assertEqual(response.status_code, 200, response.text)
        conversations = self.env["omnichannel.conversation"].search(
            [("channel_id", "in", (self.channel | cloud).ids)]
        )
        self.assertEqual(len(conversations), 2)
        self.assertEqual(
            len(conversations.identity_id.partner_id),
            1,
            "both conversations sit on one customer",
        )
        self.assertEqual(
            conversations.identity_id.partner_id.phone_sanitized, "+" + CUSTOMER
        )
