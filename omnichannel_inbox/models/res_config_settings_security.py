from odoo import fields, models

from .omnichannel_rate_limit import DEFAULT_PER_ADDRESS, DEFAULT_PER_CHANNEL


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_rate_limit_per_address = fields.Integer(
        "Requests per visitor and minute",
        config_parameter="omnichannel_inbox.rate_limit_per_address",
        default=DEFAULT_PER_ADDRESS,
        help="Contact form, lead API, website widget and Sandbox: requests one address "
        "may send to one channel "
        "per minute; more are answered 429 (try again later) and nothing is stored. 0: "
        "no limit.",
    )
    omnichannel_rate_limit_per_channel = fields.Integer(
        "Requests per channel and minute",
        config_parameter="omnichannel_inbox.rate_limit_per_channel",
        default=DEFAULT_PER_CHANNEL,
        help="All visitors together, per channel (per company for the widget). 0: no "
        "limit.",
    )
