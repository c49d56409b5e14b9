from dateutil.relativedelta import relativedelta

from odoo import api, fields, models

#: Conversations handled per run of the retention action by default
#: (setting omnichannel_inbox.retention_batch_size); it wakes itself again
#: when more are due, so a large backlog never runs in one transaction.
RETENTION_BATCH = 200


class OmnichannelConversation(models.Model):
    """Privacy on conversations: erasing what the customer said while the
    anonymous figures (dates, directions, response times, outcomes) stay for
    the reports; the retention policy; the access log of who opened them."""

    _inherit = "omnichannel.conversation"

    privacy_erased_date = fields.Datetime(
        "Content erased on",
        readonly=True,
        copy=False,
        help="The texts, files, recordings and contact details of this conversation "
        "were erased "
        '(a "forget" request or the retention policy); its figures remain in the '
        "reports.",
    )

    def web_read(self, specification):
        result = super().web_read(specification)
        if len(self) == 1 and not self.env.context.get("omnichannel_list_read"):
            # A form opened: who read this customer's conversation.
            self.env["omnichannel.access.log"]._log(self, "form")
        return result

    @api.model
    @api.readonly
    def web_search_read(
        self, domain, specification, offset=0, limit=None, order=None, count_limit=None
    ):
        # A list that happens to show one row reads it through web_read: that
        # is not a form opened (and this request runs read-only).
        return super(
            OmnichannelConversation, self.with_context(omnichannel_list_read=True)
        ).web_search_read(
            domain,
            specification,
            offset=offset,
            limit=limit,
            order=order,
            count_limit=count_limit,
        )

    # Opening a form writes the access log: not a read-only request (web's
    # call_kw would run it on a read-only cursor, fail, log an error and
    # run it again).
    web_read._readonly = False

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
                        batch.filtered(
                            lambda c, company=company: c.company_id == company
                        )
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
