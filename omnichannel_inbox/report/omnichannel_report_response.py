from odoo import fields, models
from odoo.tools import SQL

from ..models.omnichannel_message_figures import SLA_STATUSES
from .omnichannel_report_mixin import WEEKDAYS


class OmnichannelReportResponse(models.Model):
    """One row per reply of a person that ended a customer's wait: how long
    the customer waited, in calendar and in business hours, and whether the
    SLA deadline was met.  Reads only stored, indexed columns of
    ``omnichannel.message`` (no figure is computed when reading)."""

    _name = "omnichannel.report.response"
    _inherit = ["omnichannel.report.mixin"]
    _description = "Response Time Report"
    _auto = False
    _order = "date desc"
    _median_fields = ("response_hours_median", "business_hours_median")

    date = fields.Datetime("Reply date", readonly=True)
    request_date = fields.Datetime(
        "Customer message date",
        readonly=True,
        help="The oldest unanswered customer message the reply answered.",
    )
    message_id = fields.Many2one("omnichannel.message", "Reply", readonly=True)
    conversation_id = fields.Many2one(
        "omnichannel.conversation", "Conversation", readonly=True
    )
    user_id = fields.Many2one(
        help="Who answered: wrote the reply or spoke on the phone."
    )
    is_first_response = fields.Boolean("First response", readonly=True)
    weekday = fields.Selection(
        WEEKDAYS,
        "Weekday",
        readonly=True,
        help="Of the customer's message, in your timezone.",
    )
    hour = fields.Char(
        "Hour", readonly=True, help="Of the customer's message, in your timezone."
    )
    response_hours = fields.Float(
        "Response time",
        readonly=True,
        aggregator="avg",
        help="Average wait, calendar time (hours:minutes).",
    )
    response_hours_median = fields.Float(
        "Response time (median)",
        readonly=True,
        aggregator="avg",
        help="Median wait, calendar time (hours:minutes).",
    )
    business_hours = fields.Float(
        "Response time, business hours",
        readonly=True,
        aggregator="avg",
        help="Average wait counted in working hours only (hours:minutes).",
    )
    business_hours_median = fields.Float(
        "Response time, business hours (median)", readonly=True, aggregator="avg"
    )
    sla_status = fields.Selection(SLA_STATUSES, "SLA", readonly=True)
    sla_compliance = fields.Float(
        "SLA compliance (%)",
        readonly=True,
        aggregator="avg",
        help="Share of replies with a deadline that were given before it.",
    )
    sla_breached_count = fields.Integer("SLA breaches", readonly=True, aggregator="sum")

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT m.id AS id,
                   m.id AS message_id,
                   m.date AS date,
                   m.response_from AS request_date,
                   m.conversation_id,
                   m.channel_id,
                   m.channel_type,
                   m.company_id,
                   c.team_id,
                   m.response_user_id AS user_id,
                   m.partner_id,
                   m.lead_id,
                   l.source_id,
                   COALESCE(m.is_first_response, FALSE) AS is_first_response,
                   %(weekday_hour)s,
                   %(response_hours)s,
                   %(business_hours)s,
                   m.response_sla_status AS sla_status,
                   %(sla_measures)s
              FROM omnichannel_message m
         LEFT JOIN omnichannel_conversation c ON c.id = m.conversation_id
         LEFT JOIN crm_lead l ON l.id = m.lead_id
             WHERE m.response_from IS NOT NULL
               AND c.qualification_state IS DISTINCT FROM 'spam'
        """,
            weekday_hour=self._weekday_hour_sql("m.response_from"),
            response_hours=self._hours_sql("m.response_seconds", "response_hours"),
            business_hours=self._hours_sql(
                "m.response_business_seconds", "business_hours"
            ),
            sla_measures=self._sla_measures_sql("m.response_sla_status"),
        )
