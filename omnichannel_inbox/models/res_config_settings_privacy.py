from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_retention_months = fields.Integer(
        "Keep conversations (months)",
        config_parameter="omnichannel_inbox.retention_months",
        default=0,
        help="Conversations silent for longer are anonymized or purged by a daily "
        "scheduled action. "
        "0: kept forever.",
    )
    omnichannel_retention_action = fields.Selection(
        [("anonymize", "Anonymize (keep the figures)"), ("purge", "Delete entirely")],
        string="Then",
        config_parameter="omnichannel_inbox.retention_action",
        default="anonymize",
    )
    omnichannel_retention_batch_size = fields.Integer(
        "Conversations per run",
        config_parameter="omnichannel_inbox.retention_batch_size",
        default=200,
        help="How many conversations one run of the retention action anonymizes or "
        "deletes before it commits "
        "and wakes itself again: smaller runs hold locks for less time.",
    )
