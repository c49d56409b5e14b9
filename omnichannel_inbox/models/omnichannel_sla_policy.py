from datetime import timedelta

import pytz

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

PRIORITIES = [
    ("0", "Any"),
    ("1", "Medium or higher"),
    ("2", "High or higher"),
    ("3", "Very high"),
]


class OmnichannelSlaPolicy(models.Model):
    """Response-time targets: how soon a person must answer a waiting
    customer, counted in business hours (a working-time calendar, its public
    holidays excluded) or in calendar time, and what happens when nobody does:
    a warning to the salesperson, an escalation to the team leader, then the
    conversation goes to an available colleague.

    The first policy (by sequence) matching the conversation's team, channel
    account and lead priority applies."""

    _name = "omnichannel.sla.policy"
    _description = "Response-time Policy"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        default=lambda self: self.env.company,
        index=True,
        help="Empty: every company.",
    )
    team_ids = fields.Many2many(
        "crm.team",
        "omnichannel_sla_policy_team_rel",
        "policy_id",
        "team_id",
        string="Sales teams",
        help="Empty: every team.",
    )
    channel_ids = fields.Many2many(
        "omnichannel.channel",
        "omnichannel_sla_policy_channel_rel",
        "policy_id",
        "channel_id",
        string="Channel accounts",
        help="Empty: every account.",
    )
    min_priority = fields.Selection(
        PRIORITIES,
        string="Lead priority",
        default="0",
        required=True,
        help="Applies to leads of at least this priority.",
    )
    first_response_minutes = fields.Integer(
        "First response within (minutes)",
        default=5,
        required=True,
        help="From the customer's first message to a person's first answer.",
    )
    next_response_minutes = fields.Integer(
        "Next responses within (minutes)",
        default=15,
        required=True,
        help="From any later unanswered customer message to the next answer.",
    )
    time_basis = fields.Selection(
        [
            ("business", "Business hours"),
            ("calendar", "Calendar time (24/7)"),
        ],
        string="Counted in",
        default="business",
        required=True,
    )
    calendar_id = fields.Many2one(
        "resource.calendar",
        string="Business hours",
        default=lambda self: self.env.company.resource_calendar_id,
        help="Working time and public holidays the targets are counted in.",
    )
    warn_before_minutes = fields.Integer(
        "Warn the salesperson (minutes before)", default=2, help="0: no warning."
    )
    notify_email = fields.Boolean(
        "Also by email",
        default=True,
        help="Escalations also go to the team leader by email.",
    )
    notify_sms = fields.Boolean(
        "Also by SMS",
        help="Escalations also go by SMS to the team leader's mobile, when the SMS app "
        "is installed.",
    )
    reassign_after_minutes = fields.Integer(
        "Reassign after (minutes past the deadline)",
        default=10,
        help="Still unanswered this long after the deadline: an available colleague "
        "gets the conversation. "
        "0: never.",
    )

    @api.constrains(
        "first_response_minutes", "next_response_minutes", "time_basis", "calendar_id"
    )
    def _check_targets(self):
        for policy in self:
            if policy.first_response_minutes <= 0 or policy.next_response_minutes <= 0:
                raise ValidationError(self.env._("Response targets must be positive."))
            if policy.time_basis == "business" and not policy.calendar_id:
                raise ValidationError(
                    self.env._('Choose the business hours "%s" counts in.', policy.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    def _for_conversation(self, conversation):
        priority = conversation.lead_id.priority or "0"
        for policy_id, team_ids, channel_ids, min_priority in self._choices(
            conversation.company_id.id
        ):
            if team_ids and conversation.team_id.id not in team_ids:
                continue
            if channel_ids and conversation.channel_id.id not in channel_ids:
                continue
            if priority < min_priority:
                continue
            return self.browse(policy_id)
        return self.browse()

    @api.model
    @tools.ormcache("company_id")
    def _choices(self, company_id):
        """The active policies of ``company_id`` and of every company, in
        their order, with what picks one (teams, channel accounts, lowest
        priority).  Cached (cleared by any change of a policy): every
        customer's message asks, and policies seldom change."""
        policies = self.sudo().search([("company_id", "in", [False, company_id])])
        return tuple(
            (
                policy.id,
                frozenset(policy.team_ids.ids),
                frozenset(policy.channel_ids.ids),
                policy.min_priority,
            )
            for policy in policies
        )

    def _add_minutes(self, start, minutes):
        """``start`` (naive UTC) plus ``minutes`` counted in the policy's time
        basis (negative: back in time).  In business hours a Friday-evening
        message plus 5 minutes is Monday opening plus 5 minutes."""
        self.ensure_one()
        if self.time_basis == "calendar" or not self.calendar_id:
            return start + timedelta(minutes=minutes)
        planned = self.calendar_id.plan_hours(
            minutes / 60.0, pytz.utc.localize(start), compute_leaves=True
        )
        if not planned:  # a calendar without working time
            return start + timedelta(minutes=minutes)
        return planned.astimezone(pytz.utc).replace(tzinfo=None)
