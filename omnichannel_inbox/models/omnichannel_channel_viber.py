from odoo import fields, models

from odoo.addons.omnichannel_inbox.connectors.viber import MAX_SENDER_NAME


class OmnichannelChannel(models.Model):
    """Viber bot settings.  The bot's authentication token is the channel's
    token: Viber signs its callbacks with it, so no other secret exists."""

    _inherit = "omnichannel.channel"

    viber_sender_name = fields.Char(
        "Sender name",
        size=MAX_SENDER_NAME,
        help="Name shown above the messages the bot sends (28 characters at most). "
        "Empty: the name of the channel.",
    )

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.channel_type == "viber":
            extra["sender_name"] = (self.viber_sender_name or self.name or "")[
                :MAX_SENDER_NAME
            ]
        return extra
