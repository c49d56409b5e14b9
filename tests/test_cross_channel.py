from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user
from .fake_twilio import ACCOUNT_SID, AUTH_TOKEN, incoming_sms, twilio_request
from .fake_viber import viber_message, viber_signature, viber_user
from .fake_vk import GROUP_ID, vk_message_new

PHONE = "+79125554433"


@tagged("post_install", "-at_install")
class TestOnePersonManyChannels(OmnichannelHttpCase):
    """The same person over Viber, SMS, Telegram and VK ends in one customer
    with one open lead, matched by phone or by email.  No provider API is
    called in these flows (names come with the webhooks, no files), except
    VK's users.get, which fails here and leaves the bare id."""

    def setUp(self):
        super().setUp()
        self.env.company.sudo().write(
            {"sms_twilio_account_sid": ACCOUNT_SID, "sms_twilio_auth_token": AUTH_TOKEN}
        )
        self.viber = self._create_channel("viber", name="Viber", token="viber-token")
        self.sms = self._create_channel("sms", name="SMS", account_ref="+12025550123")
        self.telegram = self._create_channel(
            "telegram", name="Telegram", token="1:T", webhook_secret="tg-secret"
        )
        self.vk = self._create_channel(
            "vk",
            name="VK",
            token="vk-token",
            webhook_secret="vk-secret-key",
            account_ref=str(GROUP_ID),
            api_base_url="http://127.0.0.1:9/method",
        )
        self.Lead = self.env["crm.lead"].with_context(active_test=False)

    # -- what each provider POSTs --------------------------------------------------
    def from_viber(self, token, message, user=None):
        body, signature = viber_signature(
            "viber-token", viber_message(token, message, user=user)
        )
        self.assertEqual(
            self.post_webhook(
                self.viber, body, {"X-Viber-Content-Signature": signature}
            ).status_code,
            200,
        )

    def from_sms(self, text, number=PHONE):
        body, headers = twilio_request(
            self.sms.webhook_url, incoming_sms(number, "+12025550123", text)
        )
        self.assertEqual(self.post_webhook(self.sms, body, headers).status_code, 200)

    def from_telegram(self, update):
        response = self.post_webhook(
            self.telegram, update, {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
        )
        self.assertEqual(response.status_code, 200)

    def from_vk(self, message_id, text, from_id=5550101):
        self.assertEqual(
            self.post_webhook(
                self.vk, vk_message_new(message_id, text=text, from_id=from_id)
            ).text,
            "ok",
        )

    def conversation(self, channel):
        return self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )

    def open_leads(self, partner):
        return self.Lead.search(
            [
                ("partner_id", "=", partner.id),
                ("active", "=", True),
                ("won_status", "=", "pending"),
            ]
        )

    # -- by phone ------------------------------------------------------------------
    def test_viber_sms_and_telegram_by_phone(self):
        self.from_sms("Нужен диван")
        customer = self.conversation(self.sms).partner_id
        self.assertEqual(customer.phone_sanitized, PHONE)
        self.from_viber(101, {"type": "text", "text": "Это я же, по поводу дивана"})
        self.assertNotEqual(
            self.conversation(self.viber).partner_id,
            customer,
            "a Viber id says nothing of the phone",
        )
        self.assertNotEqual(
            self.conversation(self.viber).lead_id, self.conversation(self.sms).lead_id
        )
        # she shares a contact card in Viber: Viber does not say whose, so a
        # salesperson is asked, and confirms it is her
        self.from_viber(
            102,
            {
                "type": "contact",
                "contact": {"name": "Anna", "phone_number": "79125554433"},
            },
        )
        self.assertNotEqual(
            self.conversation(self.viber).partner_id,
            customer,
            "a card proves nothing by itself",
        )
        suggestion = self.conversation(self.viber).identity_id.suggestion_ids
        self.assertEqual(
            (suggestion.partner_id, suggestion.state), (customer, "pending")
        )
        suggestion.action_confirm()
        # and writes to the Telegram bot, then shares her contact there too
        self.from_telegram(tg_update(1, text="Добрый день"))
        # her own Telegram contact (user_id = the sender): a proof, linked at once
        self.from_telegram(
            tg_update(
                2,
                contact={
                    "phone_number": "+7 912 555-44-33",
                    "first_name": "Anna",
                    "user_id": tg_user()["id"],
                },
            )
        )
        self.assertTrue(self.conversation(self.telegram).identity_id.phone_verified)
        conversations = (
            self.conversation(self.sms)
            | self.conversation(self.viber)
            | self.conversation(self.telegram)
        )
        self.assertEqual(len(conversations), 3)
        self.assertEqual(conversations.partner_id, customer, "one customer")
        leads = self.open_leads(customer)
        self.assertEqual(len(leads), 1, "one open lead")
        self.assertEqual(conversations.lead_id, leads)
        self.assertEqual(conversations.identity_id.partner_id, customer)
        history = self.env["omnichannel.message"].panel_fetch("crm.lead", leads.id)
        self.assertEqual(
            {m["channel_type"] for m in history["messages"]},
            {"sms", "viber", "telegram"},
            "the lead shows the whole history",
        )
        self.assertEqual(
            len(history["conversations"]), 3, "and offers each channel to reply"
        )

    def test_a_contact_card_in_viber_never_makes_the_sender_the_sms_customer(self):
        """A Viber card says nothing of whose phone it is: the sender keeps
        no phone from it, and the SMS customer written later is not them."""
        self.from_viber(
            201, {"type": "contact", "contact": {"name": "Anna", "phone_number": PHONE}}
        )
        viber_customer = self.conversation(self.viber).partner_id
        self.assertFalse(self.conversation(self.viber).identity_id.phone)
        self.assertFalse(viber_customer.phone)
        self.from_sms("Это Анна, жду звонка")
        self.assertNotEqual(self.conversation(self.sms).partner_id, viber_customer)
        self.assertEqual(len(self.open_leads(viber_customer)), 1)

    # -- by email ------------------------------------------------------------------
    def test_email_written_in_a_chat_is_suggested_then_joins_the_email_history(self):
        olga = self.env["res.partner"].create(
            {"name": "Olga Ivanova", "email": "olga.ivanova@example.com"}
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Kitchen for Olga",
                "partner_id": olga.id,
                "email_from": "olga.ivanova@example.com",
            }
        )
        email = lead.message_post(
            body="Please send me the kitchen catalogue",
            message_type="email",
            author_id=olga.id,
            subtype_xmlid="mail.mt_comment",
        )
        self.from_vk(301, "Здравствуйте, это Ольга")
        self.assertNotEqual(self.conversation(self.vk).partner_id, olga)
        self.from_vk(302, "Мой email: Olga.Ivanova@Example.com, пишите туда")
        conversation = self.conversation(self.vk)
        self.assertNotEqual(
            conversation.partner_id,
            olga,
            "anyone can type an address: nothing is linked",
        )
        self.assertEqual(
            conversation.identity_id.email_normalized, "olga.ivanova@example.com"
        )
        self.assertFalse(conversation.identity_id.email_verified)
        history = self.env["omnichannel.message"].panel_fetch(
            "omnichannel.conversation", conversation.id
        )
        self.assertEqual(
            [m["channel_type"] for m in history["messages"]],
            ["vk", "vk"],
            "Olga's email stays hidden",
        )
        suggestions = self.env["omnichannel.identity.suggestion"].panel_suggestions(
            "omnichannel.conversation", conversation.id
        )
        self.assertEqual([s["customer_name"] for s in suggestions], ["Olga Ivanova"])
        self.assertIn("same email", suggestions[0]["label"])
        self.env["omnichannel.identity.suggestion"].browse(
            suggestions[0]["id"]
        ).action_confirm()
        self.assertEqual(
            conversation.partner_id,
            olga,
            "the salesperson confirmed: the chat joins her history",
        )
        self.assertEqual(
            self.open_leads(olga),
            lead,
            "her open lead is kept, the one of the chat archived",
        )
        self.assertEqual(conversation.lead_id, lead)
        self.assertIn(email, lead.message_ids, "the email history is untouched")
        history = self.env["omnichannel.message"].panel_fetch("res.partner", olga.id)
        self.assertEqual(
            sorted(m["channel_type"] for m in history["messages"]),
            ["email", "vk", "vk"],
            "her email and both VK messages are one history",
        )
        # the same address written in Viber and over SMS: suggested again
        self.from_viber(
            303,
            {"type": "text", "text": "olga.ivanova@example.com"},
            user=viber_user("OLGA=", "Olga"),
        )
        self.assertNotEqual(self.conversation(self.viber).partner_id, olga)
        self.assertEqual(
            self.conversation(self.viber).identity_id.suggestion_ids.partner_id, olga
        )
        self.from_sms("my mail is olga.ivanova@example.com", number="+79035550000")
        self.assertNotEqual(self.conversation(self.sms).partner_id, olga)
        self.assertEqual(
            self.conversation(self.sms).identity_id.suggestion_ids.partner_id, olga
        )
        self.assertEqual(len(self.open_leads(olga)), 1)

    def test_an_ambiguous_message_links_nothing(self):
        olga = self.env["res.partner"].create(
            {"name": "Olga Ivanova", "email": "olga.ivanova@example.com"}
        )
        self.from_vk(401, "send it to olga.ivanova@example.com or to boss@example.com")
        self.assertNotEqual(
            self.conversation(self.vk).partner_id,
            olga,
            "two addresses: nobody is guessed",
        )
        self.assertFalse(self.conversation(self.vk).identity_id.email)
        salesman = self.env["res.users"].create(
            {
                "name": "Sergey Sales",
                "login": "sergey",
                "email": "sergey@mebel.example.com",
            }
        )
        self.from_vk(402, "I already wrote to Sergey@mebel.example.com")
        identity = self.conversation(self.vk).identity_id
        self.assertNotEqual(
            identity.partner_id,
            salesman.partner_id,
            "an employee's address is not the customer's",
        )
        self.assertFalse(identity.email)
