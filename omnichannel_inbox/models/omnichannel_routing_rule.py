from datetime import datetime, timedelta
from functools import cached_property

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError

STRATEGIES = [
    ("keep_owner", "Keep the customer's salesperson"),
    ("round_robin", "Round-robin"),
    ("least_loaded", "Fewest open conversations"),
    ("skills", "Skills (product areas)"),
    ("win_rate", "Best recent win rate on similar leads"),
]


def _channel_types(self):
    return (
        self.env["omnichannel.channel"]
        ._fields["channel_type"]
        ._description_selection(self.env)
    )


class RoutingContext:
    """What the rules look at, computed once per routing decision.  The
    message's text, its tags and whether the customer is known are read
    when a rule first asks (most rules look at neither: six queries)."""

    def __init__(self, conversation, message=None):
        self.conversation = conversation
        self.message = message
        partner = conversation.partner_id
        identity = conversation.identity_id
        self.lang = (identity.language or partner.lang or "").replace("-", "_")
        self.country = partner.country_id or conversation._phone_country()
        self.timezone = partner.tz or conversation._phone_timezone()

    @cached_property
    def text(self):
        return self.conversation._routing_text(self.message)

    @cached_property
    def tags(self):
        return (
            self.conversation.env["crm.tag"]
            .sudo()
            .search([])
            ._omnichannel_mentioned_in(self.text)
            | self.conversation.lead_id.tag_ids
        )

    @cached_property
    def existing_customer(self):
        return self.conversation._is_existing_customer()

    def utc_offset(self):
        if not self.timezone:
            return None
        now = datetime.utcnow()
        return pytz.timezone(self.timezone).utcoffset(now).total_seconds() / 3600


class OmnichannelRoutingRule(models.Model):
    """One line of the routing table: which conversations it takes
    (conditions) and how it picks the person (strategy).  Rules are tried in
    order; the first matching rule that finds an available person decides."""

    _name = "omnichannel.routing.rule"
    _description = "Routing Rule"
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
    team_id = fields.Many2one(
        "crm.team",
        string="For the team",
        help="Only conversations of this sales team. Empty: every team.",
    )
    # -- conditions -----------------------------------------------------------
    channel_type = fields.Selection(
        _channel_types, string="Channel type", help="Empty: any channel."
    )
    channel_ids = fields.Many2many(
        "omnichannel.channel",
        "omnichannel_routing_rule_channel_rel",
        "rule_id",
        "channel_id",
        string="Channel accounts",
        help="Empty: any account.",
    )
    lang_ids = fields.Many2many(
        "res.lang",
        "omnichannel_routing_rule_lang_rel",
        "rule_id",
        "lang_id",
        string="Customer languages",
        context={"active_test": False},
        help="The customer's language (from their messenger profile or contact). "
        "Empty: any.",
    )
    country_ids = fields.Many2many(
        "res.country",
        "omnichannel_routing_rule_country_rel",
        "rule_id",
        "country_id",
        string="Customer countries",
        help="From the customer's contact, else from their phone number. Empty: any.",
    )
    filter_utc_offset = fields.Boolean(
        "Customer's time zone",
        help="Match customers whose time zone (their contact's, else their phone "
        "number's) is in this UTC offset range.",
    )
    utc_offset_min = fields.Float("From UTC offset", default=-12)
    utc_offset_max = fields.Float("To UTC offset", default=14)
    keywords = fields.Char(
        help="Comma-separated words; the rule matches when the customer's message "
        "contains one of them."
    )
    tag_ids = fields.Many2many(
        "crm.tag",
        "omnichannel_routing_rule_tag_rel",
        "rule_id",
        "tag_id",
        string="Product areas mentioned",
        help="The message names one of these tags (by name or its words), or the lead "
        "has it.",
    )
    customer_kind = fields.Selection(
        [
            ("any", "Any customer"),
            ("new", "New customers"),
            ("existing", "Existing customers"),
        ],
        string="Customers",
        default="any",
        required=True,
        help="Existing: the customer had another lead or conversation before this one.",
    )
    # -- decision -------------------------------------------------------------
    strategy = fields.Selection(STRATEGIES, required=True, default="least_loaded")
    assign_team_id = fields.Many2one(
        "crm.team",
        string="Route to team",
        help="The conversation and its lead move to this team; its members are the "
        "candidates. "
        "Empty: the conversation's own team.",
    )
    user_ids = fields.Many2many(
        "res.users",
        "omnichannel_routing_rule_user_rel",
        "rule_id",
        "user_id",
        string="Salespeople",
        domain="[('share', '=', False)]",
        help="The candidates. Empty: the members of the team.",
    )
    max_open_per_user = fields.Integer(
        "Cap per person",
        default=0,
        help="A person with this many conversations waiting for them gets no more from "
        "this rule. 0: no cap.",
    )
    win_rate_days = fields.Integer("Win rate over (days)", default=90)
    last_user_id = fields.Many2one(
        "res.users",
        string="Last assigned",
        readonly=True,
        copy=False,
        help="Round-robin position.",
    )

    @api.constrains("utc_offset_min", "utc_offset_max")
    def _check_offsets(self):
        for rule in self:
            if rule.filter_utc_offset and rule.utc_offset_min > rule.utc_offset_max:
                raise ValidationError(
                    self.env._('The UTC offset range of "%s" is empty.', rule.name)
                )

    # ------------------------------------------------------------------
    # Decision
    # ------------------------------------------------------------------
    @api.model
    def _rules_for(self, conversation):
        return self.sudo().search(
            [
                ("company_id", "in", [False, conversation.company_id.id]),
                ("team_id", "in", [False, conversation.team_id.id]),
            ]
        )

    def _matches(self, ctx):
        self.ensure_one()
        conversation = ctx.conversation
        if self.channel_type and conversation.channel_type != self.channel_type:
            return False
        if self.channel_ids and conversation.channel_id not in self.channel_ids:
            return False
        if self.lang_ids:
            codes = set(self.lang_ids.mapped("code")) | set(
                self.lang_ids.mapped("iso_code")
            )
            if not ctx.lang or not (
                ctx.lang in codes
                or ctx.lang.split("_")[0] in {c.split("_")[0] for c in codes}
            ):
                return False
        if self.country_ids and ctx.country not in self.country_ids:
            return False
        if self.filter_utc_offset:
            offset = ctx.utc_offset()
            if (
                offset is None
                or not self.utc_offset_min <= offset <= self.utc_offset_max
            ):
                return False
        if self.keywords:
            text = (ctx.text or "").lower()
            words = [w.strip().lower() for w in self.keywords.split(",") if w.strip()]
            if not any(word in text for word in words):
                return False
        if self.tag_ids and not (self.tag_ids & ctx.tags):
            return False
        if self.customer_kind == "new" and ctx.existing_customer:
            return False
        if self.customer_kind == "existing" and not ctx.existing_customer:
            return False
        return True

    def _target_team(self, conversation):
        self.ensure_one()
        return self.assign_team_id or conversation.team_id

    def _candidates(self, conversation, exclude):
        self.ensure_one()
        users = self.user_ids or self._target_team(conversation).member_ids
        return users.filtered(lambda u: u.active and not u.share) - exclude

    def _pick(self, ctx, exclude, now):
        """(user, explanation) chosen by this rule, or (None, why not)."""
        self.ensure_one()
        return getattr(self, f"_pick_{self.strategy}")(ctx, exclude, now)

    def _available(self, users, now, capped=True):
        available = users.filtered(lambda u: u._omnichannel_is_available(now))
        if capped and self.max_open_per_user:
            loads = self.env["omnichannel.conversation"]._open_load(available)
            available = available.filtered(
                lambda u: loads.get(u.id, 0) < self.max_open_per_user
            )
        return available

    def _pick_keep_owner(self, ctx, exclude, now):
        owner = ctx.conversation._customer_owner() - exclude
        if not owner:
            return None, self.env._("the customer has no salesperson yet")
        if owner._omnichannel_is_available(now):
            return owner, self.env._("kept the customer's salesperson")
        reason = owner._omnichannel_unavailable_reason(now)
        substitute = owner.omnichannel_substitute_id - exclude
        if substitute and substitute._omnichannel_is_available(now):
            return substitute, self.env._(
                "%(reason)s: their substitute answers", reason=reason
            )
        return None, reason

    def _pick_round_robin(self, ctx, exclude, now):
        available = self._available(
            self._candidates(ctx.conversation, exclude), now
        ).sorted("id")
        if not available:
            return None, self.env._("nobody available")
        # Lock the rule's position: two messages routed at once get two people.
        self.env.cr.execute(
            "SELECT last_user_id FROM omnichannel_routing_rule "
            "WHERE id = %s FOR UPDATE",
            [self.id],
        )
        last_id = self.env.cr.fetchone()[0] or 0
        user = next((u for u in available if u.id > last_id), available[0])
        self.sudo().write({"last_user_id": user.id})
        return user, self.env._("next in turn")

    def _pick_least_loaded(self, ctx, exclude, now):
        available = self._available(self._candidates(ctx.conversation, exclude), now)
        if not available:
            return None, self.env._("nobody available under the cap")
        loads = self.env["omnichannel.conversation"]._open_load(available)
        user = min(available, key=lambda u: (loads.get(u.id, 0), u.id))
        return user, self.env._(
            "fewest conversations waiting (%s)", loads.get(user.id, 0)
        )

    def _pick_skills(self, ctx, exclude, now):
        if not ctx.tags:
            return None, self.env._("no product area recognised")
        available = self._available(self._candidates(ctx.conversation, exclude), now)
        skilled = available.filtered(lambda u: u.omnichannel_skill_tag_ids & ctx.tags)
        if not skilled:
            return None, self.env._(
                "nobody available knows %s", ", ".join(ctx.tags.mapped("name"))
            )
        loads = self.env["omnichannel.conversation"]._open_load(skilled)
        user = min(
            skilled,
            key=lambda u: (
                -len(u.omnichannel_skill_tag_ids & ctx.tags),
                loads.get(u.id, 0),
                u.id,
            ),
        )
        return user, self.env._(
            "knows %s",
            ", ".join((user.omnichannel_skill_tag_ids & ctx.tags).mapped("name")),
        )

    def _pick_win_rate(self, ctx, exclude, now):
        available = self._available(self._candidates(ctx.conversation, exclude), now)
        if not available:
            return None, self.env._("nobody available")
        rates = self._win_rates(available, ctx, now)
        loads = self.env["omnichannel.conversation"]._open_load(available)
        user = min(
            available,
            key=lambda u: (-rates.get(u.id, (-1, 0))[0], loads.get(u.id, 0), u.id),
        )
        rate, closed = rates.get(user.id, (-1, 0))
        if rate < 0:
            return user, self.env._(
                "no closed similar leads yet: fewest conversations waiting"
            )
        return user, self.env._(
            "best win rate on similar leads: %(rate)s%% of %(count)s in %(days)s days",
            rate=round(rate * 100),
            count=closed,
            days=self.win_rate_days,
        )

    def _win_rates(self, users, ctx, now):
        """{user id: (won share, closed count)} over the leads closed in the
        last ``win_rate_days`` that came from the same source (channel of
        first contact) and, when the message names product areas, share one."""
        conversation = ctx.conversation
        domain = [
            ("user_id", "in", users.ids),
            ("won_status", "in", ("won", "lost")),
            ("date_closed", ">=", now - timedelta(days=self.win_rate_days or 90)),
            ("source_id", "=", conversation.channel_id.source_id.id),
        ]
        if ctx.tags:
            domain.append(("tag_ids", "in", ctx.tags.ids))
        groups = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(domain, ["user_id", "won_status"], ["__count"])
        )
        counts = {}
        for user, status, count in groups:
            won, total = counts.get(user.id, (0, 0))
            counts[user.id] = (won + (count if status == "won" else 0), total + count)
        return {
            uid: (won / total, total) for uid, (won, total) in counts.items() if total
        }

    @api.model
    def _decide(self, conversation, message=None, exclude=None, now=None):
        """Who answers ``conversation``: (user or None, team, explanation).

        The first rule whose conditions match and that finds an available
        person decides.  Nobody: the team's on-duty substitute, else the team
        queue (user None)."""
        now = now or fields.Datetime.now()
        exclude = exclude or self.env["res.users"]
        ctx = RoutingContext(conversation, message)
        team = conversation.team_id
        first_match = None
        skipped = []
        for rule in self._rules_for(conversation):
            if not rule._matches(ctx):
                continue
            first_match = first_match or rule
            user, why = rule._pick(ctx, exclude, now)
            if user:
                return (
                    user,
                    rule._target_team(conversation),
                    self.env._('rule "%(rule)s": %(why)s', rule=rule.name, why=why),
                )
            skipped.append(self.env._('"%(rule)s": %(why)s', rule=rule.name, why=why))
        if first_match:
            team = first_match._target_team(conversation)
        on_duty = team.omnichannel_on_duty_user_id - exclude
        tried = "; ".join(skipped) or self.env._("no routing rule applies")
        if on_duty and on_duty._omnichannel_is_available(now, check_hours=False):
            return (
                on_duty,
                team,
                self.env._(
                    "on-duty substitute of %(team)s (%(tried)s)",
                    team=team.name,
                    tried=tried,
                ),
            )
        return None, team, tried
