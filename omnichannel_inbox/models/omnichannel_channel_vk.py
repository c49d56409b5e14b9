from odoo import fields, models

from odoo.addons.omnichannel_inbox.connectors.vk import DEFAULT_API_VERSION


class OmnichannelChannel(models.Model):
    """VK community settings: the community access token is the channel's
    token, the Callback API secret key its webhook secret, the confirmation
    string its verify token and the community id its provider account id."""

    _inherit = "omnichannel.channel"

    vk_api_version = fields.Char(
        "VK API version",
        default=DEFAULT_API_VERSION,
        help='Version of the VK API used to send messages ("v" parameter). '
        "Set the same version for the callback server in the community settings.",
    )

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.channel_type == "vk":
            extra["api_version"] = self.vk_api_version or DEFAULT_API_VERSION
        return extra
