import json

from odoo import Command
from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update


@tagged("post_install", "-at_install")
class TestChatPanelTours(OmnichannelHttpCase):
    """The chat panel and the Sandbox page in a real browser."""

    def test_reply_to_telegram_history_from_the_lead(self):
        bot_api = FakeTelegramServer(token="555:TOUR").start()
        self.addCleanup(bot_api.stop)
        channel = self._create_channel(
            "telegram",
            name="Tour bot",
            token="555:TOUR",
            webhook_secret="tour",
            api_base_url=bot_api.url,
        )
        for update_id, text in ((1, "Добрый день!"), (2, "Сколько стоит доставка?")):
            response = self.post_webhook(
                channel,
                tg_update(update_id, text=text),
                headers={"X-Telegram-Bot-Api-Secret-Token": "tour"},
            )
            self.assertEqual(response.status_code, 200)
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        lead = conversation.lead_id
        canned = self.env["mail.canned.response"].create(
            {
                "source": "prices",
                "substitution": "{first_name}, the prices for {channel} are attached. "
                "{unknown} stays.",
                # shared the Odoo way (the inbox tour shares with a sales team)
                "group_ids": [Command.link(self.env.ref("base.group_user").id)],
            }
        )
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_lead_chat_tour",
            login="admin",
        )
        call = bot_api.calls("sendMessage")[-1]
        self.assertEqual(
            call.fields["text"],
            "Доставка бесплатная",
            "the reply really left through the Bot API",
        )
        # The file uploaded through mail's upload route reached the customer,
        # with the canned response as its caption.
        document = bot_api.calls("sendDocument")[-1]
        self.assertEqual(
            document.files["document"][:2],
            ("prices.txt", b"Price list: chairs 120 EUR"),
        )
        self.assertEqual(
            document.fields["caption"],
            "Anna, the prices for Tour bot are attached. {unknown} stays.",
        )
        attachment = conversation.omnichannel_message_ids.filtered(
            lambda m: m.direction == "out" and m.message_type == "document"
        ).mail_message_id.attachment_ids
        self.assertEqual(attachment.name, "prices.txt")
        self.assertEqual(
            (attachment.res_model, attachment.res_id),
            ("omnichannel.conversation", conversation.id),
            "the pending upload moved to the conversation",
        )
        self.assertTrue(canned.last_used, "the canned response is marked used")

    def test_sandbox_page_message_reaches_the_lead_and_back(self):
        channel = self._create_channel("sandbox", name="Tour Sandbox")
        self.start_tour(
            f"/omnichannel/sandbox/{channel.webhook_key}",
            "omnichannel_sandbox_customer_tour",
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        self.assertEqual(conversation.partner_id.name, "Tour Visitor")
        lead = conversation.lead_id
        self.assertTrue(lead)
        session = conversation.identity_id.provider_user_id

        # While the salesperson has the lead open, the visitor writes again
        # (the tour posts it like the Sandbox page): the panel shows it live.
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_sandbox_lead_tour",
            login="admin",
        )
        reply = self.url_open(
            f"/omnichannel/sandbox/{channel.webhook_key}/messages",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "session": session,
                        "token": channel._sandbox_visitor_token(session),
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        ).json()["result"]["messages"]
        self.assertEqual(
            [m["text"] for m in reply if m["direction"] == "out"],
            ["Yes, how can I help?"],
            "the Sandbox page receives the reply",
        )

    def test_unreadable_request_is_read_again_from_the_dashboard(self):
        channel = self._create_channel(
            "telegram", name="Journal tour bot", token="556:TOUR", webhook_secret="tour"
        )
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            ._journal_request(
                channel,
                channel._get_connector(),
                json.dumps(tg_update(7, text="kept for an upgrade")).encode(),
            )
        )
        # What an older version could not read.
        row.write(
            {
                "state": "unreadable",
                "next_attempt_date": False,
                "error_message": "older version",
            }
        )
        self.env["omnichannel.inbound.event"].sudo().search(
            [("state", "=", "unreadable"), ("id", "!=", row.id)]
        ).unlink()
        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_dashboard_action",
            "omnichannel_journal_unreadable_tour",
            login="admin",
        )
        self.assertFalse(row.exists(), "the request made way for its event")
        message = (
            self.env["omnichannel.message"]
            .sudo()
            .search([("channel_id", "=", channel.id)])
        )
        self.assertIn("kept for an upgrade", message.body)
