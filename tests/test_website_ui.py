import uuid
from email.utils import formatdate

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .test_website_api import create_widget_accounts


@tagged("post_install", "-at_install")
class TestWebsiteTours(OmnichannelHttpCase):
    """The contact page, the messenger widget and reply by email, in Chromium."""

    def test_contact_form_and_widget(self):
        create_widget_accounts(self)
        form = self._create_channel("website", name="Main site")
        self.start_tour(
            f"/omnichannel/contact/{form.webhook_key}?utm_source=tour_banner&page_url=https://shop.example.com/desks",
            "omnichannel_contact_form_tour",
        )
        row = self.env["omnichannel.inbound.event"].search(
            [("channel_id", "=", form.id)]
        )
        self.assertEqual(
            (len(row), row.state), (1, "done"), "the form was journaled and processed"
        )
        lead = row.message_id.lead_id
        self.assertEqual(
            (
                lead.partner_id.name,
                lead.partner_id.email,
                lead.partner_id.phone_sanitized,
            ),
            ("Tour Visitor", "tour.visitor@client.example.org", "+79127000001"),
        )
        self.assertEqual(lead.source_id.name, "tour_banner")
        self.assertIn("12 desks", row.message_id.body)
        self.assertIn("https://shop.example.com/desks", row.message_id.body)

    def test_reply_by_email_from_the_lead(self):
        company = self.env.company
        domain = self.env["mail.alias.domain"].create(
            {
                "name": "shop.example.com",
                "catchall_alias": "catchall",
                "bounce_alias": "bounce",
                "default_from": "notifications",
                "company_ids": [(4, company.id)],
            }
        )
        company.alias_domain_id = domain
        team = self.env.ref("sales_team.team_sales_department")
        team.alias_id.sudo().write(
            {"alias_domain_id": domain.id, "alias_name": "sales"}
        )
        customer = self.env["res.partner"].create(
            {"name": "Olga Ivanova", "email": "olga@client.example.org"}
        )
        # She first wrote on the Sandbox, then emailed the sales alias.
        sandbox = self._create_channel("sandbox", name="Tour Sandbox")
        self._journal_and_process(
            sandbox,
            [
                self._sandbox_event(
                    "olga-session",
                    "Hello",
                    email="olga@client.example.org",
                    name="Olga Ivanova",
                )
            ],
        )
        raw = (
            "From: Olga Ivanova <olga@client.example.org>\nTo: sales@shop.example.com\n"
            f"Subject: Desks for the new office\nDate: {formatdate()}\nMessage-ID: "
            f"<{uuid.uuid4().hex}@client.example.org>\n"
            'Content-Type: text/plain; charset="utf-8"\n\nWe need 12 desks.\n'
        )
        self.env["mail.thread"].message_process(None, raw.encode())
        lead = self.env["crm.lead"].search(
            [("partner_id", "=", customer.id)], order="id desc", limit=1
        )
        self.assertTrue(lead)
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_reply_by_email_tour",
            login="admin",
        )
        reply = self.env["omnichannel.message"].search(
            [("conversation_id.channel_type", "=", "email"), ("direction", "=", "out")]
        )
        email = self.env["mail.message"].search(
            [("message_id", "=", reply.provider_message_id)]
        )
        self.assertEqual(
            (email.model, email.res_id, email.subject),
            ("crm.lead", lead.id, "Re: Desks for the new office"),
        )
        sent = self.env["mail.mail"].sudo().search([("mail_message_id", "=", email.id)])
        self.assertIn(customer, sent.recipient_ids, "a real email to the customer")
