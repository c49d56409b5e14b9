from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_channel import SENDING_EMAIL


class OmnichannelChannel(models.Model):
    """The email channel account: one per company (created on install).

    It does not receive anything by itself: mail reaches Odoo through its
    mail gateway (the sales teams' aliases create leads, replies are routed
    to their lead by ``message_update``).  Each email posted on a lead or a
    customer is mirrored into the customer's history on this account, and a
    reply "by email" from the chat panel is posted on the lead as a normal
    Odoo email.  Archiving the account stops the mirroring.  The mirroring,
    which the lead and the partner call, is in omnichannel_channel.py
    ("email capture")."""

    _inherit = "omnichannel.channel"

    email_alias = fields.Char(
        "Incoming address",
        compute="_compute_email_alias",
        help="Address of the sales team's mail alias: mail sent there creates leads.",
    )

    @api.depends("team_id", "channel_type")
    def _compute_email_alias(self):
        for channel in self:
            team = channel.team_id.sudo() if channel.channel_type == "email" else None
            channel.email_alias = (
                team.alias_email if team and "alias_email" in team._fields else False
            )

    @api.model
    def _create_email_accounts(self):
        """Install: one email account per company, on its main sales team."""
        for company in self.env["res.company"].sudo().search([]):
            if (
                self.sudo()
                .with_context(active_test=False)
                .search_count(
                    [("channel_type", "=", "email"), ("company_id", "=", company.id)],
                    limit=1,
                )
            ):
                continue
            team = (
                self.env["crm.team"]
                .sudo()
                .search([("company_id", "in", [company.id, False])], limit=1)
            )
            self.sudo().create(
                {
                    "name": self.env._("Email"),
                    "channel_type": "email",
                    "company_id": company.id,
                    "team_id": team.id,
                    # Mail already creates its leads (aliases); an email on a
                    # customer's card does not open a deal by itself.
                    "create_leads": False,
                    "webhook_secret": False,
                }
            )

    # ------------------------------------------------------------------
    # Reply by email
    # ------------------------------------------------------------------
    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        if (
            self.channel_type == "email"
            and not conversation.partner_id.email_normalized
        ):
            raise UserError(
                self.env._(
                    "%s has no email address: add one on the customer to reply by "
                    "email.",
                    conversation.partner_id.name,
                )
            )

    def _send_outbound(self, message):
        """A reply by email: a normal Odoo email posted on the lead (or the
        customer when there is no lead), to the customer, answering their
        last email there - so it keeps its subject and references, and the
        customer's answer is routed back to the same lead."""
        if self.channel_type != "email":
            return super()._send_outbound(message)
        conversation = message.conversation_id.sudo()
        customer = conversation.partner_id
        if not customer.email_normalized:
            raise connectors.SendError(
                self.env._("%s has no email address.", customer.name), code="no_email"
            )
        lead = conversation.lead_id
        thread = lead if lead and lead.active else customer
        last_email = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", conversation.id),
                    ("id", "!=", message.id),
                    ("mail_message_id.model", "=", thread._name),
                    ("mail_message_id.res_id", "=", thread.id),
                ],
                order="date desc, id desc",
                limit=1,
            )
            .mail_message_id
        )
        subject = last_email.subject or False
        if subject and not subject.lower().startswith(("re:", " re :")):
            subject = f"Re: {subject}"
        author = message.author_user_id.partner_id or message.mail_message_id.author_id
        mail_message = thread.with_context(**{SENDING_EMAIL: True}).message_post(
            body=message.body,
            subject=subject,
            author_id=author.id,
            partner_ids=customer.ids,
            parent_id=last_email.id or False,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachments=[(a.name, a.raw) for a in message.attachment_ids.sudo()],
        )
        message.message_type = "email"
        return connectors.SendResult(mail_message.message_id, "sent")
