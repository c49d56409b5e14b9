from odoo import fields, models
from odoo.tools import SQL

from ..models.omnichannel_conversation_qualification import (
    NOT_LEAD_REASONS,
    QUALIFICATION_STATES,
)


class OmnichannelReportQualification(models.Model):
    """One row per conversation that waited for qualification: how many
    requests per channel were real (qualified) and how many junk (not a
    lead, spam).  Spam is counted here and left out of the other reports."""

    _name = "omnichannel.report.qualification"
    _inherit = ["omnichannel.report.mixin"]
    _description = "Qualification Report"
    _auto = False
    _order = "date desc"

    date = fields.Datetime("First customer message", readonly=True)
    conversation_id = fields.Many2one(
        "omnichannel.conversation", "Conversation", readonly=True
    )
    qualification_state = fields.Selection(
        QUALIFICATION_STATES, "Qualification", readonly=True
    )
    not_lead_reason = fields.Selection(
        NOT_LEAD_REASONS, "Why not a lead", readonly=True
    )
    request_count = fields.Integer("Requests", readonly=True, aggregator="sum")
    to_qualify_count = fields.Integer("To qualify", readonly=True, aggregator="sum")
    qualified_count = fields.Integer("Qualified", readonly=True, aggregator="sum")
    not_lead_count = fields.Integer("Not a lead", readonly=True, aggregator="sum")
    spam_count = fields.Integer("Spam", readonly=True, aggregator="sum")
    junk_count = fields.Integer(
        "Junk", readonly=True, aggregator="sum", help="Not a lead or spam."
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT %(conversation_columns)s,
                   c.qualification_state,
                   c.not_lead_reason,
                   1 AS request_count,
                   (c.qualification_state = 'to_qualify')::int AS to_qualify_count,
                   (c.qualification_state = 'qualified')::int AS qualified_count,
                   (c.qualification_state = 'not_lead')::int AS not_lead_count,
                   (c.qualification_state = 'spam')::int AS spam_count,
                   (c.qualification_state IN ('not_lead', 'spam'))::int AS junk_count
              FROM omnichannel_conversation c
         LEFT JOIN crm_lead l ON l.id = c.lead_id
             WHERE c.qualification_state IS NOT NULL
            """,
            conversation_columns=self._conversation_columns_sql(),
        )
