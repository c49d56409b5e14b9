from odoo import fields, models


class CrmTeam(models.Model):
    """The quality checklist of a team: which checks apply and the reply
    length it expects.  Phrase lists are in omnichannel.quality.phrase."""

    _inherit = "crm.team"

    omnichannel_quality_enabled = fields.Boolean(
        "Score conversations",
        default=True,
        help="Score each closed conversation against the checklist.",
    )
    omnichannel_quality_check_greeting = fields.Boolean(
        "Greeting in the first answer", default=True
    )
    omnichannel_quality_check_name = fields.Boolean(
        "Customer's name used", default=True
    )
    omnichannel_quality_check_next_step = fields.Boolean(
        "Question or next step proposed", default=True
    )
    omnichannel_quality_check_forbidden = fields.Boolean(
        "No forbidden phrase", default=True
    )
    omnichannel_quality_check_sla = fields.Boolean(
        "Answered within the SLA", default=True
    )
    omnichannel_quality_check_length = fields.Boolean("Reply length", default=True)
    omnichannel_reply_min_length = fields.Integer(
        "Shortest reply (characters)", default=2
    )
    omnichannel_reply_max_length = fields.Integer(
        "Longest reply (characters)", default=1000, help="0: no maximum."
    )
    omnichannel_quality_phrase_ids = fields.One2many(
        "omnichannel.quality.phrase", "team_id", string="Team's own phrases"
    )
