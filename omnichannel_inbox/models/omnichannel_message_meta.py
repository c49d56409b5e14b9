from odoo import api, models
from odoo.exceptions import UserError


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    def _outbound_payload(self):
        payload = super()._outbound_payload()
        if self.channel_id._needs_human_agent_tag(self.conversation_id):
            payload.tag = "HUMAN_AGENT"
        return payload

    # ------------------------------------------------------------------
    # Chat panel: messaging windows and WhatsApp templates
    # ------------------------------------------------------------------
    @api.model
    def _panel_reply_targets(self, res_model, record, partners):
        """Each conversation also says why free text cannot go now
        (``reply_refusal``: a messaging window closed, the customer
        unreachable) and, for WhatsApp, the approved templates that can go
        instead, filled for this customer (``templates``)."""
        result = super()._panel_reply_targets(res_model, record, partners)
        Conversation = self.env["omnichannel.conversation"].sudo()
        for values in result["conversations"]:
            # Not every target is a conversation yet (a first email opens one).
            conversation = (
                Conversation.browse(values["id"]).exists()
                if values["id"] > 0
                else Conversation
            )
            values.update(reply_refusal="", templates=[])
            if not conversation:
                continue
            try:
                conversation.channel_id._check_reply_allowed(conversation)
            except UserError as exc:
                values["reply_refusal"] = str(exc.args[0] if exc.args else exc)
                values["templates"] = conversation._panel_templates()
        return result

    @api.model
    def panel_send_template(self, res_model, res_id, conversation_id, template_id):
        """Send a WhatsApp template from a form's chat panel."""
        conversation = self._panel_conversation(res_model, res_id, conversation_id)
        # Filled the same way as the preview the panel showed (see _panel_templates).
        template = (
            self.env["omnichannel.whatsapp.template"]
            .sudo()
            .browse(int(template_id or 0))
            .exists()
        )
        if not template:
            raise UserError(self.env._("Choose a message template."))
        message = conversation._post_whatsapp_template(template, user=self.env.user)
        return message._panel_values()[0]
