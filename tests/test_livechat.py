from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import JsonRpcException, tagged

from .common import OmnichannelHttpCase


@tagged("post_install", "-at_install")
class TestLivechatHistory(OmnichannelHttpCase):
    """Odoo live chat sessions, opened and written through im_livechat's own
    routes as a website visitor would, land in the visitor's history."""

    def setUp(self):
        super().setUp()
        self.operator = self.env["res.users"].create(
            {
                "name": "Oksana Operator",
                "login": "oksana",
                "password": "oksana-pass-2025",
                "email": "oksana@shop.example.com",
                "group_ids": [
                    (4, self.env.ref("sales_team.group_sale_salesman").id),
                    (4, self.env.ref("im_livechat.im_livechat_group_user").id),
                ],
            }
        )
        self.livechat = self.env["im_livechat.channel"].create(
            {"name": "Shop chat", "user_ids": [(6, 0, self.operator.ids)]}
        )
        self.env["mail.presence"]._update_presence(self.operator)
        self.account = self._create_channel(
            "livechat", name="Shop live chat", livechat_channel_id=self.livechat.id
        )
        self.Message = self.env["omnichannel.message"].sudo()

    def open_session(self, login=None):
        """The visitor opens the chat window and the session starts."""
        self.authenticate(login, login and f"{login}-pass-2025")
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {
                "channel_id": self.livechat.id,
                "previous_operator_id": self.operator.partner_id.id,
                "persisted": True,
            },
        )
        session = self.env["discuss.channel"].browse(data["channel_id"])
        guest = session.channel_member_ids.guest_id
        if guest:
            self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()
        return session

    def visitor_says(self, session, text):
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {
                    "body": text,
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )

    def operator_says(self, session, text):
        return session.with_user(self.operator).message_post(
            body=text, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def mirrored(self):
        return self.Message.search(
            [("channel_id", "=", self.account.id)], order="date, id"
        )

    def test_guest_giving_a_known_email_is_suggested_then_joins_the_customer(self):
        olga = self.env["res.partner"].create(
            {"name": "Olga Ivanova", "email": "olga@client.example.org"}
        )
        lead = self.env["crm.lead"].create(
            {"name": "Olga: desks", "partner_id": olga.id, "user_id": self.operator.id}
        )
        session = self.open_session()
        self.operator_says(session, "Hello! How can I help?")
        self.assertFalse(
            self.mirrored(), "nothing is recorded before the visitor writes"
        )

        self.visitor_says(
            session,
            "Hi, it is Olga (olga@client.example.org). Where is my order of desks?",
        )
        messages = self.mirrored()
        self.assertEqual(
            [(m.direction, m.author_kind) for m in messages],
            [("out", "employee"), ("in", "customer")],
            "the session is mirrored in order, the operator's greeting included",
        )
        conversation = messages.conversation_id
        self.assertNotEqual(
            conversation.partner_id, olga, "a guest typing an email proves nothing"
        )
        self.assertFalse(
            self.Message.panel_fetch("crm.lead", lead.id)["messages"],
            "Olga's history is apart",
        )
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual((suggestion.partner_id, suggestion.reason), (olga, "email"))
        # The operator recognises her and confirms.
        suggestion.with_user(self.operator).action_confirm()
        self.assertEqual((conversation.partner_id, conversation.lead_id), (olga, lead))
        self.assertEqual(messages[0].author_user_id, self.operator)
        self.assertFalse(
            self.env["res.partner"].search(
                [("omnichannel_auto_created", "=", True), ("active", "=", True)]
            ),
            "confirmed: the guest's own customer is archived",
        )
        history = self.Message.panel_fetch("crm.lead", lead.id)
        self.assertEqual(
            [m["channel_type"] for m in history["messages"]], ["livechat", "livechat"]
        )
        self.assertIn("Where is my order", history["messages"][0]["body"])
        self.assertEqual(conversation.state, "open")

        # The operator answers in Discuss: an employee reply.
        self.operator_says(session, "It leaves the warehouse today.")
        self.assertEqual(conversation.state, "waiting")
        self.assertTrue(conversation.first_response_date)
        self.assertEqual(len(self.mirrored()), 3)

        # The salesperson answers from the lead: posted into the session.
        sent = self.Message.with_user(self.operator).panel_send(
            "crm.lead", lead.id, conversation.id, text="Tracking number: 42"
        )
        self.assertEqual(sent["status"], "sent")
        posted = session.message_ids.filtered(
            lambda m: "Tracking number: 42" in (m.body or "")
        )
        self.assertEqual(
            (len(posted), posted.author_id),
            (1, self.operator.partner_id),
            "the visitor sees it in the live chat",
        )
        self.assertEqual(
            len(self.mirrored()), 4, "recorded once, not again by the session hook"
        )

        # Once the visitor closed the chat, the panel explains why it cannot answer
        # there.
        self.visitor_says(session, "Also, can I change the colour?")
        session.livechat_end_dt = fields.Datetime.now()
        with self.assertRaises(UserError):
            self.Message.with_user(self.operator).panel_send(
                "crm.lead", lead.id, conversation.id, text="Hello?"
            )
        # Answered by email instead: that ends the wait of the closed chat too.
        self.assertEqual(conversation.state, "open")
        email_target = [
            c
            for c in self.Message.panel_fetch("crm.lead", lead.id)["conversations"]
            if c["channel_type"] == "email"
        ][0]
        self.Message.with_user(self.operator).panel_send(
            "crm.lead", lead.id, email_target["id"], text="Yes, any colour."
        )
        self.assertEqual(
            (conversation.state, conversation.waiting_since), ("waiting", False)
        )

    def test_anonymous_visitor_becomes_a_customer_with_a_lead(self):
        session = self.open_session()
        self.visitor_says(session, "How much is delivery to Kazan?")
        message = self.mirrored()
        self.assertEqual((message.direction, message.message_type), ("in", "text"))
        partner = message.partner_id
        self.assertTrue(partner.omnichannel_auto_created)
        lead = message.lead_id
        self.assertEqual(
            (lead.partner_id, lead.source_id, lead.medium_id),
            (partner, self.account.source_id, self.env.ref("utm.utm_medium_website")),
        )
        # Later in the chat they give their phone: it is stored on the customer.
        self.visitor_says(session, "Call me: 8 (912) 555-44-33")
        self.assertEqual(partner.phone_sanitized, "+79125554433")
        self.assertEqual(len(self.mirrored()), 2)

    def test_guest_message_over_the_cap_is_refused(self):
        """A 300 KB chat message from an anonymous visitor is refused like an
        oversized webhook text; nothing of it is stored or mirrored."""
        session = self.open_session()
        self.visitor_says(session, "Hello")
        before = len(session.message_ids)
        huge = ("a" * 60 + "@") * 5000
        with self.assertRaises(JsonRpcException) as refusal:
            self.visitor_says(session, huge)
        self.assertIn("UserError", str(refusal.exception))
        session.invalidate_recordset()
        self.assertEqual(len(session.message_ids), before)
        self.assertEqual(len(self.mirrored()), 1)
        # The operator is not capped by it (their replies are Odoo's own messages).
        self.operator_says(session, "A long answer " * 5000)

    def test_logged_in_visitor_is_their_own_customer(self):
        portal = self.env["res.users"].create(
            {
                "name": "Pavel Portal",
                "login": "pavel",
                "password": "pavel-pass-2025",
                "email": "pavel@client.example.org",
                "group_ids": [(6, 0, self.env.ref("base.group_portal").ids)],
            }
        )
        # Another customer shares the address: the logged-in partner wins.
        self.env["res.partner"].create(
            {"name": "Pavel (old card)", "email": "pavel@client.example.org"}
        )
        session = self.open_session("pavel")
        self.visitor_says(session, "Hello from my account")
        message = self.mirrored()
        self.assertEqual(message.partner_id, portal.partner_id)
        self.assertEqual(
            message.conversation_id.identity_id.provider_user_id,
            f"partner-{portal.partner_id.id}",
        )
