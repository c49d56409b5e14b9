import uuid
from email.utils import formatdate

from odoo.tests import tagged

from .common import OmnichannelTransactionCase

INCOMING = """Return-Path: <{email}>
From: {sender} <{email}>
To: {to}
Subject: {subject}
Date: {date}
Message-ID: {msg_id}
{extra}MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{body}
"""


@tagged("post_install", "-at_install")
class TestEmailChannel(OmnichannelTransactionCase):
    """Mail Odoo receives and sends for leads and customers, in the same
    history as the chats, through Odoo's real mail gateway (message_process)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        domain = cls.env["mail.alias.domain"].create(
            {
                "name": "shop.example.com",
                "catchall_alias": "catchall",
                "bounce_alias": "bounce",
                "default_from": "notifications",
                "company_ids": [(4, cls.company.id)],
            }
        )
        cls.company.alias_domain_id = domain
        cls.team = cls.env.ref("sales_team.team_sales_department")
        cls.team.alias_id.sudo().write(
            {"alias_domain_id": domain.id, "alias_name": "sales"}
        )
        cls.account = cls.env["omnichannel.channel"].search(
            [("channel_type", "=", "email"), ("company_id", "=", cls.company.id)]
        )
        cls.salesman = cls.env["res.users"].create(
            {
                "name": "Sergey Salesman",
                "login": "sergey",
                "email": "sergey@shop.example.com",
                "group_ids": [(4, cls.env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        cls.Message = cls.env["omnichannel.message"].sudo()

    def receive(
        self,
        email,
        subject,
        body,
        to="sales@shop.example.com",
        sender="Olga Ivanova",
        msg_id=None,
        in_reply_to=None,
    ):
        msg_id = msg_id or f"<{uuid.uuid4().hex}@client.example.org>"
        extra = (
            f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n"
            if in_reply_to
            else ""
        )
        raw = INCOMING.format(
            date=formatdate(),
            email=email,
            sender=sender,
            to=to,
            subject=subject,
            msg_id=msg_id,
            extra=extra,
            body=body,
        )
        self.env["mail.thread"].message_process(None, raw.encode())
        return self.env["mail.message"].search([("message_id", "=", msg_id)])

    def history(self, res_model, record):
        return self.Message.panel_fetch(res_model, record.id)

    # ------------------------------------------------------------------
    def test_email_account_created_on_install(self):
        self.assertEqual(
            len(self.account), 1, "one email account per company, created on install"
        )
        self.assertEqual(
            self.account.email_alias,
            "sales@shop.example.com",
            "the account shows the address of its team's alias",
        )

    def test_alias_email_creates_lead_and_links_a_new_customer(self):
        mail = self.receive(
            "olga@client.example.org",
            "Need 40 chairs",
            "Hello, do you have 40 office chairs?",
        )
        lead = self.env["crm.lead"].browse(mail.res_id)
        self.assertEqual(
            mail.model, "crm.lead", "the alias created a lead (crm message_new)"
        )
        partner = lead.partner_id
        self.assertTrue(partner, "the stranger became a customer")
        self.assertEqual(
            (partner.name, partner.email_normalized),
            ("Olga Ivanova", "olga@client.example.org"),
        )
        self.assertEqual(
            mail.author_id, partner, "the email is authored by the customer"
        )
        self.assertEqual(
            lead.source_id,
            self.account.source_id,
            "email is the channel of first contact",
        )
        identity = self.env["omnichannel.identity"].search(
            [("channel_id", "=", self.account.id)]
        )
        self.assertEqual(
            (identity.provider_user_id, identity.partner_id),
            ("olga@client.example.org", partner),
        )

        history = self.history("crm.lead", lead)
        self.assertEqual(len(history["messages"]), 1)
        shown = history["messages"][0]
        self.assertEqual(
            (
                shown["direction"],
                shown["channel_type"],
                shown["message_type"],
                shown["subject"],
            ),
            ("in", "email", "email", "Need 40 chairs"),
        )
        self.assertIn("40 office chairs", shown["body"])
        mirror = self.Message.browse(shown["id"])
        self.assertEqual(
            mirror.mail_message_id, mail, "linked to the incoming mail.message"
        )
        self.assertEqual(mirror.conversation_id.lead_id, lead)
        self.assertEqual(
            mirror.conversation_id.state, "open", "the customer waits for an answer"
        )

    def test_alias_email_of_a_known_customer_links_them(self):
        known = self.env["res.partner"].create(
            {
                "name": "Olga Ivanova (ООО Ромашка)",
                "email": "Olga@Client.example.org",
                "phone": "+7 912 345-67-89",
            }
        )
        mail = self.receive(
            "olga@client.example.org", "Another order", "Again 10 chairs please"
        )
        lead = self.env["crm.lead"].browse(mail.res_id)
        self.assertEqual(lead.partner_id, known, "no duplicate customer")
        self.assertEqual(
            self.Message.search([("mail_message_id", "=", mail.id)]).partner_id, known
        )
        self.assertEqual(
            self.history("res.partner", known)["messages"][0]["subject"],
            "Another order",
        )

    def test_reply_to_a_lead_email_is_routed_to_the_lead_and_shown(self):
        customer = self.env["res.partner"].create(
            {"name": "Pavel Orlov", "email": "pavel@client.example.org"}
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Desks for Pavel",
                "partner_id": customer.id,
                "user_id": self.salesman.id,
                "team_id": self.team.id,
            }
        )
        # The salesperson emails the customer from the lead's chatter.
        sent = lead.with_user(self.salesman).message_post(
            body="Hello Pavel, here is our offer.",
            subject="Offer for desks",
            partner_ids=customer.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        outgoing = self.Message.search([("mail_message_id", "=", sent.id)])
        self.assertEqual(
            (
                outgoing.direction,
                outgoing.author_kind,
                outgoing.author_user_id,
                outgoing.channel_id,
            ),
            ("out", "employee", self.salesman, self.account),
            "the chatter email is in the history",
        )
        self.assertEqual(outgoing.conversation_id.state, "waiting")

        # A note is internal: not part of the customer's history.
        lead.with_user(self.salesman).message_post(
            body="Call him tomorrow",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        # The customer answers the email: Odoo routes it to the lead.
        reply = self.receive(
            "pavel@client.example.org",
            "Re: Offer for desks",
            "Thanks, can you add chairs?",
            to="catchall@shop.example.com",
            sender="Pavel Orlov",
            in_reply_to=sent.message_id,
        )
        self.assertEqual(
            (reply.model, reply.res_id),
            ("crm.lead", lead.id),
            "message_update routed it to the lead",
        )

        history = self.history("crm.lead", lead)["messages"]
        self.assertEqual(
            [(m["direction"], m["channel_type"]) for m in reversed(history)],
            [("out", "email"), ("in", "email")],
            "oldest first: our email, then the answer; no note",
        )
        self.assertIn("add chairs", history[0]["body"])
        conversation = outgoing.conversation_id
        self.assertEqual(
            conversation.state, "open", "the customer answered: waiting for us again"
        )
        self.assertEqual(conversation.lead_id, lead)
        self.assertEqual(
            self.Message.search_count([("conversation_id", "=", conversation.id)]), 2
        )

    def test_reply_by_email_from_the_panel_keeps_the_thread(self):
        mail = self.receive(
            "olga@client.example.org",
            "Need 40 chairs",
            "Hello, do you have 40 office chairs?",
            msg_id="<first-question@client.example.org>",
        )
        lead = self.env["crm.lead"].browse(mail.res_id)
        lead.user_id = self.salesman
        targets = self.Message.with_user(self.salesman).panel_fetch("crm.lead", lead.id)
        email_conversation = self.Message.search(
            [("mail_message_id", "=", mail.id)]
        ).conversation_id
        self.assertEqual(
            targets["default_conversation_id"],
            email_conversation.id,
            "the reply goes by email, where the customer wrote",
        )

        sent = self.Message.with_user(self.salesman).panel_send(
            "crm.lead",
            lead.id,
            email_conversation.id,
            text="Yes, 40 chairs are in stock.",
        )
        self.assertEqual((sent["status"], sent["channel_type"]), ("sent", "email"))
        reply = self.Message.browse(sent["id"])
        email = self.env["mail.message"].search(
            [("message_id", "=", reply.provider_message_id)]
        )
        self.assertEqual(
            (email.model, email.res_id),
            ("crm.lead", lead.id),
            "a normal email on the lead",
        )
        self.assertEqual(email.subject, "Re: Need 40 chairs")
        self.assertEqual(email.author_id, self.salesman.partner_id)
        mail_mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("mail_message_id", "=", email.id)])
            .filtered(lambda m: lead.partner_id in m.recipient_ids)
        )
        self.assertEqual(len(mail_mail), 1, "sent to the customer")
        self.assertIn("40 chairs are in stock", mail_mail.body_html)
        self.assertIn(
            "<first-question@client.example.org>",
            mail_mail.references,
            "it answers the customer's email: their mail client threads it",
        )
        self.assertIn(email.message_id, mail_mail.references)

        # The customer's answer comes back to the same lead and history.
        answer = self.receive(
            "olga@client.example.org",
            "Re: Need 40 chairs",
            "Great, I take them.",
            to="catchall@shop.example.com",
            in_reply_to=email.message_id,
        )
        self.assertEqual((answer.model, answer.res_id), ("crm.lead", lead.id))
        history = self.history("crm.lead", lead)["messages"]
        self.assertEqual(
            [m["direction"] for m in reversed(history)], ["in", "out", "in"]
        )
        self.assertEqual(
            self.Message.search_count([("channel_id", "=", self.account.id)]),
            3,
            "the panel reply is recorded once, not again by the lead's post hook",
        )

    def test_reply_by_email_to_a_customer_who_never_emailed(self):
        telegram_customer = self.env["res.partner"].create(
            {"name": "Ivan Petrov", "email": "ivan@client.example.org"}
        )
        lead = self.env["crm.lead"].create(
            {"name": "Chairs for Ivan", "partner_id": telegram_customer.id}
        )
        data = self.Message.panel_fetch("crm.lead", lead.id)
        target = [c for c in data["conversations"] if c["channel_type"] == "email"]
        self.assertEqual(
            len(target), 1, "email is offered as soon as the customer has an address"
        )
        self.assertEqual(data["default_conversation_id"], target[0]["id"])
        self.assertFalse(
            self.env["omnichannel.conversation"].search(
                [("partner_id", "=", telegram_customer.id)]
            ),
            "offering it creates nothing",
        )

        sent = self.Message.panel_send(
            "crm.lead", lead.id, target[0]["id"], text="Our catalogue is attached."
        )
        conversation = self.env["omnichannel.conversation"].browse(
            sent["conversation_id"]
        )
        self.assertEqual(
            (conversation.channel_id, conversation.partner_id, conversation.lead_id),
            (self.account, telegram_customer, lead),
        )
        email = self.env["mail.message"].search(
            [("message_id", "=", self.Message.browse(sent["id"]).provider_message_id)]
        )
        self.assertEqual((email.model, email.res_id), ("crm.lead", lead.id))
        self.assertIn(
            telegram_customer,
            self.env["mail.mail"]
            .sudo()
            .search([("mail_message_id", "=", email.id)])
            .recipient_ids,
        )

    def test_archived_email_account_stops_mirroring(self):
        self.account.active = False
        mail = self.receive("olga@client.example.org", "Need 40 chairs", "Hello")
        self.assertEqual(
            mail.model, "crm.lead", "the lead is still created by the alias"
        )
        self.assertFalse(self.Message.search([("mail_message_id", "=", mail.id)]))
