from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_deferred_processing = fields.Boolean(
        "Process messages in the background",
        config_parameter="omnichannel_inbox.deferred_processing",
        help="Off: a webhook's events are processed in the same request, right after "
        "they are journaled. "
        "On: the request only journals them and a scheduled action, woken at once, "
        "processes them "
        "(faster acknowledgements under heavy traffic).",
    )
    omnichannel_max_body_kb = fields.Integer(
        "Largest webhook body (KB)",
        config_parameter="omnichannel_inbox.max_body_kb",
        default=1024,
        help="Bigger webhook requests are refused with 413.",
    )
