from odoo import api, models
from odoo.exceptions import UserError


class OmnichannelConversation(models.Model):
    _inherit = "omnichannel.conversation"

    def _post_whatsapp_template(self, template, user=None):
        """Send an approved WhatsApp template, its variables filled from the
        lead (or the customer); the filled wording is what the history shows."""
        self.ensure_one()
        if (
            self.channel_id.channel_type != "whatsapp"
            or template.channel_id != self.channel_id
        ):
            raise UserError(
                self.env._(
                    "This template belongs to another WhatsApp account than the "
                    "conversation."
                )
            )
        template._check_sendable()
        rendered = template._render_for(self)
        if rendered["missing"]:
            raise UserError(
                self.env._(
                    "The template %(template)s cannot be filled for this customer: no "
                    "value for %(variables)s. "
                    "Complete the lead, or give these variables a fixed text in the "
                    "template.",
                    template=template.display_name,
                    variables=", ".join(rendered["missing"]),
                )
            )
        return self._post_reply(
            rendered["text"], user=user, template=rendered["payload"]
        )

    def _panel_templates(self):
        """The approved templates of this WhatsApp conversation's account,
        each with its wording filled for the customer."""
        self.ensure_one()
        if self.channel_type != "whatsapp" or self.identity_id.unreachable:
            return []
        templates = self.env["omnichannel.whatsapp.template"].search(
            [
                ("channel_id", "=", self.channel_id.id),
                ("status", "=", "approved"),
                ("unsupported_reason", "=", False),
            ]
        )
        result = []
        for template in templates:
            rendered = template._render_for(self)
            result.append(
                {
                    "id": template.id,
                    "name": template.display_name,
                    "preview": rendered["text"],
                    "missing": ", ".join(rendered["missing"]),
                }
            )
        return result


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
