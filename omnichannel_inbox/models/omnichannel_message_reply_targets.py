from odoo import api, models
from odoo.exceptions import UserError

#: Reply target of a customer who has an email address but no email
#: conversation yet: choosing it opens the conversation on the first send.
NEW_EMAIL_CONVERSATION = -1


class OmnichannelMessage(models.Model):
    """Chat panel additions of the email and website channels: "reply by
    email" as a reply target, emails shown with their subject, and website
    forms (which cannot be answered) kept out of the reply targets."""

    _inherit = "omnichannel.message"

    @api.model
    def _panel_customer(self, res_model, record):
        record = record.sudo()
        return record if res_model == "res.partner" else record.partner_id

    @api.model
    def _panel_email_account(self, record, customer):
        company = (
            (record.sudo().company_id if "company_id" in record._fields else None)
            or customer.company_id
            or self.env.company
        )
        return self.env["omnichannel.channel"]._email_account(company)

    @api.model
    def _panel_reply_targets(self, res_model, record, partners):
        result = super()._panel_reply_targets(res_model, record, partners)
        forms = {
            t["id"] for t in result["conversations"] if t["channel_type"] == "website"
        }
        targets = [t for t in result["conversations"] if t["id"] not in forms]
        email_target = next((t for t in targets if t["channel_type"] == "email"), None)
        customer = self._panel_customer(res_model, record)
        if not email_target and customer.email_normalized:
            account = self._panel_email_account(record, customer)
            if account:
                email_target = {
                    "id": NEW_EMAIL_CONVERSATION,
                    "channel_name": account.name,
                    "channel_type": "email",
                    "identity": customer.email_formatted,
                    "unreachable": False,
                    "unreachable_reason": "",
                    "state": "closed",
                }
                targets.append(email_target)
        default = result["default_conversation_id"]
        if not default or default in forms:
            # A form's author is answered by email (else their other channel).
            default = (
                email_target["id"]
                if email_target
                else (targets[0]["id"] if targets else False)
            )
        result.update(conversations=targets, default_conversation_id=default)
        return result

    @api.model
    def panel_send(self, res_model, res_id, conversation_id, text="", **kwargs):
        if int(conversation_id or 0) == NEW_EMAIL_CONVERSATION:
            record, _partners, _domain = self._panel_scope(res_model, res_id)
            customer = self._panel_customer(res_model, record)
            account = self._panel_email_account(record, customer)
            if not customer.email_normalized or not account:
                raise UserError(self.env._("This customer cannot be reached by email."))
            lead = record.sudo() if res_model == "crm.lead" else None
            existed = (
                self.env["omnichannel.conversation"]
                .sudo()
                .search_count(
                    [("channel_id", "=", account.id), ("partner_id", "=", customer.id)],
                    limit=1,
                )
            )
            conversation = account._email_conversation(customer, lead)
            conversation_id = conversation.id
            if not existed:
                # Opened just now for this reply: the user may send through it
                # even before a rule gives it to them (see _panel_conversation).
                self = self.with_context(omnichannel_panel_opened=conversation)
        return super().panel_send(
            res_model, res_id, conversation_id, text=text, **kwargs
        )

    def _panel_values(self):
        values = super()._panel_values()
        for message, value in zip(self, values, strict=False):
            value["subject"] = (
                (message.mail_message_id.subject or "")
                if message.message_type == "email"
                else ""
            )
        return values
