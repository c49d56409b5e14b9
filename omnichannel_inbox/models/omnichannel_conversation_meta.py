from odoo import models
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
                    "This template belongs to another WhatsApp account than the conversation."
                )
            )
        template._check_sendable()
        rendered = template._render_for(self)
        if rendered["missing"]:
            raise UserError(
                self.env._(
                    "The template %(template)s cannot be filled for this customer: no value for %(variables)s. "
                    "Complete the lead, or give these variables a fixed text in the template.",
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
