from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    """Switches of the follow-up rules (Settings > CRM > Omnichannel Inbox)."""

    _inherit = "res.config.settings"

    omnichannel_followup_customer_dates = fields.Boolean(
        "Dates the customer names",
        config_parameter="omnichannel_inbox.followup_customer_dates",
        help='"I\'ll decide in a week", "позвоните в понедельник": an activity for the '
        "salesperson on that date.",
    )
    omnichannel_followup_own_promises = fields.Boolean(
        "Promises to the customer",
        config_parameter="omnichannel_inbox.followup_own_promises",
        help='"I\'ll send the offer tomorrow", "пришлю завтра": a to-do for the '
        "salesperson who wrote it.",
    )
    omnichannel_followup_questions = fields.Boolean(
        "Unanswered questions", config_parameter="omnichannel_inbox.followup_questions"
    )
    omnichannel_followup_question_hours = fields.Integer(
        "Remind after (hours)",
        config_parameter="omnichannel_inbox.followup_question_hours",
        default=2,
    )
    omnichannel_followup_silence = fields.Boolean(
        "Customer gone silent", config_parameter="omnichannel_inbox.followup_silence"
    )
    omnichannel_followup_silence_days = fields.Integer(
        "Remind after (days)",
        config_parameter="omnichannel_inbox.followup_silence_days",
        default=3,
    )
    omnichannel_followup_checkins = fields.Boolean(
        "Periodic check-ins", config_parameter="omnichannel_inbox.followup_checkins"
    )
    omnichannel_followup_checkin_days = fields.Integer(
        "Every (days)",
        config_parameter="omnichannel_inbox.followup_checkin_days",
        default=14,
    )
