import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .omnichannel_call_origination import DEFAULT_PER_HOUR, RATE_PARAM
from .res_users import EXTENSION_PREFIX_PARAM

#: ir.config_parameter: minutes a signed phone notification stays acceptable
#: (Zadarma by its call_start, the generic PBX and the Asterisk bridge by
#: their signed timestamp header); older ones are refused as replays
REPLAY_WINDOW_PARAM = "omnichannel_inbox.phone_replay_window_minutes"
DEFAULT_REPLAY_WINDOW = 10


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_click_to_call_per_hour = fields.Integer(
        "Click-to-call requests per user and hour",
        config_parameter=RATE_PARAM,
        default=DEFAULT_PER_HOUR,
        help="More requests from one user within an hour are refused (and logged). 0: "
        "no limit.",
    )
    omnichannel_phone_extension_prefix = fields.Char(
        "Phone extension prefix",
        config_parameter=EXTENSION_PREFIX_PARAM,
        help='Allowed before the digits of an extension, e.g. "123456-" for Zadarma '
        "SIP numbers such as "
        '123456-101. Letters and digits, optionally ending with "-".',
    )
    omnichannel_phone_replay_window = fields.Integer(
        "Phone notifications valid for (minutes)",
        config_parameter=REPLAY_WINDOW_PARAM,
        default=DEFAULT_REPLAY_WINDOW,
        help="Signed call notifications older than this are refused as replays: "
        "Zadarma's by the start of "
        "the call, the PBX webhook's and the Asterisk bridge's by their "
        "X-Omnichannel-Timestamp header.",
    )

    @api.constrains(
        "omnichannel_phone_extension_prefix", "omnichannel_phone_replay_window"
    )
    def _check_omnichannel_phone_settings(self):
        for settings in self:
            prefix = settings.omnichannel_phone_extension_prefix
            if prefix and not re.fullmatch(r"[A-Za-z0-9]{1,20}-?", prefix):
                raise ValidationError(
                    self.env._(
                        "The phone extension prefix is letters and digits, optionally "
                        'ending with "-".'
                    )
                )
            if settings.omnichannel_phone_replay_window < 1:
                raise ValidationError(
                    self.env._(
                        "Phone notifications must stay valid at least one minute."
                    )
                )
