from odoo import fields, models


class OmnichannelSpamPhrase(models.Model):
    """A phrase that makes a conversation waiting for qualification look
    like spam.  Only a hint shown to the person who qualifies it: nothing is
    deleted or blocked because of it."""

    _name = "omnichannel.spam.phrase"
    _description = "Spam phrase"
    _order = "name"

    name = fields.Char(
        "Phrase", required=True, help="Matched anywhere in a message, ignoring case."
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", help="Empty: for every company.", index=True
    )
