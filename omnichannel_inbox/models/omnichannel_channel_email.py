import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize, parse_contact_from_email

from odoo.addons.omnichannel_inbox import connectors

_logger = logging.getLogger(__name__)

#: Context key set while we post an email ourselves (a reply from the chat
#: panel), so that the lead's post hook does not record it a second time.
SENDING_EMAIL = "omnichannel_sending_email"


class OmnichannelChannel(models.Model):
    """The email channel account: one per company (created on install).

    It does not receive anything by itself: mail reaches Odoo through its
    mail gateway (the sales teams' aliases create leads, replies are routed
    to their lead by ``message_update``).  Each email posted on a lead or a
    customer is mirrored into the customer's history on this account, and a
    reply "by email" from the chat panel is posted on the lead as a normal
    Odoo email.  Archiving the account stops the mirroring."""

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

    @api.model
    def _email_account(self, company):
        return self.sudo().search(
            [("channel_type", "=", "email"), ("company_id", "=", company.id)], limit=1
        )

    # ------------------------------------------------------------------
    # Mail posted on a lead or a customer
    # ------------------------------------------------------------------
    @api.model
    def _email_capture(self, record, message):
        """Called after each message posted on a lead or a partner: mirror
        a customer's email, or an employee's email to the customer, into the
        history.  A failure here never loses the email (it stays in the
        record's chatter): it is logged and the mail gateway goes on."""
        if self.env.context.get(SENDING_EMAIL) or record._name not in (
            "crm.lead",
            "res.partner",
        ):
            return
        message = message.sudo()
        author = message.author_id
        author_is_employee = bool(author) and not author.partner_share
        if message.message_type == "email" and not author_is_employee:
            direction = "in"
        elif (
            message.message_type == "comment"
            and author_is_employee
            and message.subtype_id
            and not message.subtype_id.internal
            and not message.is_internal
        ):
            direction = "out"
        else:
            return
        record = record.sudo()
        company = record.company_id or self.env.company
        account = self._email_account(company)
        if not account:
            return
        try:
            with self.env.cr.savepoint():
                if direction == "in":
                    account._email_mirror_inbound(record, message)
                else:
                    account._email_mirror_outbound(record, message)
        except Exception:
            _logger.exception(
                "Omnichannel: could not add email %s of %s,%s to the history",
                message.id,
                record._name,
                record.id,
            )

    def _email_known_mirror(self, message):
        return (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.id),
                    ("provider_message_id", "=", message.message_id),
                ],
                limit=1,
            )
            if message.message_id
            else False
        )

    def _email_mirror_inbound(self, record, message):
        """A customer's email on ``record`` (a lead or a partner)."""
        self.ensure_one()
        name, address = parse_contact_from_email(message.email_from or "")
        email = email_normalize(address)
        if not email or self._email_known_mirror(message):
            return
        lead = record if record._name == "crm.lead" else record.browse()
        customer = lead.partner_id if lead else record
        if customer.email_normalized != email:
            # Someone else than the record's customer wrote (a colleague in
            # copy): the author the mail gateway found, else the identity rules.
            customer = message.author_id
        # The sender's address is this channel's own user id (as a Telegram
        # id is Telegram's): the mail gateway vouches for it as far as mail can.
        contact = connectors.Contact(
            user_id=email,
            name=name or (customer.name if customer else "") or email,
            email=address,
            email_verified=True,
        )
        identity = self.env["omnichannel.identity"]._resolve(
            self, contact, date=message.date, partner=customer or None
        )
        partner = identity.partner_id
        if not message.author_id:
            message.author_id = partner
        if (
            lead
            and not lead.partner_id
            and (not lead.email_normalized or lead.email_normalized == email)
        ):
            # A lead an alias created from a stranger's email: link its customer.
            lead.partner_id = partner
        if lead and not lead.source_id:
            # Email is this lead's channel of first contact.
            lead.write(
                {
                    "source_id": self.source_id.id,
                    "medium_id": lead.medium_id.id
                    or self.env.ref("utm.utm_medium_email").id,
                }
            )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        if (
            lead
            and lead.active
            and lead.won_status == "pending"
            and lead.partner_id == partner
        ):
            conversation.lead_id = lead
        mirror = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                {
                    "conversation_id": conversation.id,
                    "mail_message_id": message.id,
                    "direction": "in",
                    "author_kind": "customer",
                    "message_type": "email",
                    "provider_message_id": message.message_id or False,
                    "status": "received",
                    "date": message.date or fields.Datetime.now(),
                    "lead_id": lead.id if lead else False,
                }
            )
        )
        conversation._register_inbound(mirror)
        return mirror

    def _email_mirror_outbound(self, record, message):
        """An employee's email to the customer of ``record``, sent from its
        chatter (or an email template): part of the customer's history."""
        self.ensure_one()
        lead = record if record._name == "crm.lead" else record.browse()
        customer = lead.partner_id if lead else record
        if not customer or not customer.partner_share or not customer.email_normalized:
            return
        if (
            customer not in message.partner_ids
            and customer not in record.message_partner_ids
        ):
            return  # not sent to the customer
        if self._email_known_mirror(message):
            return
        conversation = self._email_conversation(customer, lead)
        user = message.author_id.user_ids.filtered(lambda u: not u.share)[:1]
        mirror = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                {
                    "conversation_id": conversation.id,
                    "mail_message_id": message.id,
                    "direction": "out",
                    "author_kind": "employee",
                    "author_user_id": user.id,
                    "message_type": "email",
                    "provider_message_id": message.message_id or False,
                    "status": "sent",
                    "date": message.date or fields.Datetime.now(),
                    "sent_date": message.date or fields.Datetime.now(),
                    "lead_id": conversation.lead_id.id,
                }
            )
        )
        conversation._register_outbound(mirror)
        conversation._after_outbound(mirror)
        conversation._notify_panel()
        return mirror

    def _email_conversation(self, customer, lead=None):
        """The email conversation of ``customer`` on this account, opened if
        needed (a first email to them), linked to ``lead`` when given."""
        self.ensure_one()
        contact = connectors.Contact(
            user_id=customer.email_normalized, name=customer.name, email=customer.email
        )
        identity = self.env["omnichannel.identity"]._resolve(
            self, contact, partner=customer
        )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        if (
            lead
            and lead.active
            and lead.won_status == "pending"
            and lead.partner_id == conversation.partner_id
        ):
            conversation.lead_id = lead
        elif not conversation.lead_id:
            conversation._ensure_lead()
        return conversation

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
