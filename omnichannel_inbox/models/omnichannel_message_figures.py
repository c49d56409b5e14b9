from odoo import fields, models

SLA_STATUSES = [("met", "Met"), ("breached", "Breached")]


class OmnichannelMessage(models.Model):
    """Response figures of each answer of a person (a reply, or a call's
    entry), stored when the answer happens so that reports aggregate stored
    columns instead of replaying histories (see README, "Reports")."""

    _inherit = "omnichannel.message"

    response_from = fields.Datetime(
        "Answering since",
        readonly=True,
        help="Date of the oldest unanswered customer message this reply answered: "
        "where its response time starts.",
    )
    response_seconds = fields.Integer(
        "Response time (seconds)",
        readonly=True,
        aggregator="avg",
        help="Calendar time from the oldest unanswered customer message to this reply.",
    )
    response_business_seconds = fields.Integer(
        "Response time in business hours (seconds)",
        readonly=True,
        aggregator="avg",
        help="The same wait counted only inside the working hours of the team (or "
        "company) calendar.",
    )
    response_sla_status = fields.Selection(
        SLA_STATUSES,
        "Response SLA",
        readonly=True,
        help='Met: the reply left before the conversation\'s "Answer before" deadline; '
        "breached: after it; empty: no deadline applied.",
    )
    response_user_id = fields.Many2one(
        "res.users",
        "Answered by",
        readonly=True,
        index="btree_not_null",
        help="The person whose reply or call ended the wait.",
    )
    is_first_response = fields.Boolean(
        "First response",
        readonly=True,
        help="The first reply a person gave in this conversation.",
    )

    # The response-time reports read only answered replies, by period.
    _response_date_idx = models.Index("(date) WHERE response_from IS NOT NULL")
    _lead_date_idx = models.Index("(lead_id, date, id) WHERE lead_id IS NOT NULL")
