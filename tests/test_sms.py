from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilioServer,
    incoming_sms,
    status_callback,
    twilio_request,
)
from .provider_case import ProviderCase

CHANNEL_NUMBER = "+12025550123"
CUSTOMER = "+79125554433"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class SmsCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.twilio = FakeTwilioServer().start()
        self.addCleanup(self.twilio.stop)
        self.twilio_number = self.twilio.add_number(CHANNEL_NUMBER)
        # The company's Twilio account, as Odoo's sms_twilio settings store it.
        self.env.company.sudo().write(
            {"sms_twilio_account_sid": ACCOUNT_SID, "sms_twilio_auth_token": AUTH_TOKEN}
        )
        self.channel = self._create_channel(
            "sms",
            name="SMS line",
            account_ref="+1 (202) 555-0123",
            api_base_url=self.twilio.url,
        )
        self.Sms = self.env["sms.sms"].sudo()

    def send(self, params, signature=None, url=None, auth_token=AUTH_TOKEN):
        body, headers = twilio_request(
            url or self.channel.webhook_url,
            params,
            auth_token=auth_token,
            signature=signature,
        )
        return self.post_webhook(self.channel, body, headers=headers)


@tagged("post_install", "-at_install")
class TestSmsInbound(SmsCase):
    """Twilio's incoming-SMS webhook and its signature."""

    def test_incoming_sms_is_answered_with_empty_twiml_and_stored_once(self):
        params = incoming_sms(
            CUSTOMER,
            CHANNEL_NUMBER,
            "Добрый день, нужна доставка",
            message_sid="SM" + "a" * 32,
        )
        response = self.send(params)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, EMPTY_TWIML)
        self.assertTrue(response.headers["Content-Type"].startswith("text/xml"))
        self.assertEqual(
            self.send(params).status_code, 200, "a Twilio retry is acknowledged"
        )
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(len(self.messages()), 1)
        message = self.last_message()
        self.assertIn("Добрый день, нужна доставка", message.body)
        self.assertEqual(message.provider_message_id, "SM" + "a" * 32)
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.phone_sanitized),
            (CUSTOMER, CUSTOMER),
            "the number is the identity",
        )
        self.assertEqual(message.conversation_id.partner_id.phone_sanitized, CUSTOMER)
        self.assertEqual(message.conversation_id.lead_id.source_id.name, "SMS")

    def test_known_customer_is_found_by_phone(self):
        known = self.env["res.partner"].create(
            {"name": "Anna Smirnova", "phone": "8 (912) 555-44-33"}
        )
        self.send(incoming_sms(CUSTOMER, CHANNEL_NUMBER, "Hello"))
        self.assertEqual(self.last_message().conversation_id.partner_id, known)

    def test_forged_or_missing_signature_is_refused_and_nothing_stored(self):
        params = incoming_sms(CUSTOMER, CHANNEL_NUMBER, "hello")
        self.assertEqual(
            self.send(params, auth_token="0" * 32).status_code,
            403,
            "signed with another token",
        )
        self.assertEqual(
            self.send(params, signature="").status_code, 403, "no signature"
        )
        self.assertEqual(
            self.send(
                params, url="https://attacker.example.com/omnichannel/webhook/x"
            ).status_code,
            403,
            "signed for another address",
        )
        body, headers = twilio_request(self.channel.webhook_url, params)
        tampered = body.replace(b"hello", b"HELLO")
        self.assertEqual(
            self.post_webhook(self.channel, tampered, headers=headers).status_code, 403
        )
        self.env.company.sudo().sms_twilio_auth_token = False
        self.assertEqual(
            self.send(params).status_code,
            403,
            "no auth token configured: nothing is accepted",
        )
        self.assertFalse(self.journal())
        self.assertFalse(self.messages())

    def test_signed_request_no_parser_reads_is_kept_unreadable(self):
        self.assert_kept_unreadable(
            [
                self.send(params)
                for params in (
                    {"Body": "no sid", "From": CUSTOMER},
                    {"SmsSid": "", "Body": "no sid either", "From": CUSTOMER},
                )
            ],
            EMPTY_TWIML,
        )

    def test_mms_media_is_fetched_with_the_account_credentials(self):
        url = self.twilio.add_media(b"\xff\xd8\xff photo", "image/jpeg")
        self.send(
            incoming_sms(
                CUSTOMER, CHANNEL_NUMBER, "the damaged box", media=[(url, "image/jpeg")]
            )
        )
        self.run_downloads()
        message = self.last_message()
        self.assertEqual(message.message_type, "image")
        self.assertEqual(message.attachment_ids.raw, b"\xff\xd8\xff photo")
        self.assertEqual(message.attachment_ids.mimetype, "image/jpeg")
        media_request = [r for r in self.twilio.requests if "/Media/" in r.path][-1]
        self.assertTrue(
            media_request.headers.get("Authorization", "").startswith("Basic ")
        )

    def test_stop_makes_the_customer_unreachable(self):
        self.send(incoming_sms(CUSTOMER, CHANNEL_NUMBER, "Hello"))
        conversation = self.last_message().conversation_id
        self.send(incoming_sms(CUSTOMER, CHANNEL_NUMBER, "STOP", OptOutType="STOP"))
        self.assertTrue(conversation.unreachable)
        self.assertIn(
            "STOP",
            self.last_message().body,
            "the STOP message itself is in the history",
        )
        with self.assertRaisesRegex(UserError, "cannot be reached on SMS line"):
            self.Message.panel_send(
                "omnichannel.conversation",
                conversation.id,
                conversation.id,
                text="Why?",
            )
        self.send(incoming_sms(CUSTOMER, CHANNEL_NUMBER, "START", OptOutType="START"))
        self.assertFalse(conversation.unreachable)


@tagged("post_install", "-at_install")
class TestSmsReplies(SmsCase):
    """Replies through Odoo's sms stack to a fake Twilio, and status callbacks."""

    def setUp(self):
        super().setUp()
        self.send(incoming_sms(CUSTOMER, CHANNEL_NUMBER, "Price of the wardrobe?"))
        self.remember_conversation()

    def test_reply_goes_through_the_sms_stack_from_the_channel_number(self):
        sent = self.reply("It is 300 EUR")
        self.assertEqual(sent["status"], "sent")
        form = self.twilio.messages[-1]
        self.assertEqual(
            (form["From"], form["To"], form["Body"]),
            (CHANNEL_NUMBER, CUSTOMER, "It is 300 EUR"),
        )
        self.assertEqual(form["StatusCallback"], self.channel.webhook_url)
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.provider_message_id, form["sid"])
        sms = self.Sms.search([("omnichannel_message_id", "=", message.id)])
        self.assertEqual(
            (sms.number, sms.body, sms.state), (CUSTOMER, "It is 300 EUR", "pending")
        )
        self.assertEqual(sms.mail_message_id, message.mail_message_id)
        self.assertTrue(sms.to_delete, "sent SMS are cleaned up like every Odoo SMS")
        # Twilio reports on it through the channel's webhook
        self.send(status_callback(form["sid"], "sent", CUSTOMER, CHANNEL_NUMBER))
        self.send(status_callback(form["sid"], "delivered", CUSTOMER, CHANNEL_NUMBER))
        self.assertEqual(message.status, "delivered")
        self.assertEqual(
            self.send(
                status_callback(form["sid"], "delivered", CUSTOMER, CHANNEL_NUMBER)
            ).status_code,
            200,
        )
        self.assertEqual(
            len(self.journal().filtered(lambda e: e.event_kind == "status")),
            2,
            "a replay is ignored",
        )

    def test_status_callback_signature_is_checked(self):
        sent = self.reply("Offer")
        message = self.Message.browse(sent["id"])
        self.assertEqual(
            self.send(
                status_callback(
                    message.provider_message_id, "delivered", CUSTOMER, CHANNEL_NUMBER
                ),
                auth_token="0" * 32,
            ).status_code,
            403,
        )
        self.assertEqual(message.status, "sent")

    def test_undelivered_status_shows_the_reason(self):
        sent = self.reply("Offer")
        message = self.Message.browse(sent["id"])
        self.send(
            status_callback(
                message.provider_message_id,
                "undelivered",
                CUSTOMER,
                CHANNEL_NUMBER,
                ErrorCode="30003",
            )
        )
        self.assertEqual((message.status, message.error_code), ("failed", "30003"))
        self.assertEqual(message.error_message, "Unreachable destination handset")

    def test_twilio_refusal_is_shown_and_kept_in_the_sms_stack(self):
        self.twilio.failure = (
            400,
            21211,
            f"The 'To' number {CUSTOMER} is not a valid phone number.",
        )
        sent = self.reply("Hello?")
        self.assertEqual(sent["status"], "failed")
        self.assertIn("is not a valid phone number", sent["error"])
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.error_code, "21211")
        sms = self.Sms.search([("omnichannel_message_id", "=", message.id)])
        self.assertEqual(
            (sms.state, sms.failure_type),
            ("error", "sms_number_format"),
            "Twilio's code mapped by sms_twilio's own table",
        )
        # resent from Odoo's SMS list, it still leaves from the channel's number (never
        # through IAP)
        self.twilio.failure = None
        sms.resend_failed()
        self.assertEqual(self.twilio.messages[-1]["From"], CHANNEL_NUMBER)
        self.assertEqual(self.twilio.messages[-1]["To"], CUSTOMER)

    def test_twilio_down_is_retried_with_the_same_sms(self):
        self.twilio.failure = (503, 20503, "Service unavailable")
        sent = self.reply("Are you there?")
        self.assertEqual(sent["status"], "queued")
        message = self.Message.browse(sent["id"])
        self.assertEqual(
            self.Sms.search([("omnichannel_message_id", "=", message.id)]).failure_type,
            "sms_server",
        )
        self.twilio.failure = None
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")
        self.assertEqual(len(self.twilio.messages), 1)
        self.assertEqual(
            self.Sms.search_count([("omnichannel_message_id", "=", message.id)]), 1
        )

    def test_blacklisted_number_is_not_answered_by_sms(self):
        self.env["phone.blacklist"].sudo()._add([CUSTOMER])
        with self.assertRaisesRegex(UserError, "SMS blacklist"):
            self.reply("Hello")
        self.assertFalse(self.twilio.messages)

    def test_files_are_sent_as_links(self):
        sent = self.reply("The offer", ("offer.pdf", b"%PDF offer"))
        self.assertEqual(sent["status"], "sent")
        body = self.twilio.messages[-1]["Body"]
        self.assertTrue(
            body.startswith(f"The offer\noffer.pdf: {self.base_url()}/web/content/")
        )
        link = body.split("offer.pdf: ", 1)[1]
        self.assertEqual(self.url_open(link).content, b"%PDF offer")

    def test_register_and_check_webhook(self):
        channel = self.channel.with_user(self.env.ref("base.user_admin"))
        action = channel.action_check_webhook()
        self.assertEqual(
            action["params"]["type"], "warning", "the number does not point here yet"
        )
        channel.action_register_webhook()
        self.assertEqual(self.twilio_number["sms_url"], self.channel.webhook_url)
        action = channel.action_check_webhook()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(CHANNEL_NUMBER, action["params"]["message"])
        self.channel.account_ref = "+12025550199"
        with self.assertRaisesRegex(UserError, "not a number of this Twilio account"):
            channel.action_check_webhook()

    def test_channel_number_must_be_a_phone_number(self):
        with self.assertRaises(ValidationError):
            self.channel.account_ref = "my twilio"
