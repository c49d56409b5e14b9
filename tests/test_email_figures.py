"""An email written from the lead's chatter answers the customer's email:
it is measured like a reply from the chat panel."""

from datetime import datetime
from email.utils import formatdate

from freezegun import freeze_time

from odoo.tests import new_test_user, tagged

from .common import OmnichannelTransactionCase
from .test_email import INCOMING


@tagged("post_install", "-at_install")
class TestEmailResponseFigures(OmnichannelTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Mail to sales@shop.example.com opens a lead of the Sales team.
        domain = cls.env["mail.alias.domain"].create(
            {"name": "shop.example.com", "company_ids": [(4, cls.env.company.id)]}
        )
        cls.env.company.alias_domain_id = domain
        cls.env.ref("sales_team.team_sales_department").alias_id.sudo().write(
            {"alias_domain_id": domain.id, "alias_name": "sales"}
        )
        cls.salesman = new_test_user(
            cls.env,
            "email_figures",
            groups="sales_team.group_sale_salesman",
            email="sergey@shop.example.com",
        )
        cls.Message = cls.env["omnichannel.message"].sudo()

    def test_email_answered_from_the_lead_chatter(self):
        with freeze_time(datetime(2026, 3, 10, 7, 0)):
            self.env["mail.thread"].message_process(
                None,
                INCOMING.format(
                    date=formatdate(),
                    email="olga@client.example.org",
                    sender="Olga Ivanova",
                    to="sales@shop.example.com",
                    subject="Need 40 chairs",
                    msg_id="<chairs@client.example.org>",
                    extra="",
                    body="Do you have 40 office chairs?",
                ).encode(),
            )
        mail = self.env["mail.message"].search(
            [("message_id", "=", "<chairs@client.example.org>")]
        )
        lead = self.env["crm.lead"].browse(mail.res_id)
        lead.user_id = self.salesman
        conversation = self.Message.search(
            [("mail_message_id", "=", mail.id)]
        ).conversation_id
        self.assertEqual(conversation.waiting_since, datetime(2026, 3, 10, 7, 0))

        with freeze_time(datetime(2026, 3, 10, 7, 45)):
            lead.with_user(self.salesman).message_post(
                body="Yes, 40 chairs are in stock.",
                partner_ids=lead.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        reply = self.Message.search(
            [("conversation_id", "=", conversation.id), ("direction", "=", "out")]
        )
        self.assertEqual(len(reply), 1, "the email is in the history")
        self.assertEqual(
            (reply.response_seconds, reply.response_user_id, reply.is_first_response),
            (45 * 60, self.salesman, True),
        )
        self.assertEqual(conversation.first_response_seconds, 45 * 60)
        self.assertFalse(conversation.waiting_since)
