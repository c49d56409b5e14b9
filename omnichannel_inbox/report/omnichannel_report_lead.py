from odoo import fields, models
from odoo.tools import SQL

from ..models.omnichannel_message_figures import SLA_STATUSES


class OmnichannelReportLead(models.Model):
    """One row per lead that has messages on a channel: conversion to won
    deals and revenue by the channel of first contact and the utm source,
    and the leads lost after a late (or missing) first answer.

    A lead is attributed to the channel account of its first message;
    messages keep the lead they were exchanged for, so a won lead keeps its
    channel even after the customer's next request opened a new lead."""

    _name = "omnichannel.report.lead"
    _inherit = ["omnichannel.report.mixin"]
    _description = "Conversion by Channel Report"
    _auto = False
    _order = "date desc"

    date = fields.Datetime("Lead created on", readonly=True)
    date_closed = fields.Datetime("Closed on", readonly=True)
    channel_id = fields.Many2one(
        help="The channel account of the first message of the lead."
    )
    conversation_id = fields.Many2one(
        "omnichannel.conversation", "First conversation", readonly=True
    )
    currency_id = fields.Many2one("res.currency", "Currency", readonly=True)
    medium_id = fields.Many2one("utm.medium", "Medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", "Campaign", readonly=True)
    stage_id = fields.Many2one("crm.stage", "Stage", readonly=True)
    lost_reason_id = fields.Many2one("crm.lost.reason", "Lost reason", readonly=True)
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "In progress")],
        "Won/Lost",
        readonly=True,
    )
    won_count = fields.Integer("Won", readonly=True, aggregator="sum")
    lost_count = fields.Integer("Lost", readonly=True, aggregator="sum")
    conversion_rate = fields.Float(
        "Conversion (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the leads that were won.",
    )
    won_revenue = fields.Monetary(
        "Won revenue",
        readonly=True,
        aggregator="sum",
        currency_field="currency_id",
        help="Expected revenue of the won leads.",
    )
    first_response_sla = fields.Selection(
        SLA_STATUSES,
        "First response SLA",
        readonly=True,
        help="SLA status of the first reply a person gave on this lead.",
    )
    answered = fields.Boolean(
        "Answered", readonly=True, help="A person replied on this lead."
    )
    lost_late_count = fields.Integer(
        "Lost after a late first answer",
        readonly=True,
        aggregator="sum",
        help="Lost leads whose first reply of a person breached the SLA.",
    )
    lost_unanswered_count = fields.Integer(
        "Lost unanswered",
        readonly=True,
        aggregator="sum",
        help="Lost leads on which no person ever replied.",
    )
    customer_message_count = fields.Integer(
        "Customer messages",
        readonly=True,
        aggregator="avg",
        help="Messages the customer sent on this lead, on every channel (average per "
        "lead).",
    )
    employee_message_count = fields.Integer(
        "Salesperson messages",
        readonly=True,
        aggregator="avg",
        help="Replies people wrote on this lead (automatic replies and calls not "
        "counted; average per lead).",
    )
    won_message_count = fields.Integer(
        "Messages to win",
        readonly=True,
        aggregator="avg",
        help="Messages exchanged (customer and salesperson) on a won lead before it "
        "was won (average per won lead).",
    )
    days_to_close = fields.Float(
        "Days to win",
        readonly=True,
        aggregator="avg",
        help="Days from the customer's first message to the lead being won (won leads "
        "only).",
    )
    csat = fields.Float(
        "Satisfaction",
        readonly=True,
        aggregator="avg",
        help="The customer's answer to the satisfaction survey about this lead (1-5).",
    )

    @property
    def _table_query(self):
        return SQL("""
            SELECT l.id AS id,
                   l.id AS lead_id,
                   l.create_date AS date,
                   l.date_closed,
                   first_msg.channel_id,
                   first_msg.channel_type,
                   first_msg.conversation_id,
                   l.company_id,
                   rc.currency_id,
                   l.team_id,
                   l.user_id,
                   l.partner_id,
                   l.source_id,
                   l.medium_id,
                   l.campaign_id,
                   l.stage_id,
                   l.lost_reason_id,
                   l.won_status,
                   CASE WHEN l.won_status = 'won' THEN 1 ELSE 0 END AS won_count,
                   CASE WHEN l.won_status = 'lost' THEN 1 ELSE 0 END AS lost_count,
                   CASE WHEN l.won_status = 'won' THEN 100.0::float8 ELSE 0.0::float8
                       END AS conversion_rate,
                   CASE WHEN l.won_status = 'won' THEN l.expected_revenue ELSE 0 END AS
                       won_revenue,
                   first_reply.response_sla_status AS first_response_sla,
                   first_reply.id IS NOT NULL AS answered,
                   CASE WHEN l.won_status = 'lost' AND first_reply.response_sla_status
                       = 'breached'
                        THEN 1 ELSE 0 END AS lost_late_count,
                   CASE WHEN l.won_status = 'lost' AND first_reply.id IS NULL THEN 1
                       ELSE 0 END AS lost_unanswered_count,
                   counts.customer_message_count,
                   counts.employee_message_count,
                   CASE WHEN l.won_status = 'won' THEN counts.won_message_count END AS
                       won_message_count,
                   CASE WHEN l.won_status = 'won' AND l.date_closed IS NOT NULL
                        THEN GREATEST(EXTRACT(EPOCH FROM (l.date_closed -
                            first_msg.date)) / 86400.0, 0)::float8
                   END AS days_to_close,
                   NULLIF(l.omnichannel_csat_score, 0)::float8 AS csat
              FROM crm_lead l
              JOIN LATERAL (
                    SELECT m.channel_id, m.channel_type, m.conversation_id, m.date
                      FROM omnichannel_message m
                     WHERE m.lead_id = l.id
                  ORDER BY m.date, m.id
                     LIMIT 1
              ) first_msg ON TRUE
         LEFT JOIN LATERAL (
                    SELECT m.id, m.response_sla_status
                      FROM omnichannel_message m
                     WHERE m.lead_id = l.id
                       AND (m.response_user_id IS NOT NULL
                            OR (m.author_kind = 'employee' AND m.message_type !=
                                'call'))
                  ORDER BY m.date, m.id
                     LIMIT 1
              ) first_reply ON TRUE
         CROSS JOIN LATERAL (
                    SELECT COUNT(*) FILTER (WHERE m.direction = 'in' AND m.message_type
                        != 'call') AS customer_message_count,
                           COUNT(*) FILTER (WHERE m.author_kind = 'employee' AND
                               m.message_type != 'call')
                               AS employee_message_count,
                           COUNT(*) FILTER (WHERE m.message_type != 'call'
                                              AND (m.direction = 'in' OR m.author_kind
                                                  = 'employee')
                                              AND (l.date_closed IS NULL OR m.date <=
                                                  l.date_closed)) AS won_message_count
                      FROM omnichannel_message m
                     WHERE m.lead_id = l.id
              ) counts
         LEFT JOIN res_company rc ON rc.id = l.company_id
             WHERE NOT EXISTS (
                    SELECT 1 FROM omnichannel_conversation spam
                     WHERE spam.spam_lead_id = l.id
              )
        """)
