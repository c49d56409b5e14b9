from odoo import fields, models


class OmnichannelPrivacyLog(models.Model):
    """What was done with a customer's data, by whom: exports, erasures and
    the retention policy's runs.  Kept when the customer is forgotten (it
    then names them only by their record number)."""

    _name = "omnichannel.privacy.log"
    _description = "Privacy Request Log"
    _order = "date desc, id desc"
    _log_access = False

    date = fields.Datetime(
        required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Done by",
        readonly=True,
        ondelete="set null",
        default=lambda self: self.env.user,
    )
    action = fields.Selection(
        [
            ("export", "Export"),
            ("forget", "Forget"),
            ("retention_anonymize", "Retention: anonymized"),
            ("retention_purge", "Retention: purged"),
        ],
        required=True,
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, ondelete="set null", index=True
    )
    partner_ref = fields.Char(
        "Customer record",
        readonly=True,
        help="The customer's record number, kept when the customer is gone.",
    )
    company_id = fields.Many2one(
        "res.company", readonly=True, default=lambda self: self.env.company
    )
    conversation_count = fields.Integer("Conversations", readonly=True)
    message_count = fields.Integer("Messages", readonly=True)
    note = fields.Char(readonly=True)
