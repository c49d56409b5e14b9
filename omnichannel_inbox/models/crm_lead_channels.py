from odoo import api, models

#: Medium of the leads each of these kinds of channel opens (the
#: foundation's default, "Messenger", describes the chat apps).
CHANNEL_MEDIUM = {
    "email": "utm.utm_medium_email",
    "website": "utm.utm_medium_website",
    "livechat": "utm.utm_medium_website",
}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        for lead in self:
            self.env["omnichannel.channel"]._email_capture(lead, message)
        return result

    @api.model
    def _omnichannel_create_for(self, conversation):
        """Leads opened by email, the website and live chat get their medium;
        a website form's UTM source/medium/campaign and message (passed in
        the context by the journal) describe its lead."""
        lead = super()._omnichannel_create_for(conversation)
        vals = {}
        kind = conversation.channel_id.channel_kind
        medium = (
            self.env.ref(CHANNEL_MEDIUM[kind], raise_if_not_found=False)
            if kind in CHANNEL_MEDIUM
            else None
        )
        if medium:
            vals["medium_id"] = medium.id
        vals.update(self.env.context.get("omnichannel_form_lead_values") or {})
        if vals:
            lead.sudo().write(vals)
        return lead
