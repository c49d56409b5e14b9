import json

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models

#: Conversations handled per run of the retention action by default
#: (setting omnichannel_inbox.retention_batch_size); it wakes itself again
#: when more are due, so a large backlog never runs in one transaction.
RETENTION_BATCH = 200
ERASED_PAYLOAD = json.dumps({"erased": True})


class OmnichannelConversation(models.Model):
    """Privacy on conversations: erasing what the customer said while the
    anonymous figures (dates, directions, response times, outcomes) stay for
    the reports; the retention policy; the access log of who opened them."""

    _inherit = "omnichannel.conversation"

    privacy_erased_date = fields.Datetime(
        "Content erased on",
        readonly=True,
        copy=False,
        help="The texts, files, recordings and contact details of this conversation were erased "
        '(a "forget" request or the retention policy); its figures remain in the reports.',
    )

    def web_read(self, specification):
        result = super().web_read(specification)
        if len(self) == 1:
            # A form opened: who read this customer's conversation.
            self.env["omnichannel.access.log"]._log(self, "form")
        return result

    def _privacy_erase_content(self):
        """Erase message texts, files, call numbers and recordings, and the
        journal's copies of what was received; keep every record that the
        reports count (messages, calls, their dates and figures)."""
        conversations = self.sudo()
        if not conversations:
            return
        messages = (
            self.env["omnichannel.message"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        # The texts live in mail messages: on the conversation for chats, on
        # the lead or the contact for emails, on the live chat session.
        mail_messages = (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", self._name), ("res_id", "in", conversations.ids)])
            | messages.mail_message_id
        )
        # A reply by email is also sent as an email on the lead, known by
        # the provider message id it was sent with.
        sent_emails = messages.filtered(
            lambda m: m.channel_type == "email" and m.provider_message_id
        )
        if sent_emails:
            mail_messages |= (
                self.env["mail.message"]
                .sudo()
                .search(
                    [("message_id", "in", sent_emails.mapped("provider_message_id"))]
                )
            )
        mail_messages.attachment_ids.unlink()
        mail_messages.write({"body": "", "subject": False, "email_from": False})
        # The copies of an email kept in the outgoing queue.
        self.env["mail.mail"].sudo().search(
            [("mail_message_id", "in", mail_messages.ids)]
        ).write({"body_html": False})
        self.env["ir.attachment"].sudo().search(
            [("res_model", "=", self._name), ("res_id", "in", conversations.ids)]
        ).unlink()
        messages.write({"error_message": False, "provider_template": False})
        # A reply still waiting to leave would send the erased words (or a
        # blank) to someone who asked to be forgotten: it fails instead.
        messages.filtered(
            lambda m: m.direction == "out" and m.status == "queued"
        ).write(
            {
                "status": "failed",
                "next_send_date": False,
                "error_code": "privacy_erased",
                "error_message": self.env._(
                    "Not sent: the customer's conversations were erased."
                ),
            }
        )
        self.env["sms.sms"].sudo().search(
            [("omnichannel_message_id", "in", messages.ids)]
        ).filtered(lambda sms: sms.state == "outgoing").write(
            {"state": "canceled", "body": False}
        )
        # Files still to be fetched would bring the erased content back.
        self.env["omnichannel.attachment.download"].sudo().search(
            [("conversation_id", "in", conversations.ids)]
        ).unlink()
        calls = (
            self.env["omnichannel.call"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        self.env["ir.attachment"].sudo().search(
            [("res_model", "=", "omnichannel.call"), ("res_id", "in", calls.ids)]
        ).unlink()
        calls.write(
            {
                "customer_number": False,
                "customer_phone_sanitized": False,
                "customer_name": False,
                "recording_url": False,
                "recording_ref": False,
            }
        )
        journal = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        journal.write({"payload": ERASED_PAYLOAD, "error_traceback": False})
        journal.filtered(lambda row: row.state in ("pending", "error")).write(
            {
                "state": "ignored",
                "note": self.env._("erased (privacy)"),
                "next_attempt_date": False,
            }
        )
        conversations.write({"privacy_erased_date": fields.Datetime.now()})

    @api.model
    def _cron_apply_retention(self):
        """Anonymize or purge conversations silent for longer than the
        retention period (Settings > CRM > Omnichannel; 0 months = keep)."""
        params = self.env["ir.config_parameter"].sudo()
        months = int(params.get_param("omnichannel_inbox.retention_months") or 0)
        if months <= 0:
            return 0
        action = params.get_param("omnichannel_inbox.retention_action") or "anonymize"
        limit = fields.Datetime.now() - relativedelta(months=months)
        domain = [
            ("create_date", "<", limit),
            "|",
            ("last_message_date", "=", False),
            ("last_message_date", "<", limit),
        ]
        if action == "anonymize":
            domain.append(("privacy_erased_date", "=", False))
        try:
            batch_size = max(
                1,
                int(
                    params.get_param("omnichannel_inbox.retention_batch_size")
                    or RETENTION_BATCH
                ),
            )
        except ValueError:
            batch_size = RETENTION_BATCH
        Conversation = self.sudo().with_context(active_test=False)
        due = Conversation.search(domain, limit=batch_size + 1, order="id")
        batch = due[:batch_size]
        if not batch:
            return 0
        Log = self.env["omnichannel.privacy.log"].sudo()
        message_count = (
            self.env["omnichannel.message"]
            .sudo()
            .search_count([("conversation_id", "in", batch.ids)])
        )
        for company in batch.company_id:
            Log.create(
                {
                    "action": f"retention_{action}",
                    "user_id": False,
                    "company_id": company.id,
                    "conversation_count": len(
                        batch.filtered(lambda c: c.company_id == company)
                    ),
                    "message_count": message_count if len(batch.company_id) == 1 else 0,
                    "note": self.env._("Older than %s months", months),
                }
            )
        if action == "purge":
            identities = batch.identity_id
            self.env["omnichannel.inbound.event"].sudo().search(
                [("conversation_id", "in", batch.ids)]
            ).unlink()
            batch._privacy_erase_content()
            batch.unlink()
            identities.filtered(
                lambda i: not i.with_context(active_test=False).conversation_ids
            ).unlink()
        else:
            batch._privacy_erase_content()
        if len(due) > batch_size:
            self.env.ref("omnichannel_inbox.ir_cron_apply_retention")._trigger()
        return len(batch)
