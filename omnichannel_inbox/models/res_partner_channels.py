from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _message_post_after_hook(self, message, msg_vals):
        # Mail exchanged on a customer's card (replies to an email sent from
        # it) belongs to their history like mail on their leads.
        result = super()._message_post_after_hook(message, msg_vals)
        for partner in self:
            self.env["omnichannel.channel"]._email_capture(partner, message)
        return result
