import re
from datetime import timedelta
from textwrap import shorten

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.mail import html_to_inner_content

#: ir.config_parameter keys of the burst hint: this many customer messages
#: within that many seconds look like a bot.
BURST_COUNT_PARAM = "omnichannel_inbox.spam_burst_count"
BURST_SECONDS_PARAM = "omnichannel_inbox.spam_burst_seconds"
BURST_DEFAULTS = {BURST_COUNT_PARAM: 5, BURST_SECONDS_PARAM: 60}

_LINK = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)

QUALIFICATION_STATES = [
    ("to_qualify", "To qualify"),
    ("qualified", "Qualified"),
    ("not_lead", "Not a lead"),
    ("spam", "Spam"),
]
NOT_LEAD_REASONS = [
    ("supplier", "Supplier"),
    ("job_seeker", "Job seeker"),
    ("partner", "Partner or colleague"),
    ("wrong_address", "Wrong address"),
    ("other", "Other"),
]


class CrmTeam(models.Model):
    _inherit = "crm.team"

    omnichannel_qualification = fields.Boolean(
        "New requests wait for qualification",
        help="A new customer's conversation on this team's channels waits in "
        "Incoming, without a lead, until a salesperson qualifies it (a channel "
        "may decide otherwise).",
    )


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    qualification_mode = fields.Selection(
        [
            ("team", "As the sales team"),
            ("on", "Wait for qualification"),
            ("off", "Create leads at once"),
        ],
        string="New requests",
        default="team",
        required=True,
        help="Wait for qualification: a new customer's conversation lands in "
        "Incoming and no lead exists until a salesperson qualifies it. "
        "Customers with an open lead are never held back.",
    )
    # Stored so that the message flow reads it from the channel row it has
    # already loaded: no query for the channels without qualification.
    qualification_required = fields.Boolean(
        compute="_compute_qualification_required", store=True
    )

    @api.depends("qualification_mode", "team_id.omnichannel_qualification")
    def _compute_qualification_required(self):
        for channel in self:
            channel.qualification_required = channel.qualification_mode == "on" or (
                channel.qualification_mode == "team"
                and channel.team_id.omnichannel_qualification
            )


class OmnichannelConversation(models.Model):
    """Qualification: on a channel that asks for it, a new customer's
    conversation waits in Incoming (``to_qualify``) and no lead exists until
    a salesperson qualifies it (then the lead is created and routed as for
    any message), says it is not a lead (closed, with a reason), or spam
    (blocked, its lead archived, out of the figures; undone by *Not spam*).
    Spam hints only suggest."""

    _inherit = "omnichannel.conversation"

    qualification_state = fields.Selection(
        QUALIFICATION_STATES,
        string="Qualification",
        index="btree_not_null",
        tracking=True,
        readonly=True,
        help="Empty: the channel does not ask for qualification (or the customer "
        "had an open lead).",
    )
    not_lead_reason = fields.Selection(
        NOT_LEAD_REASONS, string="Why not a lead", readonly=True
    )
    qualification_note = fields.Text(readonly=True)
    qualification_user_id = fields.Many2one(
        "res.users", string="Qualified by", readonly=True
    )
    qualification_date = fields.Datetime(readonly=True)
    spam_hint = fields.Char(
        "Looks like spam",
        readonly=True,
        help="Why the conversation looks like spam. Only a suggestion: nothing is "
        "deleted or blocked until a person says it is spam.",
    )
    qualification_text = fields.Char(
        "What they wrote",
        compute="_compute_qualification_text",
        help="The customer's latest message, to qualify the request from the list.",
    )
    spam_lead_id = fields.Many2one(
        "crm.lead",
        string="Lead archived as spam",
        readonly=True,
        index="btree_not_null",
        help="Restored by Not spam.",
    )

    def _compute_qualification_text(self):
        # The latest customer message of each row, in one grouped query.
        Message = self.env["omnichannel.message"].sudo()
        latest = dict(
            Message._read_group(
                [("conversation_id", "in", self.ids), ("direction", "=", "in")],
                ["conversation_id"],
                ["id:max"],
            )
        )
        for conversation in self:
            message = Message.browse(latest.get(conversation._origin))
            conversation.qualification_text = (
                shorten(
                    html_to_inner_content(message.body or ""), 120, placeholder="..."
                )
                if message
                else False
            )

    # ------------------------------------------------------------------
    # Hooks of the message flow
    # ------------------------------------------------------------------
    def _ensure_lead(self):
        state = self.qualification_state
        if not state and not self.lead_id and self.channel_id.qualification_required:
            # A new request on a channel that asks for qualification: no lead
            # unless the customer already has an open one (then nobody holds
            # them back).
            lead = (
                self.env["crm.lead"]
                .sudo()
                .search_count(
                    [
                        ("partner_id", "=", self.partner_id.id),
                        ("active", "=", True),
                        ("won_status", "=", "pending"),
                    ],
                    limit=1,
                )
            )
            if not lead:
                self.sudo().write({"qualification_state": "to_qualify"})
                state = "to_qualify"
        if state in ("to_qualify", "not_lead", "spam"):
            return self.env["crm.lead"]
        return super()._ensure_lead()

    def _route_to_salesperson(
        self, message=None, exclude_users=None, reason_prefix=None
    ):
        if self.qualification_state in ("to_qualify", "spam"):
            # Waits in Incoming for a person of the team to qualify it.
            return self.user_id
        return super()._route_to_salesperson(
            message, exclude_users=exclude_users, reason_prefix=reason_prefix
        )

    def _after_inbound(self, message):
        if self.qualification_state == "to_qualify":
            self._qualification_spam_hints(message)
        super()._after_inbound(message)

    def _inbox_values(self):
        values = super()._inbox_values()
        labels = dict(
            self._fields["qualification_state"]._description_selection(self.env)
        )
        conversations = {c.id: c for c in self.sudo()}
        for row in values:
            conversation = conversations[row["id"]]
            state = conversation.qualification_state or False
            row.update(
                qualification_state=state,
                qualification_label=labels.get(state, ""),
                spam_hint=conversation.spam_hint if state == "to_qualify" else False,
            )
        return values

    # ------------------------------------------------------------------
    # Spam hints
    # ------------------------------------------------------------------
    def _qualification_spam_hints(self, message):
        """Add to ``spam_hint`` what makes ``message`` look like spam: a
        first message that is only links, a known phrase, a burst."""
        self.ensure_one()
        text = html_to_inner_content(message.body or "").strip()
        hints = []
        if (
            _LINK.search(text)
            and not re.search(r"\w", _LINK.sub("", text))
            and self._is_first_customer_message(message)
        ):
            hints.append(self.env._("the first message is only links"))
        lowered = text.lower()
        for phrase in (
            self.env["omnichannel.spam.phrase"]
            .sudo()
            .search([("company_id", "in", [False, self.company_id.id])])
        ):
            if phrase.name and phrase.name.lower() in lowered:
                hints.append(self.env._('known phrase "%s"', phrase.name))
        params = self.env["ir.config_parameter"].sudo()
        count, seconds = (
            int(params.get_param(key) or BURST_DEFAULTS[key])
            for key in (BURST_COUNT_PARAM, BURST_SECONDS_PARAM)
        )
        recent = (
            self.env["omnichannel.message"]
            .sudo()
            .search_count(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("date", ">=", message.date - timedelta(seconds=seconds)),
                    ("date", "<=", message.date),
                ]
            )
        )
        if count and recent >= count:
            hints.append(
                self.env._(
                    "a burst of %(count)s messages within %(seconds)s seconds",
                    count=count,
                    seconds=seconds,
                )
            )
        known = [h for h in (self.spam_hint or "").split("; ") if h]
        new = [h for h in dict.fromkeys(hints) if h not in known]
        if new:
            self.sudo().write({"spam_hint": "; ".join(known + new)})

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _qualification_check(self):
        """Only an employee who may work these conversations decides."""
        if self.env.user.share:
            raise AccessError(self.env._("Only employees may qualify conversations."))
        self.check_access("write")

    def action_qualify(self):
        """A real request: the lead is created (or the customer's open lead
        linked) and the conversation routed as any new message would be."""
        self._qualification_check()
        for conversation in self.sudo():
            if conversation.qualification_state not in ("to_qualify", "not_lead"):
                raise UserError(
                    self.env._(
                        "%s is not waiting for qualification.", conversation.name
                    )
                )
            conversation = conversation.with_context(lang=conversation._reader_lang())
            conversation.write(
                {
                    "qualification_state": "qualified",
                    "qualification_user_id": self.env.user.id,
                    "qualification_date": fields.Datetime.now(),
                    "not_lead_reason": False,
                    "qualification_note": False,
                }
            )
            lead = conversation._ensure_lead()
            if lead:
                conversation.omnichannel_message_ids.filtered(
                    lambda m: not m.lead_id
                ).write({"lead_id": lead.id})
            conversation._message_log(
                body=conversation.env._("Qualified by %s.", self.env.user.name)
            )
            if conversation.state == "closed":
                conversation.action_reopen()
            last = conversation.omnichannel_message_ids.filtered(
                lambda m: m.direction == "in"
            ).sorted(lambda m: (m.date, m.id))[-1:]
            conversation._route_to_salesperson(last or None)
            conversation._notify_panel()
        return True

    def action_open_not_lead_wizard(self):
        self.ensure_one()
        self._qualification_check()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Not a lead"),
            "res_model": "omnichannel.not.lead.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    def action_mark_spam(self):
        """Spam: the lead this conversation created is archived, the sender
        blocked (further messages are journaled, nothing else), the
        conversation closed and left out of the figures."""
        self._qualification_check()
        for conversation in self.sudo():
            if conversation.qualification_state == "spam":
                continue
            conversation = conversation.with_context(lang=conversation._reader_lang())
            lead = conversation.lead_id
            # Only a lead nobody else's conversation shares (not the open
            # deal of a known customer) was created by the spam.
            archive = (
                lead
                if lead
                and lead.active
                and lead.omnichannel_auto_created
                and not conversation.search_count(
                    [("lead_id", "=", lead.id), ("id", "!=", conversation.id)],
                    limit=1,
                )
                else lead.browse()
            )
            archive.action_archive()
            conversation.identity_id.action_block()
            conversation.write(
                {
                    "qualification_state": "spam",
                    "qualification_user_id": self.env.user.id,
                    "qualification_date": fields.Datetime.now(),
                    "spam_lead_id": archive.id,
                    "lead_id": False if archive else lead.id,
                    "state": "closed",
                    "waiting_since": False,
                    "sla_deadline": False,
                }
            )
            conversation._message_log(
                body=conversation.env._(
                    "Marked as spam by %s: the sender is blocked.", self.env.user.name
                )
            )
            conversation._notify_panel()
        return True

    def action_not_spam(self):
        """Undo *Spam*: the sender unblocked, the lead restored, the
        conversation back where it was (Incoming without a lead)."""
        self._qualification_check()
        for conversation in self.sudo():
            if conversation.qualification_state != "spam":
                continue
            conversation = conversation.with_context(lang=conversation._reader_lang())
            lead = conversation.spam_lead_id
            if lead:
                lead.action_unarchive()
            conversation.identity_id.action_unblock()
            conversation.write(
                {
                    "qualification_state": "qualified"
                    if lead or conversation.lead_id
                    else "to_qualify",
                    "lead_id": lead.id or conversation.lead_id.id,
                    "spam_lead_id": False,
                    "spam_hint": False,
                }
            )
            conversation.action_reopen()
            conversation._message_log(
                body=conversation.env._("Not spam, says %s.", self.env.user.name)
            )
            conversation._notify_panel()
        return True
