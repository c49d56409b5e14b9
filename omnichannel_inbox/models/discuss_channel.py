from odoo import models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox.connectors.validation import MAX_TEXT_LENGTH


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

    def message_post(self, **kwargs):
        # A website visitor writes into the live chat anonymously: what they
        # send is capped like a provider's webhook text (MAX_TEXT_LENGTH),
        # before Odoo stores it and the inbox mirrors and scans it.  Mail's
        # controller posts as sudo, so the check is on who the user is.
        if not self.env.user._is_internal() and any(
            c.channel_type == "livechat" for c in self
        ):
            if len(str(kwargs.get("body") or "")) > MAX_TEXT_LENGTH:
                raise UserError(
                    self.env._(
                        "This message is too long: send at most %s characters.",
                        MAX_TEXT_LENGTH,
                    )
                )
        return super().message_post(**kwargs)

    def _message_post_after_hook(self, message, msg_vals):
        # A website visitor's live chat belongs to their history.
        result = super()._message_post_after_hook(message, msg_vals)
        for session in self.filtered(lambda c: c.channel_type == "livechat"):
            self.env["omnichannel.channel"]._livechat_capture(session, message)
        return result
