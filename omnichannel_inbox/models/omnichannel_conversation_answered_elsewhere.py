from odoo import models
from odoo.exceptions import UserError


class OmnichannelConversation(models.Model):
    _inherit = "omnichannel.conversation"

    def _register_outbound(self, message):
        """Some conversations cannot be answered where they are: a website
        form, a live chat the visitor closed, a customer unreachable on that
        channel.  A person's answer on another of the customer's channels
        (email, mostly) ends their wait too, instead of leaving them waiting
        for an answer they can never get."""
        super()._register_outbound(message)
        if message.author_kind != "employee":
            return
        waiting = self.sudo().search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("state", "=", "open"),
                ("id", "!=", self.id),
            ]
        )
        for other in waiting:
            try:
                other.channel_id._check_reply_allowed(other)
            except UserError:
                other._register_outbound(message)
                # Written for the other conversation's reader, not the author.
                other = other.with_context(lang=other._reader_lang())
                other._message_log(
                    body=other.env._("Answered on %s.", self.channel_id.name)
                )
