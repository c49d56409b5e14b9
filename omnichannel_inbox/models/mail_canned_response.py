import re

from odoo import api, fields, models

#: Placeholders a canned response may contain, replaced for the conversation
#: it is inserted in.  Unknown ones are left as typed.
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
SUGGESTION_LIMIT = 8


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
        """Values of the placeholders for a reply in ``conversation`` written by
        ``user``."""
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

    def _omnichannel_render(self, values):
        self.ensure_one()
        return PLACEHOLDER_RE.sub(
            lambda m: values.get(m.group(1), m.group(0)), self.substitution or ""
        )

    @api.model
    def omnichannel_suggest(self, conversation_id, term=""):
        """Canned responses whose shortcut starts with ``term`` (then those
        containing it), rendered for the conversation's customer and the
        current user.  Only the responses the user may read are offered."""
        conversation = (
            self.env["omnichannel.conversation"].browse(int(conversation_id)).exists()
        )
        if not conversation:
            return []
        conversation.check_access("read")
        term = (term or "").strip()
        responses = self.search(
            [("source", "=ilike", term + "%")],
            order="last_used DESC NULLS LAST, source",
            limit=SUGGESTION_LIMIT,
        )
        if term and len(responses) < SUGGESTION_LIMIT:
            responses |= self.search(
                [("source", "ilike", term), ("id", "not in", responses.ids)],
                order="source",
                limit=SUGGESTION_LIMIT - len(responses),
            )
        values = self._omnichannel_placeholders(conversation)
        return [
            {"id": r.id, "source": r.source, "text": r._omnichannel_render(values)}
            for r in responses
        ]

    def omnichannel_mark_used(self):
        self.check_access("read")
        self.sudo().write({"last_used": fields.Datetime.now()})
        return True
