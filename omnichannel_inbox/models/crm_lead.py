from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models

#: Medium of the leads each of these kinds of channel opens (the foundation's
#: default, "Messenger", describes the chat apps).
CHANNEL_MEDIUM = {
    "email": "utm.utm_medium_email",
    "website": "utm.utm_medium_website",
    "livechat": "utm.utm_medium_website",
}


class CrmLead(models.Model):
    """The addon's part of a lead: its conversations, the lead a customer's
    first message opens, the email exchanged on it, the periodic check-ins,
    and what a merge of leads moves."""

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
    omnichannel_checkin_date = fields.Datetime(
        "Next check-in",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="A check-in activity is planned then if nobody spoke with the customer "
        "nor planned anything.",
    )

    def _compute_omnichannel_conversation_count(self):
        counts = self.env["omnichannel.conversation"]._count_per("lead_id", self)
        for lead in self:
            lead.omnichannel_conversation_count = counts.get(lead, 0)

    @api.model
    def _omnichannel_lead_type(self):
        # Same choice CRM makes: leads when the qualification step is on.
        # The cached xml id lookup, not env.ref (a query per lead to check
        # that each group still exists).
        xmlid_to_res_id = self.env["ir.model.data"]._xmlid_to_res_id
        use_leads = xmlid_to_res_id("crm.group_use_lead", raise_if_not_found=False)
        group_user = self.env["res.groups"].browse(xmlid_to_res_id("base.group_user"))
        return (
            "lead"
            if use_leads and use_leads in group_user.all_implied_ids.ids
            else "opportunity"
        )

    @api.model
    def _omnichannel_create_for(self, conversation):
        """The lead of a customer's first message (utm source = the channel)."""
        channel = conversation.channel_id
        partner = conversation.partner_id
        identity = conversation.identity_id
        # Leads opened by email, the website and live chat get their medium.
        medium = channel._lead_medium()
        kind = channel.channel_kind
        if kind in CHANNEL_MEDIUM:
            medium = (
                self.env["utm.medium"].browse(
                    self.env["ir.model.data"]._xmlid_to_res_id(
                        CHANNEL_MEDIUM[kind], raise_if_not_found=False
                    )
                )
                or medium
            )
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
        # A website form's UTM source/medium/campaign and message (passed in
        # the context by the journal) describe its lead.
        form_values = self.env.context.get("omnichannel_form_lead_values")
        if form_values:
            lead.sudo().write(form_values)
        return lead

    # ------------------------------------------------------------------
    # Email exchanged on a lead
    # ------------------------------------------------------------------
    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        for lead in self:
            self.env["omnichannel.channel"]._email_capture(lead, message)
        return result

    # ------------------------------------------------------------------
    # Periodic check-ins on long-running leads that have a conversation
    # ------------------------------------------------------------------
    def _omnichannel_push_checkin(self, date):
        """A message was exchanged at ``date``: the next check-in is a full period
        later.  Planned here only on a lead that has none: when one is due,
        the cron moves it a period after the last message if there was one
        since, so that a message costs no lead write (and CRM's bookkeeping
        of it) on a lead that already waits for a check-in."""
        Conversation = self.env["omnichannel.conversation"]
        if not self or not Conversation._followup_setting("checkins"):
            return
        days = Conversation._followup_setting("checkin_days")
        leads = self.sudo().filtered(lambda lead: not lead.omnichannel_checkin_date)
        if leads:
            leads.write({"omnichannel_checkin_date": date + timedelta(days=days)})

    @api.model
    def _omnichannel_cron_checkins(self, now, limit):
        Conversation = self.env["omnichannel.conversation"]
        leads = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("omnichannel_checkin_date", "<=", now)],
                order="omnichannel_checkin_date, id",
                limit=limit,
            )
        )
        if not Conversation._followup_setting("checkins"):
            leads.write({"omnichannel_checkin_date": False})
            return leads
        days = Conversation._followup_setting("checkin_days")
        for lead in leads:
            if not lead.active or lead.won_status != "pending":
                lead.omnichannel_checkin_date = False
                continue
            last = (
                self.env["omnichannel.message"]
                .sudo()
                .search(
                    [("lead_id", "=", lead.id)], order="date desc, id desc", limit=1
                )
            )
            if last and last.date + timedelta(days=days) > now:
                # Messages since it was planned: a full period after the last.
                lead.omnichannel_checkin_date = last.date + timedelta(days=days)
                continue
            lead.omnichannel_checkin_date = now + timedelta(days=days)
            if lead.activity_ids or not lead.user_id:
                continue
            note = Markup("<p>%s</p>") % self.env._(
                "No message with the customer for %s days and nothing planned: check "
                "in.",
                days,
            )
            if last:
                note += Markup('<p><a href="/mail/message/%s">%s</a></p>') % (
                    last.mail_message_id.id,
                    self.env._(
                        "Last message (%s)", fields.Datetime.to_string(last.date)[:16]
                    ),
                )
            lead.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=fields.Date.context_today(lead),
                summary=self.env._("Check in with the customer"),
                note=note,
                user_id=lead.user_id.id,
                omnichannel_message_id=last.id or False,
                omnichannel_followup_kind="checkin",
            )
        return leads

    # ------------------------------------------------------------------
    # Merge
    # ------------------------------------------------------------------
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
        return self.env["omnichannel.conversation"]._action_of("lead_id", self)
