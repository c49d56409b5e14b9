from odoo import fields, models
from odoo.tools import SQL


class OmnichannelReportCsat(models.Model):
    """One row per satisfaction survey sent (the last one of each
    conversation): the score given, by salesperson, team and channel."""

    _name = "omnichannel.report.csat"
    _inherit = ["omnichannel.report.mixin"]
    _description = "Customer Satisfaction Report"
    _auto = False
    _order = "date desc"

    date = fields.Datetime("Survey sent", readonly=True)
    answer_date = fields.Datetime("Answered on", readonly=True)
    conversation_id = fields.Many2one(
        "omnichannel.conversation", "Conversation", readonly=True
    )
    trigger = fields.Selection(
        [("closed", "Conversation closed"), ("won_lost", "Lead won or lost")],
        "Sent when",
        readonly=True,
    )
    score = fields.Selection(
        [("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5")],
        "Score",
        readonly=True,
    )
    csat = fields.Float(
        "Average satisfaction",
        readonly=True,
        aggregator="avg",
        help="The average of the scores given (1 bad, 5 excellent); surveys without an "
        "answer do not count.",
    )
    sent_count = fields.Integer("Surveys sent", readonly=True, aggregator="sum")
    answered_count = fields.Integer("Answered", readonly=True, aggregator="sum")
    response_rate = fields.Float("Answer rate (%)", readonly=True, aggregator="avg")
    satisfied_count = fields.Integer("Satisfied (4-5)", readonly=True, aggregator="sum")
    unhappy_count = fields.Integer("Unhappy (1-2)", readonly=True, aggregator="sum")

    @property
    def _table_query(self):
        return SQL("""
            SELECT c.id AS id,
                   c.id AS conversation_id,
                   c.csat_sent_date AS date,
                   c.csat_date AS answer_date,
                   c.csat_trigger AS trigger,
                   c.channel_id,
                   c.channel_type,
                   c.company_id,
                   COALESCE(c.team_id, l.team_id) AS team_id,
                   COALESCE(c.user_id, l.user_id) AS user_id,
                   c.partner_id,
                   COALESCE(c.csat_lead_id, c.lead_id) AS lead_id,
                   l.source_id,
                   CASE WHEN c.csat_score > 0 THEN c.csat_score::text END AS score,
                   CASE WHEN c.csat_score > 0 THEN c.csat_score::float8 END AS csat,
                   1 AS sent_count,
                   CASE WHEN c.csat_score > 0 THEN 1 ELSE 0 END AS answered_count,
                   CASE WHEN c.csat_score > 0 THEN 100.0::float8 ELSE 0.0::float8 END
                       AS response_rate,
                   CASE WHEN c.csat_score >= 4 THEN 1 ELSE 0 END AS satisfied_count,
                   CASE WHEN c.csat_score BETWEEN 1 AND 2 THEN 1 ELSE 0 END AS
                       unhappy_count
              FROM omnichannel_conversation c
         LEFT JOIN crm_lead l ON l.id = COALESCE(c.csat_lead_id, c.lead_id)
             WHERE c.csat_sent_date IS NOT NULL
        """)
