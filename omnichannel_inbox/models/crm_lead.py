from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_conversation_ids = fields.One2many(
        "omnichannel.conversation", "lead_id", string="Conversations"
    )
    omnichannel_conversation_count = fields.Integer(
        compute="_compute_omnichannel_conversation_count"
    )
    omnichannel_auto_created = fields.Boolean(
        "Created from a conversation",
        readonly=True,
        copy=False,
        help="Opened automatically for a customer message; archived if the customer "
        "turns out to be known.",
    )

    def _compute_omnichannel_conversation_count(self):
        counts = dict(
            self.env["omnichannel.conversation"]
            .sudo()
            ._read_group([("lead_id", "in", self.ids)], ["lead_id"], ["__count"])
        )
        for lead in self:
            lead.omnichannel_conversation_count = counts.get(lead, 0)

    @api.model
    def _omnichannel_lead_type(self):
        # Same choice CRM makes: leads when the qualification step is on.
        use_leads = self.env.ref("crm.group_use_lead", raise_if_not_found=False)
        return (
            "lead"
            if use_leads
            and use_leads in self.env.ref("base.group_user").all_implied_ids
            else "opportunity"
        )

    @api.model
    def _omnichannel_create_for(self, conversation):
        """The lead of a customer's first message (utm source = the channel)."""
        channel = conversation.channel_id
        partner = conversation.partner_id
        identity = conversation.identity_id
        medium = channel._lead_medium()
        lead = (
            self.sudo()
            .with_context(mail_create_nosubscribe=True)
            .create(
                {
                    "name": self.env._(
                        "%(channel)s: %(customer)s",
                        channel=channel.name,
                        customer=partner.name,
                    ),
                    "type": self._omnichannel_lead_type(),
                    "partner_id": partner.id,
                    "contact_name": partner.name if not partner.is_company else False,
                    "phone": partner.phone or identity.phone or False,
                    "email_from": partner.email or identity.email or False,
                    "team_id": conversation.team_id.id or channel.team_id.id or False,
                    "user_id": False,
                    "company_id": channel.company_id.id,
                    "source_id": channel.source_id.id,
                    "medium_id": medium.id if medium else False,
                    "omnichannel_auto_created": True,
                }
            )
        )
        lead._message_log(
            body=self.env._("Lead created from a message received on %s.", channel.name)
        )
        return lead

    def _merge_dependences(self, opportunities):
        """CRM's "Merge" keeps ``self`` and deletes ``opportunities``: their
        conversations, history entries, calls and call-back orders move to the
        kept lead instead of losing their lead (``ondelete="set null"``)."""
        result = super()._merge_dependences(opportunities)
        # sudo: a salesperson merging leads may not read every conversation.
        for model, field in (
            ("omnichannel.conversation", "lead_id"),
            ("omnichannel.conversation", "csat_lead_id"),
            ("omnichannel.message", "lead_id"),
            ("omnichannel.call", "lead_id"),
            ("omnichannel.callback.request", "lead_id"),
        ):
            records = (
                self.env[model]
                .sudo()
                .with_context(active_test=False)
                .search([(field, "in", opportunities.ids)])
            )
            records.write({field: self.id})
        return result

    def action_view_omnichannel_conversations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_conversation_action"
        )
        action["domain"] = [("lead_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
