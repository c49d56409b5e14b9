from contextlib import closing
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import html2plaintext
from odoo.tools.misc import format_datetime

from .cron_progress import commit_progress

#: At most this many conversations per cron run; it wakes itself again if more are due.
SLA_BATCH = 200
SLA_STEPS = ["warn", "escalate", "reassign"]
#: A step of the past is done and noted as before, but interrupts nobody (no
#: mention, pop-up, email or SMS): one the cron reaches later than this after
#: its date (old conversations at install, a server that was stopped), or one
#: whose date had passed when the wait was registered (demo data and imports,
#: loaded with waits dated before their loading).
SLA_NOTIFY_WITHIN = timedelta(minutes=15)


class OmnichannelConversationSla(models.Model):
    """Response-time policy of a waiting customer.

    When a customer starts waiting, the policy sets ``sla_deadline`` and the
    first step (warn, escalate, reassign) with its date in
    ``sla_next_action_date``.  That column is indexed and the cron reads only
    the rows that are due, so its work grows with the conversations due, not
    with the open ones; it is woken with ``_trigger(date)`` for each step.
    A person's answer clears everything (automatic replies do not)."""

    _inherit = "omnichannel.conversation"

    sla_policy_id = fields.Many2one(
        "omnichannel.sla.policy",
        string="Response-time policy",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    sla_next_action = fields.Selection(
        [
            ("warn", "Warn the salesperson"),
            ("escalate", "Escalate to the team leader"),
            ("reassign", "Give to an available colleague"),
        ],
        string="Next SLA step",
        readonly=True,
    )
    sla_next_action_date = fields.Datetime(
        "Next SLA step on", readonly=True, index="btree_not_null", copy=False
    )
    sla_seen_date = fields.Datetime(
        "Wait registered on",
        readonly=True,
        copy=False,
        help="When the deadline was set: steps dated before it notify nobody.",
    )
    sla_breached = fields.Boolean(
        "Answer overdue",
        readonly=True,
        help="The customer has been waiting past the response-time target.",
    )

    # ------------------------------------------------------------------
    # Timing
    # ------------------------------------------------------------------
    def _sla_on_inbound(self, message):
        """The customer started waiting: set the deadline and the first step."""
        super()._sla_on_inbound(message)
        self.ensure_one()
        if self.sla_deadline or not self.waiting_since:
            return
        policy = self.env["omnichannel.sla.policy"]._for_conversation(self)
        if not policy:
            return
        minutes = (
            policy.next_response_minutes
            if self.first_response_date
            else policy.first_response_minutes
        )
        self.sudo().write(
            {
                "sla_policy_id": policy.id,
                "sla_deadline": policy._add_minutes(self.waiting_since, minutes),
                "sla_breached": False,
                "sla_seen_date": fields.Datetime.now(),
            }
        )
        self._sla_schedule()

    def _sla_step_dates(self):
        self.ensure_one()
        policy, deadline = self.sla_policy_id, self.sla_deadline
        warn = reassign = False
        if policy.warn_before_minutes > 0:
            warn = policy._add_minutes(deadline, -policy.warn_before_minutes)
            if warn <= self.waiting_since:
                warn = False
        if policy.reassign_after_minutes > 0:
            reassign = policy._add_minutes(deadline, policy.reassign_after_minutes)
        return {"warn": warn, "escalate": deadline, "reassign": reassign}

    def _sla_schedule(self, done=None):
        """Plan the step after ``done`` (or the first one) and wake the cron then."""
        self.ensure_one()
        dates = (
            self._sla_step_dates() if self.sla_policy_id and self.sla_deadline else {}
        )
        following = SLA_STEPS[SLA_STEPS.index(done) + 1 :] if done else SLA_STEPS
        for step in following:
            if dates.get(step):
                self.sudo().write(
                    {"sla_next_action": step, "sla_next_action_date": dates[step]}
                )
                self.env.ref(
                    "omnichannel_inbox.ir_cron_omnichannel_sla"
                ).sudo()._trigger(dates[step])
                return
        self.sudo().write({"sla_next_action": False, "sla_next_action_date": False})

    def _sla_stop(self):
        super()._sla_stop()
        self.sudo().write({"sla_next_action": False, "sla_next_action_date": False})

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------
    @api.model
    def _cron_sla(self):
        """Run the SLA steps that are due; returns the conversations handled."""
        conversations = self._run_due(
            "sla_next_action_date", "_sla_run_step", SLA_BATCH
        )
        self.env["omnichannel.sla.popup"]._send_due()
        more = len(conversations) >= SLA_BATCH
        commit_progress(
            self.env, remaining=self._due_count("sla_next_action_date") if more else 0
        )
        return conversations

    def _sla_run_step(self):
        self.ensure_one()
        self = self.with_context(lang=self._reader_lang())
        step = self.sla_next_action
        if (
            self.state != "open"
            or not self.waiting_since
            or not self.sla_policy_id
            or not step
        ):
            self._sla_stop()
            return
        if not self.user_id:
            # Someone may have come on duty since the customer wrote.
            self._route_to_salesperson()
        due = self.sla_next_action_date
        late = (
            self.sla_seen_date and due < self.sla_seen_date
        ) or fields.Datetime.now() - due > SLA_NOTIFY_WITHIN
        getattr(self.with_context(omnichannel_sla_quiet=late), f"_sla_{step}")()
        self._sla_schedule(step)

    def _sla_local_time(self, value, user=None):
        tz = (user and user.tz) or self.sla_policy_id.calendar_id.tz or "UTC"
        return format_datetime(
            self.env,
            value,
            tz=tz,
            dt_format="short",
            lang_code=user.lang if user else None,
        )

    def _sla_warn(self):
        if not self.user_id:
            self._message_log(
                body=self.env._(
                    "Response-time warning: nobody to warn, the conversation waits in "
                    "the queue."
                )
            )
            return
        body = self.env._(
            "Please answer %(customer)s before %(deadline)s (response-time policy "
            '"%(policy)s").',
            customer=self.partner_id.name,
            deadline=self._sla_local_time(self.sla_deadline, self.user_id),
            policy=self.sla_policy_id.name,
        )
        means = self._omnichannel_notify(
            self.user_id, self.env._("Customer waiting"), body, kind="warn"
        )
        self._sla_log(
            self.env._(
                "Warned %(user)s before the deadline (%(means)s).",
                user=self.user_id.name,
                means=", ".join(means),
            )
        )

    def _sla_escalate(self):
        self.sudo().sla_breached = True
        policy = self.sla_policy_id
        leader = self.team_id.user_id
        if not leader:
            self._sla_log(
                self.env._(
                    "Not answered by %(deadline)s: nobody to escalate to, the team has "
                    "no leader.",
                    deadline=self._sla_local_time(self.sla_deadline),
                )
            )
            return
        # The leader is told in their language, the chatter in the owner's.
        to_leader = self.with_context(lang=self._reader_lang(leader))
        body = to_leader.env._(
            "%(customer)s has been waiting since %(since)s and was not answered by "
            "%(deadline)s (%(owner)s).",
            customer=self.partner_id.name,
            since=self._sla_local_time(self.waiting_since, leader),
            deadline=self._sla_local_time(self.sla_deadline, leader),
            owner=self.user_id.name or to_leader.env._("unassigned"),
        )
        means = to_leader._omnichannel_notify(
            leader,
            to_leader.env._("Response time breached"),
            body,
            email=policy.notify_email,
            sms=policy.notify_sms,
            kind="breach",
        )
        self._sla_log(
            self.env._(
                "Not answered by %(deadline)s: escalated to the team leader %(leader)s "
                "(%(means)s).",
                deadline=self._sla_local_time(self.sla_deadline),
                leader=leader.name,
                means=", ".join(means),
            )
        )

    def _sla_reassign(self):
        previous = self.user_id
        # "Assigned to X: <why>" in one language, X's: who routing would
        # choose is asked first, undone (a round-robin turn included), then
        # asked again in that person's language.
        with closing(self.env.cr.savepoint()):
            candidate = self.env["omnichannel.routing.rule"]._decide(
                self, exclude=previous
            )[0]
        self = self.with_context(lang=self._reader_lang(candidate))
        why = self.env._(
            "not answered %(minutes)s minutes past the deadline",
            minutes=self.sla_policy_id.reassign_after_minutes,
        )
        user = self._route_to_salesperson(exclude_users=previous, reason_prefix=why)
        if user and user != previous:
            to_user = self.with_context(lang=self._reader_lang(user))
            to_user._omnichannel_notify(
                user,
                to_user.env._("Conversation reassigned to you"),
                to_user.env._(
                    "%(customer)s has been waiting since %(since)s: the conversation "
                    "is yours now.",
                    customer=self.partner_id.name,
                    since=self._sla_local_time(self.waiting_since, user),
                ),
                kind="reassign",
            )
        else:
            self._sla_log(
                self.env._(
                    "No available colleague to take over: %s.",
                    self.env._("stays with %s", previous.name)
                    if previous
                    else self.env._("stays in the queue"),
                )
            )

    def _sla_log(self, text):
        self._message_log(body=Markup("<p>⏱ %s</p>") % text)

    # ------------------------------------------------------------------
    # Notifications
    # ------------------------------------------------------------------
    def _omnichannel_notify(
        self, users, title, body, email=False, sms=False, kind="warn"
    ):
        """Tell ``users`` about this conversation: Odoo inbox (a note
        mentioning them, in its chatter), a pop-up (queued: one per person and
        minute, see omnichannel.sla.popup), and, when asked, an email and an
        SMS (if the SMS app is installed).  Returns the means used, for the
        log.  A step of the past (context ``omnichannel_sla_quiet``) only
        leaves the note, mentioning nobody."""
        self.ensure_one()
        if self.env.context.get("omnichannel_sla_quiet"):
            self.sudo().message_post(
                body=Markup("<p>%s</p>") % body,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            return [self.env._("nobody notified: the step was overdue when checked")]
        means = [self.env._("Odoo inbox")]
        self.sudo().message_post(
            body=Markup("<p>%s</p>") % body,
            partner_ids=users.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        self.env["omnichannel.sla.popup"]._queue(
            users, self, kind, title, html2plaintext(body)
        )
        means.append(self.env._("pop-up"))
        if email:
            recipients = users.filtered(
                lambda u: u.email and u.notification_type != "email"
            )
            for user in recipients:
                self.env["mail.mail"].sudo().create(
                    {
                        "subject": f"{title}: {self.name}",
                        "body_html": Markup("<p>%s</p>") % body,
                        "email_to": user.email_formatted,
                        "model": self._name,
                        "res_id": self.id,
                        "auto_delete": True,
                    }
                )
            if users.filtered(lambda u: u.email):
                means.append(self.env._("email"))
        if sms:
            phones = [
                (u, u.partner_id.phone_sanitized or u.partner_id.phone) for u in users
            ]
            self.env["sms.sms"].sudo().create(
                [
                    {
                        "number": phone,
                        "partner_id": user.partner_id.id,
                        "body": f"{title}: {html2plaintext(body)}",
                    }
                    for user, phone in phones
                    if phone
                ]
            )
            means.append(
                self.env._("SMS")
                if any(p for _u, p in phones)
                else self.env._("no SMS: no phone number")
            )
        return means
