from odoo import models


class DiscussChannel(models.Model):
    _inherit = 'discuss.channel'

    def _message_post_after_hook(self, message, msg_vals):
        # A website visitor's live chat belongs to their history.
        result = super()._message_post_after_hook(message, msg_vals)
        for session in self.filtered(lambda c: c.channel_type == 'livechat'):
            self.env['omnichannel.channel']._livechat_capture(session, message)
        return result
