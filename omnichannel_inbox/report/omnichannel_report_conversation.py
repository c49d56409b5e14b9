from odoo import fields, models
from odoo.tools import SQL

from .omnichannel_report_mixin import MESSENGER_TYPES, VOICE_EMAIL_TYPES, WEEKDAYS

FIRST_RESPONSE_SLA = [("met", "Met"), ("breached", "Breached"), ("running", "Running")]


class OmnichannelReportConversation(models.Model):
    """One row per conversation a customer started: first response time,
    never answered conversations, first-response SLA (a conversation still
    unanswered past its deadline counts as breached), and channel switching."""

    _name = "omnichannel.report.conversation"
    _inherit = ["omnichannel.report.mixin"]
    _description = "Conversation Report"
    _auto = False
    _order = "date desc"
    _median_fields = (
        "first_response_hours_median",
        "first_response_business_hours_median",
    )

    date = fields.Datetime("First customer message", readonly=True)
    conversation_id = fields.Many2one(
        "omnichannel.conversation", "Conversation", readonly=True
    )
    stage_id = fields.Many2one("crm.stage", "Lead stage", readonly=True)
    state = fields.Selection(
        [
            ("open", "Waiting for us"),
            ("waiting", "Waiting for the customer"),
            ("closed", "Closed"),
        ],
        readonly=True,
    )
    last_speaker = fields.Selection(
        [
            ("customer", "Customer"),
            ("employee", "Employee"),
            ("auto", "Automatic reply"),
        ],
        "Spoke last",
        readonly=True,
    )
    weekday = fields.Selection(
        WEEKDAYS,
        "Weekday",
        readonly=True,
        help="Of the first customer message, in your timezone.",
    )
    hour = fields.Char(
        "Hour", readonly=True, help="Of the first customer message, in your timezone."
    )
    first_response_hours = fields.Float(
        "First response time", readonly=True, aggregator="avg"
    )
    first_response_hours_median = fields.Float(
        "First response time (median)", readonly=True, aggregator="avg"
    )
    first_response_business_hours = fields.Float(
        "First response time, business hours", readonly=True, aggregator="avg"
    )
    first_response_business_hours_median = fields.Float(
        "First response time, business hours (median)", readonly=True, aggregator="avg"
    )
    answered_count = fields.Integer("Answered", readonly=True, aggregator="sum")
    never_answered_count = fields.Integer(
        "Never answered",
        readonly=True,
        aggregator="sum",
        help="No person has replied in the conversation yet.",
    )
    waiting_count = fields.Integer(
        "Waiting for us now", readonly=True, aggregator="sum"
    )
    first_response_sla = fields.Selection(
        FIRST_RESPONSE_SLA,
        "First response SLA",
        readonly=True,
        help="Met or breached by the first reply of a person; breached too when still "
        "unanswered past the deadline; "
        "running while unanswered before it; empty without a deadline.",
    )
    sla_compliance = fields.Float(
        "First response SLA compliance (%)", readonly=True, aggregator="avg"
    )
    sla_breached_count = fields.Integer(
        "First response SLA breaches", readonly=True, aggregator="sum"
    )
    customer_first_channel_type = fields.Selection(
        selection="_channel_type_selection",
        string="Customer's first channel",
        readonly=True,
        help="The channel of the first conversation this customer started.",
    )
    channel_switch_count = fields.Integer(
        "Channel switches",
        readonly=True,
        aggregator="sum",
        help="1 for a conversation by phone or email of a customer who started earlier "
        "in a messenger.",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT %(conversation_columns)s,
                   l.stage_id,
                   c.state,
                   c.last_speaker,
                   %(weekday_hour)s,
                   %(first_response_hours)s,
                   %(first_response_business_hours)s,
                   CASE WHEN c.first_response_date IS NULL THEN 0 ELSE 1 END AS
                       answered_count,
                   CASE WHEN c.first_response_date IS NULL THEN 1 ELSE 0 END AS
                       never_answered_count,
                   CASE WHEN c.state = 'open' THEN 1 ELSE 0 END AS waiting_count,
                   sla.status AS first_response_sla,
                   %(sla_measures)s,
                   first_conv.channel_type AS customer_first_channel_type,
                   CASE WHEN c.channel_type IN %(voice_email)s
                             AND first_conv.channel_type IN %(messengers)s
                             AND c.first_customer_message_date >
                                 first_conv.first_customer_message_date
                        THEN 1 ELSE 0 END AS channel_switch_count
              FROM omnichannel_conversation c
         LEFT JOIN crm_lead l ON l.id = c.lead_id
        CROSS JOIN LATERAL (
                SELECT CASE
                    WHEN c.first_response_sla_status IS NOT NULL THEN
                        c.first_response_sla_status::text
                    WHEN c.first_response_date IS NULL AND c.sla_deadline IS NOT NULL
                        THEN
                         CASE WHEN c.sla_deadline < (NOW() AT TIME ZONE 'UTC') THEN
                             'breached' ELSE 'running' END
                END AS status
           ) sla
         LEFT JOIN LATERAL (
                SELECT f.channel_type, f.first_customer_message_date
                  FROM omnichannel_conversation f
                 WHERE f.partner_id = c.partner_id AND f.first_customer_message_date IS
                     NOT NULL
              ORDER BY f.first_customer_message_date, f.id
                 LIMIT 1
           ) first_conv ON TRUE
             WHERE c.first_customer_message_date IS NOT NULL
               AND c.qualification_state IS DISTINCT FROM 'spam'
        """,
            conversation_columns=self._conversation_columns_sql(),
            weekday_hour=self._weekday_hour_sql("c.first_customer_message_date"),
            first_response_hours=self._hours_sql(
                "c.first_response_seconds", "first_response_hours"
            ),
            first_response_business_hours=self._hours_sql(
                "c.first_response_business_seconds", "first_response_business_hours"
            ),
            sla_measures=self._sla_measures_sql("sla.status"),
            voice_email=VOICE_EMAIL_TYPES,
            messengers=MESSENGER_TYPES,
        )
