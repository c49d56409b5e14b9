from datetime import timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import html2plaintext

from ..services import followup_dates
from .cron_progress import commit_progress

FOLLOWUP_BATCH = 200


class OmnichannelConversationFollowup(models.Model):
    """Follow-ups taken from what was said: a date the customer named, a
    salesperson's promise, a question left unanswered, a customer gone
    silent.  Each becomes an activity that quotes and links the message.

    Reminders that depend on time passing (unanswered question, silence)
    are one pending timer per conversation (``followup_next_*``, indexed),
    read by the cron only when due."""

    _inherit = "omnichannel.conversation"

    followup_next_kind = fields.Selection(
        [
            ("question", "Unanswered question"),
            ("silence", "Customer silent"),
        ],
        string="Next reminder",
        readonly=True,
    )
    followup_next_date = fields.Datetime(
        "Next reminder on", readonly=True, index="btree_not_null", copy=False
    )
    followup_message_id = fields.Many2one(
        "omnichannel.message",
        string="Reminder about",
        readonly=True,
        ondelete="set null",
    )

    def _customer_timezone(self):
        """The customer's timezone: their contact's, their phone number's (when
        it has one), else the business hours'."""
        self.ensure_one()
        tz = self.partner_id.tz or self._phone_timezone()
        return (
            tz
            or self.channel_id.business_calendar_id.tz
            or self.env.company.resource_calendar_id.tz
            or "UTC"
        )

    @staticmethod
    def _local(date, tz):
        return pytz.utc.localize(date).astimezone(pytz.timezone(tz or "UTC"))

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------
    def _followup_on_inbound(self, message):
        super()._followup_on_inbound(message)
        self.ensure_one()
        text = html2plaintext(message.body or "")
        if self._followup_setting("customer_dates"):
            found = followup_dates.follow_up_in(
                text, self._local(message.date, self._customer_timezone())
            )
            if found:
                mention, sentence = found
                owner = self._followup_owner()
                # The activity is written in its reader's language; looked up
                # only when there is one (most messages name no date).
                conversation = self.with_context(lang=self._reader_lang(owner))
                conversation._followup_activity(
                    "customer_date",
                    mention.when.date(),
                    owner,
                    conversation.env._("Customer: %s", mention.phrase),
                    sentence,
                    message,
                    mention,
                )
        if followup_dates.is_question(text) and self._followup_setting("questions"):
            if self.followup_next_kind != "question":
                self._followup_set(
                    "question",
                    message.date
                    + timedelta(hours=self._followup_setting("question_hours")),
                    message,
                )
        elif self.followup_next_kind == "silence":
            self._followup_set(False)
        self.lead_id._omnichannel_push_checkin(message.date)

    def _followup_on_outbound(self, message):
        super()._followup_on_outbound(message)
        self.ensure_one()
        if message.author_kind != "employee":
            return
        author = message.author_user_id
        self = self.with_context(lang=self._reader_lang(author))
        if self._followup_setting("own_promises") and author:
            text = html2plaintext(message.body or "")
            tz = author.tz or self._customer_timezone()
            found = followup_dates.follow_up_in(
                text, self._local(message.date, tz), own_promise=True
            )
            if found:
                mention, sentence = found
                self._followup_activity(
                    "own_promise",
                    mention.when.date(),
                    author,
                    self.env._("Promised: %s", mention.phrase),
                    sentence,
                    message,
                    mention,
                )
        if self._followup_setting("silence"):
            self._followup_set(
                "silence",
                message.date + timedelta(days=self._followup_setting("silence_days")),
                message,
            )
        else:
            self._followup_set(False)
        self.lead_id._omnichannel_push_checkin(message.date)

    def _followup_set(self, kind, date=False, message=None):
        self.sudo().write(
            {
                "followup_next_kind": kind or False,
                "followup_next_date": date if kind else False,
                "followup_message_id": message.id if kind and message else False,
            }
        )
        if kind:
            # The cached xml id lookup: no query checking the cron exists.
            self.env["ir.cron"].sudo().browse(
                self.env["ir.model.data"]._xmlid_to_res_id(
                    "omnichannel_inbox.ir_cron_omnichannel_followups"
                )
            )._trigger(date)

    # ------------------------------------------------------------------
    # Activities
    # ------------------------------------------------------------------
    def _followup_owner(self):
        self.ensure_one()
        return self.user_id or self.lead_id.user_id or self.team_id.user_id

    def _followup_record(self):
        lead = self.lead_id
        return lead if lead and lead.active else self.partner_id

    def _followup_activity(
        self, kind, date, user, summary, quote, message, mention=None
    ):
        """A to-do on the lead (else the customer) for ``user``, quoting
        ``quote`` from ``message`` and linking to it (in ``user``'s
        language: the summary is given in the conversation's)."""
        self.ensure_one()
        self = self.with_context(lang=self._reader_lang(user))
        if not user:
            self._message_log(
                body=self.env._(
                    'Follow-up "%s" not scheduled: nobody handles this customer.',
                    summary,
                )
            )
            return self.env["mail.activity"]
        record = self._followup_record().sudo()
        Activity = self.env["mail.activity"].sudo()
        if message and Activity.search_count(
            [
                ("omnichannel_message_id", "=", message.id),
                ("omnichannel_followup_kind", "=", kind),
            ],
            limit=1,
        ):
            return Activity
        when = ""
        if mention and mention.has_time:
            when = Markup("<p>%s</p>") % self.env._(
                "At %s", mention.when.strftime("%H:%M")
            )
        link = Markup("")
        if message:
            link = Markup(
                '<p><a href="/mail/message/%(id)s">%(label)s</a> - %(channel)s, '
                "%(date)s</p>"
            ) % {
                "id": message.mail_message_id.id,
                "label": self.env._("Open the message"),
                "channel": self.channel_id.name,
                "date": fields.Datetime.to_string(message.date)[:16],
            }
        note = Markup("<blockquote>%s</blockquote>") % (quote or "") + when + link
        activity = record.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=date,
            summary=summary,
            note=note,
            user_id=user.id,
            omnichannel_message_id=message.id if message else False,
            omnichannel_followup_kind=kind,
        )
        return activity

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    def _cron_followups(self):
        """Reminders that are due (indexed dates), then lead check-ins.
        Returns (conversations, leads) handled."""
        now = fields.Datetime.now()
        conversations = self._run_due(
            "followup_next_date", "_followup_run", FOLLOWUP_BATCH
        )
        Lead = self.env["crm.lead"]
        leads = Lead._omnichannel_cron_checkins(now, FOLLOWUP_BATCH)
        remaining = 0
        if len(conversations) >= FOLLOWUP_BATCH:
            remaining += self._due_count("followup_next_date")
        if len(leads) >= FOLLOWUP_BATCH:
            remaining += (
                Lead.sudo()
                .with_context(active_test=False)
                .search_count([("omnichannel_checkin_date", "<=", now)])
            )
        commit_progress(self.env, len(leads), remaining=remaining)
        return conversations, leads

    def _followup_run(self):
        self.ensure_one()
        self = self.with_context(lang=self._reader_lang(self._followup_owner()))
        kind, message = self.followup_next_kind, self.followup_message_id
        self._followup_set(False)
        lead_open = not self.lead_id or (
            self.lead_id.active and self.lead_id.won_status == "pending"
        )
        if (
            kind == "question"
            and self.state == "open"
            and self._followup_setting("questions")
        ):
            text = html2plaintext(message.body or "") if message else ""
            question = next(
                (s for s, q in followup_dates.split_sentences(text) if q), text
            )
            self._followup_activity(
                "question",
                fields.Date.context_today(self),
                self._followup_owner(),
                self.env._("Unanswered question"),
                question,
                message,
            )
        elif (
            kind == "silence"
            and self.state == "waiting"
            and lead_open
            and self._followup_setting("silence")
        ):
            days = self._followup_setting("silence_days")
            self._followup_activity(
                "silence",
                fields.Date.context_today(self),
                self._followup_owner(),
                self.env._("No answer from the customer for %s days", days),
                html2plaintext(message.body or "") if message else "",
                message,
            )
