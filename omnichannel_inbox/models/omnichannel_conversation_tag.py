from random import randint

from odoo import fields, models


class OmnichannelConversationTag(models.Model):
    """A label salespeople put on conversations ("price request", "VIP",
    "complaint") to find and filter them in the inbox and the journal."""

    _name = "omnichannel.conversation.tag"
    _description = "Conversation Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer(default=lambda self: randint(1, 11))
    active = fields.Boolean(default=True)

    _name_unique = models.Constraint(
        "UNIQUE(name)", "A tag with this name already exists."
    )
