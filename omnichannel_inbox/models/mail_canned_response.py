from odoo import api, fields, models

from odoo.addons.mail.tools.discuss import Store


class MailCannedResponse(models.Model):
    """Odoo's canned responses (``::shortcut``), shared with sales teams and
    usable in the chat panel with placeholders filled for the customer."""

    _inherit = "mail.canned.response"

    omnichannel_team_ids = fields.Many2many(
        "crm.team",
        string="Sales teams",
        help="Members of these teams can use this response. "
        "Without teams nor groups, only its author can.",
    )

    @api.depends("omnichannel_team_ids")
    def _compute_is_shared(self):
        super()._compute_is_shared()
        for response in self.filtered("omnichannel_team_ids"):
            response.is_shared = True

    @api.model
    def _omnichannel_placeholders(self, conversation, user=None):
        """Values of the placeholders (``{first_name}`` ...) of a reply in
        ``conversation`` written by ``user``; the chat panel replaces them
        and leaves unknown ones as typed."""
        user = user or self.env.user
        conversation = conversation.sudo()
        partner = conversation.partner_id
        lead = conversation.lead_id
        customer = (
            lead.contact_name
            if partner.is_company and lead.contact_name
            else partner.name
        ) or ""
        return {
            "first_name": customer.split()[0] if customer.split() else "",
            "customer": customer,
            "salesperson": user.name or "",
            "salesperson_first_name": (user.name or "").split()[0]
            if (user.name or "").split()
            else "",
            "company": (conversation.company_id or user.company_id).name or "",
            "channel": conversation.channel_id.name or "",
            "lead": lead.name or "",
        }

    @api.model
    def _omnichannel_team_shared(self):
        """The responses shared with the current user's sales teams: Odoo's
        ``::`` suggestions fetch only the user's own and those of their
        groups (mail's WebclientController), the controller adds these."""
        return self.search(
            [("omnichannel_team_ids", "in", self.env.user.crm_team_ids.ids)]
        )

    @api.model
    def omnichannel_placeholder_values(self, conversation_id):
        """Values of the placeholders of a reply written by the current user
        in the conversation, for the chat panel's ``::`` suggestions (mail's
        suggestion service gives the responses, the panel fills them).
        Only for a conversation the user may read."""
        conversation = (
            self.env["omnichannel.conversation"].browse(int(conversation_id)).exists()
        )
        if not conversation:
            return {}
        conversation.check_access("read")
        return self._omnichannel_placeholders(conversation)

    @api.model
    def _omnichannel_mark_used(self, response_ids):
        """Mark canned responses used in a reply, as mail's composer does on
        posting (one UPDATE that skips a locked row: the date is not worth
        blocking or failing a reply for, and writing through the ORM would
        broadcast the response to every user it is shared with)."""
        responses = self.browse(
            sorted({int(response_id) for response_id in response_ids or []})
        ).exists()
        ids = tuple(responses._filtered_access("read").ids)
        if not ids:
            return
        self.env.cr.execute(
            """
            UPDATE mail_canned_response SET last_used = %(now)s
             WHERE id IN (
                SELECT id FROM mail_canned_response WHERE id IN %(ids)s
                   FOR NO KEY UPDATE SKIP LOCKED
             )
            """,
            {"now": fields.Datetime.now(), "ids": ids},
        )
        self.browse(ids).invalidate_recordset(["last_used"])

    def _broadcast(self, /, *, delete=False):
        """Mail sends a changed response to the sessions of its author and of
        its groups; those of the sales teams it is shared with get it too,
        so that their ``::`` suggestions stay current."""
        super()._broadcast(delete=delete)
        for response in self.filtered("omnichannel_team_ids"):
            users = response.omnichannel_team_ids.member_ids - (
                self.env.user | response.create_uid
            )
            users = users.filtered(
                lambda user, response=response: (
                    not user.all_group_ids & response.group_ids
                )
            )
            for user in users:
                store = Store(bus_channel=user)
                if delete:
                    store.delete(response)
                else:
                    store.add(response)
                store.bus_send()
