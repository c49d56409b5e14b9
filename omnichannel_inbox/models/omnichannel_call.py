import logging
import mimetypes
import uuid
from datetime import timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import plaintext2html

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.calls import (
    REPLAYED_CALL_PREFIX,
    CallEvent,
)
from odoo.addons.omnichannel_inbox.connectors.safe_http import DownloadRefused

from ..services import retry
from .cron_progress import commit_progress
from .omnichannel_inbound_event import _event_datetime

_logger = logging.getLogger(__name__)

ADMIN = "omnichannel_inbox.group_omnichannel_admin"
TERMINAL_STATES = ("missed", "voicemail", "ended")
#: waits between attempts to download a recording; then it is marked failed
RECORDING_RETRY_DELAYS = retry.backoff(5)
#: a call with no news for this long is closed (its end event was lost)
STALE_AFTER = timedelta(hours=4)
#: provider events of a click-to-call arrive within this time of the click
CLICK_MATCH_WINDOW = timedelta(minutes=10)
CLICK_PREFIX = "click-"


def _epoch(value):
    """Odoo's naive UTC datetime as epoch seconds (what CallEvent carries)."""
    return pytz.utc.localize(value).timestamp()


class OmnichannelCall(models.Model):
    """One phone call with a customer, merged from the provider's events.

    Events of the same provider call id may arrive in any order (a webhook
    retried, the end before the answer): each one only adds facts (answered,
    ended, voicemail, dates, extension...) and the state is computed from the
    facts, so the record never goes backwards and ends up the same whatever
    the order.  The call is also one entry of the customer's history: an
    ``omnichannel.message`` of type ``call`` on the phone conversation."""

    _name = "omnichannel.call"
    _description = "Phone Call"
    _order = "start_date desc, id desc"

    name = fields.Char(compute="_compute_name")
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Phone line",
        required=True,
        ondelete="restrict",
        index=True,
        readonly=True,
    )
    channel_type = fields.Selection(related="channel_id.channel_type")
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True
    )
    provider_call_id = fields.Char(
        "Provider call ID", required=True, readonly=True, copy=False
    )
    origin = fields.Selection(
        [("provider", "Phone system"), ("click", "Click-to-call")],
        default="provider",
        required=True,
        readonly=True,
    )
    conversation_id = fields.Many2one(
        "omnichannel.conversation",
        readonly=True,
        index="btree_not_null",
        ondelete="cascade",
    )
    partner_id = fields.Many2one(
        related="conversation_id.partner_id", store=True, index=True, string="Customer"
    )
    lead_id = fields.Many2one(
        "crm.lead", readonly=True, index="btree_not_null", ondelete="set null"
    )
    message_id = fields.Many2one(
        "omnichannel.message",
        string="History entry",
        readonly=True,
        ondelete="set null",
    )
    direction = fields.Selection(
        [("in", "Incoming"), ("out", "Outgoing")], readonly=True
    )
    customer_number = fields.Char(readonly=True)
    customer_phone_sanitized = fields.Char(
        "Customer number (E.164)", readonly=True, index="btree_not_null"
    )
    customer_name = fields.Char("Caller ID name", readonly=True)
    our_number = fields.Char("Our number", readonly=True)
    from_number = fields.Char(compute="_compute_numbers")
    to_number = fields.Char(compute="_compute_numbers")
    state = fields.Selection(
        [
            ("ringing", "Ringing"),
            ("answered", "In progress"),
            ("missed", "Missed"),
            ("voicemail", "Voicemail"),
            ("ended", "Ended"),
        ],
        default="ringing",
        required=True,
        readonly=True,
        index=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Employee",
        readonly=True,
        index="btree_not_null",
        help="Who answered (incoming) or placed (outgoing) the call, found by "
        "extension.",
    )
    extension = fields.Char(readonly=True)
    start_date = fields.Datetime("Started", readonly=True, index=True)
    answer_date = fields.Datetime("Answered", readonly=True)
    end_date = fields.Datetime("Ended", readonly=True)
    duration = fields.Integer("Talk time (s)", readonly=True)
    hangup_by = fields.Selection(
        [("customer", "Customer"), ("employee", "Employee")],
        string="Hung up by",
        readonly=True,
    )
    disposition = fields.Char("Provider outcome", readonly=True)
    is_answered = fields.Boolean("Was answered", readonly=True)
    is_ended = fields.Boolean("Over", readonly=True)
    is_voicemail = fields.Boolean("Went to voicemail", readonly=True)
    outside_business_hours = fields.Boolean(readonly=True)
    contact_state = fields.Selection(
        [
            ("none", "Not counted yet"),
            ("missed", "Counted as waiting for a call back"),
            ("answered", "Counted as answered"),
        ],
        default="none",
        required=True,
        readonly=True,
        help="How the call was counted in the conversation (waiting time, SLA, "
        "reports).",
    )
    contact_date = fields.Datetime(
        readonly=True, help="The date the call was counted at in its conversation."
    )
    callback_activity_id = fields.Many2one(
        "mail.activity", string="Call-back activity", readonly=True, ondelete="set null"
    )
    recording_url = fields.Char(readonly=True, groups=ADMIN)
    recording_ref = fields.Char("Recording reference", readonly=True, groups=ADMIN)
    recording_state = fields.Selection(
        [
            ("none", "No recording"),
            ("pending", "To download"),
            ("done", "Attached"),
            ("failed", "Download failed"),
        ],
        default="none",
        required=True,
        readonly=True,
    )
    recording_attachment_id = fields.Many2one(
        "ir.attachment", string="Recording", readonly=True, ondelete="set null"
    )
    recording_attempts = fields.Integer(readonly=True)
    recording_next_try = fields.Datetime(readonly=True, index="btree_not_null")
    recording_error = fields.Char(readonly=True)

    _provider_call_unique = models.Constraint(
        "UNIQUE(channel_id, provider_call_id)", "A call is stored once per phone line."
    )

    @api.depends("direction", "customer_number", "start_date")
    def _compute_name(self):
        for call in self:
            call.name = call._title()

    @api.depends("direction", "customer_number", "extension", "our_number")
    def _compute_numbers(self):
        for call in self:
            ours = call.extension or call.our_number or ""
            customer = call.customer_number or ""
            call.from_number, call.to_number = (
                (ours, customer) if call.direction == "out" else (customer, ours)
            )

    # ------------------------------------------------------------------
    # Provider events
    # ------------------------------------------------------------------
    @api.model
    @api.model
    def _replayed_call(self, channel, call_id):
        """Whether a notification of call ``call_id`` was journaled as
        outside the replay window (see connectors.ReplayedRequest): its later
        events have no call to wait for."""
        return bool(call_id) and bool(
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search_count(
                [
                    ("channel_id", "=", channel.id),
                    ("event_kind", "=", "request"),
                    ("state", "=", "ignored"),
                    ("note", "=like", f"{REPLAYED_CALL_PREFIX}{call_id}:%"),
                ],
                limit=1,
            )
        )

    def _apply_event(self, channel, event, final_attempt=False):
        """Merge one CallEvent of ``channel``; return values for its journal row."""
        Identity = self.env["omnichannel.identity"].sudo()
        # Two events of one call processed at once by two workers make one call.
        Identity._lock("omnichannel-call", channel.id, event.call_id)
        call = self.sudo().search(
            [("channel_id", "=", channel.id), ("provider_call_id", "=", event.call_id)],
            limit=1,
        ) or self._match_click_to_call(channel, event)
        if not call:
            if not event.customer_number and self._replayed_call(
                channel, event.call_id
            ):
                return {
                    "state": "ignored",
                    "note": self.env._(
                        "the notifications of this call were outside the replay "
                        "window: not applied"
                    ),
                }
            if not event.customer_number:
                if final_attempt:
                    return {
                        "state": "ignored",
                        "note": self.env._(
                            "no event of this call told the customer number"
                        ),
                    }
                # Its first event (with the number) may still be on its way.
                raise UserError(
                    self.env._(
                        "Call %s is not known yet and this event does not say the "
                        "customer "
                        "number: waiting for the call's first event.",
                        event.call_id,
                    )
                )
            e164 = (
                Identity._sanitize_phone(event.customer_number, channel.company_id)
                or event.customer_number.strip()
            )
            # The caller id is the line's own word for who called: a proof, as
            # an SMS sender is (see omnichannel.identity._resolve).
            contact = connectors.Contact(
                user_id=e164,
                phone=event.customer_number,
                phone_verified=True,
                name=event.customer_name
                or self._format_number(e164, channel.company_id),
            )
            identity = Identity._resolve(
                channel, contact, date=_event_datetime(event.started or event.date)
            )
            if identity.blocked:
                return {"state": "ignored", "note": self.env._("blocked identity")}
            if identity._is_blacklisted():
                return {
                    "state": "ignored",
                    "note": self.env._("blacklisted phone number"),
                }
            conversation = self.env["omnichannel.conversation"]._get_for_identity(
                channel, identity
            )
            call = self.sudo().create(
                {
                    "channel_id": channel.id,
                    "provider_call_id": event.call_id,
                    "conversation_id": conversation.id,
                    "customer_number": event.customer_number,
                    "customer_phone_sanitized": e164,
                }
            )
        call._merge_event(event)
        call._screen_pop(event)
        return {
            "conversation_id": call.conversation_id.id,
            "message_id": call.message_id.id,
        }

    @api.model
    def _match_click_to_call(self, channel, event):
        """The click-to-call this provider event belongs to, when the provider
        could not tell its call id in advance (Zadarma's callback API): same
        line, same customer, clicked a moment ago, not matched yet."""
        if not event.customer_number or event.direction == "in":
            return self.browse()
        e164 = self.env["omnichannel.identity"]._sanitize_phone(
            event.customer_number, channel.company_id
        )
        call = self.sudo().search(
            [
                ("channel_id", "=", channel.id),
                ("origin", "=", "click"),
                ("provider_call_id", "=like", CLICK_PREFIX + "%"),
                ("customer_phone_sanitized", "=", e164),
                ("create_date", ">=", fields.Datetime.now() - CLICK_MATCH_WINDOW),
            ],
            order="id desc",
            limit=1,
        )
        if call:
            call.provider_call_id = event.call_id
        return call

    def _merge_event(self, event):
        """Add what ``event`` knows to the call, then bring its state, its
        history entry and the conversation's bookkeeping up to date."""
        self.ensure_one()
        call = self.sudo()
        date = _event_datetime(event.date)
        started = _event_datetime(event.started) if event.started else date
        vals = {}
        for field in ("direction", "customer_number", "customer_name", "our_number"):
            if getattr(event, field) and not call[field]:
                vals[field] = getattr(event, field)[:200]
        if not call.start_date or started < call.start_date:
            vals["start_date"] = started
        status = event.status
        if status == "answered":
            vals["is_answered"] = True
            if not call.answer_date or date < call.answer_date:
                vals["answer_date"] = date
            if event.extension:
                vals["extension"] = event.extension
        elif event.extension and not (call.is_answered and call.extension):
            # The answering extension wins over the ones that only rang.
            vals["extension"] = event.extension
        if status in ("ended", "missed"):
            vals["is_ended"] = True
            if not call.end_date or date > call.end_date:
                vals["end_date"] = date
            if event.answered:
                vals["is_answered"] = True
        if status == "voicemail":
            vals["is_voicemail"] = True
        if event.duration:
            vals["duration"] = event.duration
        if event.hangup_by and not call.hangup_by:
            vals["hangup_by"] = event.hangup_by
        if event.disposition:
            vals["disposition"] = event.disposition[:100]
        vals.update(call._recording_vals(event))
        call.write(vals)
        call._update_outcome()
        call._ensure_entry()
        call._sync_contact()
        if vals.get("recording_state") == "pending":
            self.env.ref(
                "omnichannel_inbox.ir_cron_fetch_call_recordings"
            ).sudo()._trigger(vals["recording_next_try"])
        call.conversation_id._notify_panel()

    def _recording_vals(self, event):
        """The values that schedule the download of the recording ``event``
        announces (after the provider's delay), unless one is under way."""
        if not (event.recording_url or event.recording_ref) or (
            self.recording_state not in ("none", "failed")
        ):
            return {}
        delay = timedelta(
            seconds=type(self.channel_id._get_connector()).recording_delay
        )
        return {
            "recording_url": event.recording_url or False,
            "recording_ref": event.recording_ref or False,
            "recording_state": "pending",
            "recording_attempts": 0,
            "recording_error": False,
            "recording_next_try": fields.Datetime.now() + delay,
        }

    def _update_outcome(self):
        """State, dates, talk time and employee, computed from the facts."""
        for call in self:
            if call.is_ended:
                state = (
                    "ended"
                    if call.is_answered
                    else ("voicemail" if call.is_voicemail else "missed")
                )
            elif call.is_answered:
                state = "answered"
            elif call.is_voicemail:
                state = "voicemail"
            else:
                state = "ringing"
            vals = {"state": state}
            if call.is_answered and call.end_date:
                if call.duration and (
                    not call.answer_date or call.answer_date > call.end_date
                ):
                    vals["answer_date"] = call.end_date - timedelta(
                        seconds=call.duration
                    )
                elif not call.duration and call.answer_date:
                    vals["duration"] = int(
                        (call.end_date - call.answer_date).total_seconds()
                    )
            answer_date = vals.get("answer_date", call.answer_date)
            if answer_date and call.start_date and answer_date < call.start_date:
                vals["start_date"] = answer_date
            call.write({k: v for k, v in vals.items() if call[k] != v})
            user = call._user_for_extension(call.extension)
            if user and user != call.user_id:
                call.user_id = user

    def _user_for_extension(self, extension):
        if not extension:
            return self.env["res.users"]
        users = (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("omnichannel_phone_extension", "=", extension.strip()),
                    ("share", "=", False),
                    ("company_ids", "in", self.company_id.ids),
                ],
                limit=2,
            )
        )
        # Extensions are unique per company; should two users still share one
        # (data from before that rule), nobody gets the call rather than whoever copied
        # it.
        return users if len(users) == 1 else users.browse()

    # ------------------------------------------------------------------
    # The call in the customer's history
    # ------------------------------------------------------------------
    @api.model
    def _format_number(self, number, company=None):
        company = company or self.env.company
        return (
            self.env["res.partner"]._phone_format(
                number=number, country=company.country_id, force_format="INTERNATIONAL"
            )
            or number
            or ""
        )

    def _duration_label(self):
        minutes, seconds = divmod(max(self.duration or 0, 0), 60)
        hours, minutes = divmod(minutes, 60)
        return (
            f"{hours:d}:{minutes:02d}:{seconds:02d}"
            if hours
            else f"{minutes:d}:{seconds:02d}"
        )

    def _title(self):
        number = self._format_number(
            self.customer_phone_sanitized or self.customer_number, self.company_id
        )
        if self.direction == "out":
            return self.env._("Outgoing call to %s", number)
        return self.env._("Incoming call from %s", number)

    def _outcome_label(self):
        """ "Answered by Ivan Petrov (101), 2:35", "Missed, outside business
        hours"..."""
        parts = []
        who = (
            self.user_id.name
            or (self.extension and self.env._("extension %s", self.extension))
            or ""
        )
        if self.state == "ringing":
            parts.append(self.env._("Ringing"))
        elif self.state in ("answered", "ended"):
            if self.direction == "out":
                parts.append(self.env._("Answered"))
            else:
                parts.append(
                    self.env._("Answered by %s", who) if who else self.env._("Answered")
                )
            if self.state == "answered":
                parts.append(self.env._("in progress"))
        elif self.state == "voicemail":
            parts.append(self.env._("Voicemail"))
        else:
            parts.append(
                self.env._("No answer")
                if self.direction == "out"
                else self.env._("Missed")
            )
        if self.outside_business_hours:
            parts.append(self.env._("outside business hours"))
        return ", ".join(parts)

    def _entry_body(self):
        text = f"{self._title()}: {self._outcome_label()}"
        if self.state == "ended" and self.duration:
            text += f" ({self._duration_label()})"
        body = Markup("<p>📞 %s</p>") % text
        if self.transcript:
            body += Markup("<p><i>%s</i></p>") % self.env._(
                "Transcript:"
            ) + plaintext2html(self.transcript)
        return body

    def _ensure_entry(self):
        """Create or refresh the call's entry among the customer's messages."""
        self.ensure_one()
        conversation = self.conversation_id
        if not conversation:
            return
        inbound = self.direction != "out"
        body = self._entry_body()
        entry_vals = {
            "direction": "in" if inbound else "out",
            "author_kind": "customer" if inbound else "employee",
            "author_user_id": False if inbound else self.user_id.id,
            "date": self.start_date or fields.Datetime.now(),
        }
        if self.message_id:
            message = self.message_id
            if message.mail_message_id.body != body:
                message.mail_message_id.sudo().write({"body": body})
            changed = {
                k: v
                for k, v in entry_vals.items()
                if (message[k].id if k == "author_user_id" else message[k]) != v
            }
            if changed:
                message.write(changed)
            return
        author = (
            conversation.partner_id
            if inbound
            else (self.user_id.partner_id or self.env.ref("base.partner_root"))
        )
        mail_message = (
            conversation.sudo()
            .with_context(mail_create_nosubscribe=True, mail_post_autofollow=False)
            .message_post(
                body=body,
                author_id=author.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
        )
        message = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                dict(
                    entry_vals,
                    conversation_id=conversation.id,
                    mail_message_id=mail_message.id,
                    message_type="call",
                    status="received" if inbound else "sent",
                    lead_id=(self.lead_id or conversation.lead_id).id,
                    call_id=self.id,
                )
            )
        )
        self.message_id = message

    # ------------------------------------------------------------------
    # Bookkeeping: waiting customers, call-backs
    # ------------------------------------------------------------------
    def _sync_contact(self):
        """Count the call in its conversation once its outcome is known.

        An incoming call answered by a person is a customer contact answered
        at once; one nobody answered (missed, voicemail, or picked up by the
        PBX's own menu outside business hours) is a customer waiting for an
        answer and gets a call-back activity.  An outgoing call the customer
        answered is our answer to whatever they were waiting for."""
        self.ensure_one()
        conversation, message = self.conversation_id, self.message_id
        if not conversation or not message:
            return
        if self.direction == "out":
            if self.is_answered and self.contact_state != "answered":
                self.contact_state = "answered"
                self._register_employee_contact(self.answer_date or self.start_date)
                self._close_call_backs()
            return
        if self.state == "ringing":
            return
        first = self.contact_state == "none"
        if first:
            self.outside_business_hours = not self.channel_id._phone_in_business_hours(
                self.start_date
            )
        by_person = self.is_answered and (
            bool(self.extension or self.user_id) or not self.outside_business_hours
        )
        if by_person and self.contact_state != "answered":
            if (
                self.user_id
                and conversation.user_id != self.user_id
                and (not conversation.user_id or not conversation.first_response_date)
            ):
                # Whoever actually spoke with the customer takes them, unless
                # someone already handles this customer (answered before).
                lang = conversation._reader_lang(self.user_id)
                conversation._assign(
                    self.user_id,
                    self.with_context(lang=lang).env._("answered the call"),
                )
            if first:
                conversation._register_inbound(message)
                self.write(
                    {
                        "lead_id": (self.lead_id or conversation.lead_id).id,
                        "contact_date": message.date,
                    }
                )
                lead = conversation.lead_id
                if lead and not lead.user_id and conversation.user_id == self.user_id:
                    # The lead was opened for this call after its owner was known.
                    lead.sudo().user_id = self.user_id
            self.contact_state = "answered"
            self._register_employee_contact(self.answer_date or self.start_date)
            if self.callback_activity_id:
                # A late answer event: the call was not missed after all.
                self.callback_activity_id.sudo().unlink()
            self._ensure_entry()
        elif first and not by_person and self.state in TERMINAL_STATES:
            conversation._register_inbound(message)
            self.write(
                {
                    "lead_id": (self.lead_id or conversation.lead_id).id,
                    "contact_date": message.date,
                }
            )
            self.contact_state = "missed"
            self._schedule_call_back()
            self._ensure_entry()

    def _register_employee_contact(self, date):
        """Someone of ours spoke with the customer at ``date``: what they said
        until the end of this call is answered (as a reply in the chat would)."""
        conversation = self.conversation_id.sudo()
        # Events may have come in any order: the call covers its whole span,
        # including the date it was first counted at.
        covered = max(
            d for d in (date, self.end_date, self.answer_date, self.contact_date) if d
        )
        vals = {
            "last_employee_message_date": max(
                date, conversation.last_employee_message_date or date
            ),
            "last_message_date": max(
                covered, conversation.last_message_date or covered
            ),
        }
        if (
            not conversation.last_customer_message_date
            or conversation.last_customer_message_date <= covered
        ):
            vals.update(state="waiting", last_speaker="employee")
        if conversation.waiting_since and conversation.waiting_since <= covered:
            vals.update(waiting_since=False, sla_deadline=False)
        if (
            not conversation.first_response_date
            and conversation.first_customer_message_date
        ):
            vals["first_response_date"] = date
        conversation.write(vals)

    def _schedule_call_back(self):
        """A "Call back" activity for whoever answers this customer: the
        conversation's or lead's salesperson, else the team leader on duty."""
        self.ensure_one()
        conversation = self.conversation_id
        channel = self.channel_id
        target = conversation.lead_id or conversation.partner_id
        team = conversation.team_id or conversation.lead_id.team_id or channel.team_id
        user = conversation.user_id or conversation.lead_id.user_id or team.user_id
        if conversation:
            # Written for ``user``, in their language (not the webhook's).
            self = self.with_context(lang=conversation._reader_lang(user))
        minutes = channel.phone_callback_minutes or 0
        start = self.start_date or fields.Datetime.now()
        base = (
            start
            if not self.outside_business_hours
            else channel._phone_next_business_start(start)
        )
        due = base + timedelta(minutes=minutes)
        tz = pytz.timezone(user.tz or self.company_id.partner_id.tz or "UTC")
        local_due = pytz.utc.localize(due).astimezone(tz)
        local_start = pytz.utc.localize(start).astimezone(tz)
        number = self._format_number(
            self.customer_phone_sanitized or self.customer_number, self.company_id
        )
        what = (
            self.env._("Voicemail left")
            if self.state == "voicemail"
            else self.env._("Missed call")
        )
        values = dict(
            what=what,
            number=number,
            date=local_start.strftime("%Y-%m-%d %H:%M"),
            due=local_due.strftime("%Y-%m-%d %H:%M"),
        )
        if self.outside_business_hours:
            text = self.env._(
                "%(what)s from %(number)s on %(date)s, outside business hours. "
                "Call back before %(due)s.",
                **values,
            )
        else:
            text = self.env._(
                "%(what)s from %(number)s on %(date)s. Call back before %(due)s.",
                **values,
            )
        note = Markup("<p>%s</p>") % text
        activity = target.sudo().activity_schedule(
            "omnichannel_inbox.mail_activity_type_call_back",
            date_deadline=local_due.date(),
            summary=self.env._("Call back %s", number),
            note=note,
            user_id=user.id or False,
        )
        self.callback_activity_id = activity[:1]

    def _close_call_backs(self):
        """An answered outgoing call is the call back the customer waited for."""
        activity_type = self.env.ref("omnichannel_inbox.mail_activity_type_call_back")
        calls = self.search(
            [
                ("conversation_id", "=", self.conversation_id.id),
                ("callback_activity_id", "!=", False),
                ("id", "!=", self.id),
            ]
        )
        activities = calls.callback_activity_id.filtered(
            lambda a: a.activity_type_id == activity_type
        )
        if activities:
            activities.sudo().action_feedback(
                feedback=self.env._("Called back: %s", self._title())
            )

    # ------------------------------------------------------------------
    # Recordings
    # ------------------------------------------------------------------
    @api.model
    def _cron_fetch_recordings(self):
        """Download the recordings that are due (woken with _trigger() when a
        call reports one), then close the calls whose end never came."""
        self.flush_model(["recording_state", "recording_next_try"])
        self.env.cr.execute(
            """
            SELECT id FROM omnichannel_call
             WHERE recording_state = 'pending' AND recording_next_try <= %s
             ORDER BY recording_next_try LIMIT 20 FOR UPDATE SKIP LOCKED
        """,
            [fields.Datetime.now()],
        )
        calls = self.sudo().browse([r[0] for r in self.env.cr.fetchall()])
        for call in calls:
            call._fetch_recording()
            commit_progress(self.env, 1)
        self._close_stale_calls()
        return calls

    def _fetch_recording(self):
        self.ensure_one()
        call = self.sudo()
        reference = connectors.Attachment(
            kind="audio", url=call.recording_url or "", file_id=call.recording_ref or ""
        )
        try:
            data, mimetype, filename = call.channel_id._get_connector().fetch_media(
                reference
            )
        except DownloadRefused as exc:
            # An address the server may not fetch: retrying cannot change that.
            call._recording_failed(exc, final=True)
            return False
        # noqa: BLE001 - any failure keeps the call and is retried
        except Exception as exc:
            call._recording_failed(exc)
            return False
        if not mimetype.startswith("audio/"):
            mimetype = mimetypes.guess_type(filename)[0] or "audio/mpeg"
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": filename or f"call-{call.id}.mp3",
                    "raw": data,
                    "mimetype": mimetype,
                    "res_model": "omnichannel.conversation",
                    "res_id": call.conversation_id.id,
                }
            )
        )
        if call.message_id:
            call.message_id.mail_message_id.sudo().write(
                {"attachment_ids": [(4, attachment.id)]}
            )
        call.write(
            {
                "recording_state": "done",
                "recording_attachment_id": attachment.id,
                "recording_error": False,
                "recording_next_try": False,
                "recording_attempts": call.recording_attempts + 1,
            }
        )
        call.conversation_id._notify_panel()
        return True

    def _recording_failed(self, exc, final=False):
        attempts = self.recording_attempts + 1
        error = (str(exc) or exc.__class__.__name__)[:250]
        _logger.info(
            "Omnichannel: recording of call %s not downloaded (attempt %s): %s",
            self.id,
            attempts,
            error,
        )
        vals = {"recording_attempts": attempts, "recording_error": error}
        next_try = retry.next_try(
            fields.Datetime.now(), attempts, RECORDING_RETRY_DELAYS
        )
        if not final and next_try:
            vals["recording_next_try"] = next_try
            self.write(vals)
            self.env.ref(
                "omnichannel_inbox.ir_cron_fetch_call_recordings"
            ).sudo()._trigger(vals["recording_next_try"])
        else:
            vals.update(recording_state="failed", recording_next_try=False)
            self.write(vals)
            conversation = self.conversation_id
            if conversation:
                # Fetched by a cron: in the language of who reads the conversation.
                conversation = conversation.with_context(
                    lang=conversation._reader_lang(self.user_id or None)
                )
            conversation._message_log(
                body=conversation.env._(
                    "The recording of %(call)s could not be downloaded: %(error)s",
                    call=self._title(),
                    error=error,
                )
            )
        self.conversation_id._notify_panel()

    def action_retry_recording(self):
        for call in self.sudo().filtered(
            lambda c: c.recording_state in ("pending", "failed")
        ):
            call.write({"recording_state": "pending", "recording_attempts": 0})
            call._fetch_recording()
        return True

    @api.model
    def _close_stale_calls(self):
        """A call still ringing or in progress hours later lost its end event:
        close it with what is known, so that a missed one still gets its call back."""
        stale = self.sudo().search(
            [
                ("state", "in", ("ringing", "answered")),
                ("write_date", "<", fields.Datetime.now() - STALE_AFTER),
            ],
            limit=100,
        )
        for call in stale:
            call._merge_event(
                CallEvent(
                    event_id="",
                    call_id=call.provider_call_id,
                    status="ended",
                    date=_epoch(call.write_date),
                    disposition=self.env._("no end event received"),
                )
            )

    # ------------------------------------------------------------------
    # Click-to-call
    # ------------------------------------------------------------------
    @api.model
    def _originating_line(self, conversation=None):
        """The phone line click-to-call goes through: the conversation's own
        when it is one, else the company's first line that can place calls."""
        if conversation and conversation.channel_id._phone_can_originate():
            return conversation.channel_id
        lines = (
            self.env["omnichannel.channel"]
            .sudo()
            .search(
                [
                    ("channel_kind", "=", "phone"),
                    ("company_id", "in", self.env.companies.ids),
                ]
            )
        )
        return lines.filtered(lambda c: c._phone_can_originate())[:1]

    @api.model
    def _may_click_to_call(self, user=None):
        """Only employees working the inbox make the company's phone system
        call someone (customers and portal users never do)."""
        user = user or self.env.user
        return user._is_internal() and user.has_group(
            "omnichannel_inbox.group_omnichannel_user"
        )

    @api.model
    def _click_to_call(self, record):
        """Ring the current user's phone, then the customer of ``record`` (a
        lead, a partner or a conversation).  Returns (ok, message, call).

        Every request is written to the click-to-call log with its result,
        refusals included; the number is read from ``record`` with the user's
        own rights and must be a valid phone number (E.164)."""
        Origination = self.env["omnichannel.call.origination"]
        user = self.env.user
        log = {"record_ref": f"{record._name},{record.id}"}

        def refuse(message, result="refused"):
            Origination._record(result, message, **log)
            return False, message, self.browse()

        if not self._may_click_to_call(user):
            return refuse(
                self.env._(
                    "Only employees working the Omnichannel Inbox can place calls."
                )
            )
        record = record.with_user(user)
        lead = conversation = self.env["omnichannel.conversation"]
        try:
            record.check_access("read")
            if record._name == "crm.lead":
                lead, partner, number = (
                    record,
                    record.partner_id,
                    record.phone or record.partner_id.phone,
                )
            elif record._name == "omnichannel.conversation":
                conversation, lead, partner = record, record.lead_id, record.partner_id
                number = (
                    record.channel_id.supports_calls
                    and record.identity_id.phone_sanitized
                ) or partner.phone
            else:
                partner, number = record, record.phone
        except AccessError:
            return refuse(
                self.env._(
                    "You cannot read %s: you cannot call it either.",
                    record._description,
                )
            )
        if not number:
            return refuse(self.env._("%s has no phone number.", record.display_name))
        log["number"] = number
        extension = (user.omnichannel_phone_extension or "").strip()
        if not extension:
            return refuse(
                self.env._(
                    "You have no phone extension yet: an administrator sets it on your "
                    "user (your "
                    "phone is called before the customer)."
                )
            )
        log["extension"] = extension
        problem = self.env["res.users"]._omnichannel_extension_problem(extension)
        if problem:
            return refuse(
                self.env._("%s An administrator corrects it on your user.", problem)
            )
        channel = self._originating_line(conversation)
        if not channel:
            return refuse(
                self.env._(
                    "No phone line can place calls: an administrator connects "
                    "Asterisk, "
                    "Zadarma or a PBX webhook with a click-to-call address."
                )
            )
        company = channel.company_id
        log.update(channel_id=channel.id, company_id=company.id)
        e164 = self.env["omnichannel.identity"]._sanitize_phone(number, company)
        if not e164:
            return refuse(
                self.env._(
                    "%s is not a valid phone number: correct it on the customer first.",
                    number,
                )
            )
        log["number"] = e164
        problem = Origination._limit_problem(user)
        if problem:
            return refuse(problem)
        try:
            result = channel._get_connector().originate(extension, e164)
        except connectors.ConnectorError as exc:
            reason = getattr(exc, "message", None) or str(exc)
            _logger.info(
                "Omnichannel: click-to-call by user %s refused by line %s: %s",
                user.id,
                channel.id,
                reason,
            )
            return refuse(
                self.env._(
                    "The call could not be placed through %(line)s: %(reason)s",
                    line=channel.name,
                    reason=reason,
                ),
                result="failed",
            )
        call = self._register_originated(
            channel,
            number,
            e164,
            user,
            extension,
            result,
            lead=lead,
            partner=partner,
            conversation=conversation,
        )
        Origination._record("placed", result.message or "", call_id=call.id, **log)
        return (
            True,
            self.env._(
                "Your phone (%(extension)s) rings first; pick it up and %(number)s is "
                "called.",
                extension=extension,
                number=self._format_number(e164, company),
            ),
            call,
        )

    @api.model
    def _register_originated(
        self,
        channel,
        number,
        e164,
        user,
        extension,
        result,
        lead=None,
        partner=None,
        conversation=None,
    ):
        """The outgoing call the phone system accepted to place (``result`` of
        ``originate``): the customer's identity and conversation on ``channel``,
        and the call ringing ``extension`` first.  Shared by click-to-call and
        website call-back orders."""
        lead = (lead or self.env["crm.lead"]).sudo()
        partner = (partner or self.env["res.partner"]).sudo()
        conversation = (conversation or self.env["omnichannel.conversation"]).sudo()
        if not partner and lead:
            lead._handle_partner_assignment(create_missing=True)
            partner = lead.partner_id
        identity = (
            self.env["omnichannel.identity"]
            .sudo()
            .search(
                [("channel_id", "=", channel.id), ("provider_user_id", "=", e164)],
                limit=1,
            )
        )
        if not identity:
            identity = identity.create(
                {
                    "channel_id": channel.id,
                    "provider_user_id": e164,
                    "chat_id": e164,
                    "name": partner.name or e164,
                    "phone": number,
                    "phone_sanitized": e164,
                    "partner_id": partner.id,
                    "last_seen_date": fields.Datetime.now(),
                }
            )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            channel, identity
        )
        if lead and not conversation.lead_id:
            conversation.lead_id = lead
        call = self.sudo().create(
            {
                "channel_id": channel.id,
                "provider_call_id": result.call_id
                or f"{CLICK_PREFIX}{uuid.uuid4().hex}",
                "origin": "click",
                "conversation_id": conversation.id,
                "lead_id": (lead or conversation.lead_id).id,
                "customer_number": number,
                "customer_phone_sanitized": e164,
                "user_id": user.id,
            }
        )
        call._merge_event(
            CallEvent(
                event_id="",
                call_id=call.provider_call_id,
                status="ringing",
                direction="out",
                extension=extension,
                date=_epoch(fields.Datetime.now()),
            )
        )
        return call

    @api.model
    def _click_to_call_action(self, record):
        ok, message, _call = self._click_to_call(record)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success" if ok else "danger",
                "sticky": not ok,
            },
        }

    @api.model
    def panel_call(self, res_model, res_id):
        """The chat panel's phone button."""
        if res_model not in ("crm.lead", "res.partner", "omnichannel.conversation"):
            raise UserError(self.env._("Calls cannot be placed from %s.", res_model))
        record = self.env[res_model].browse(int(res_id)).exists()
        if not record:
            raise UserError(self.env._("This record does not exist any more."))
        ok, message, _call = self._click_to_call(record)
        return {"ok": ok, "message": message}

    @api.model
    def _can_click_to_call(self):
        return self._may_click_to_call() and bool(self._originating_line())

    # ------------------------------------------------------------------
    # Chat panel
    # ------------------------------------------------------------------
    def _panel_values(self):
        self.ensure_one()
        call = self.sudo()
        recording_url = ""
        if call.recording_attachment_id:
            attachment = call.recording_attachment_id
            token = attachment.access_token or attachment.generate_access_token()[0]
            recording_url = f"/web/content/{attachment.id}?access_token={token}"
        return {
            "id": call.id,
            "state": call.state,
            "title": call._title(),
            "outcome": call._outcome_label(),
            "direction": call.direction or "in",
            "number": self._format_number(
                call.customer_phone_sanitized or call.customer_number, call.company_id
            ),
            "employee": call.user_id.name or "",
            "extension": call.extension or "",
            "duration": call.duration,
            "duration_label": call._duration_label() if call.duration else "",
            "outside_business_hours": call.outside_business_hours,
            "hangup_by": dict(
                self._fields["hangup_by"]._description_selection(self.env)
            ).get(call.hangup_by, ""),
            "recording_url": recording_url,
            "recording_state": call.recording_state,
        }

    def _screen_pop(self, event):
        """Hook after ``event`` was merged into the call: the screen pop of
        omnichannel_call_popup.py opens and closes the users' popups."""

    # ------------------------------------------------------------------
    # Transcripts: the phone system's speech recognition of a recording
    # ------------------------------------------------------------------
    transcript = fields.Text(
        readonly=True,
        help="The phone system's speech recognition of the call's recording.",
    )

    transcript_language = fields.Char(readonly=True)

    @api.model
    def _apply_transcript(self, channel, event, final_attempt=False):
        """Store the transcript of ``event`` (a CallTranscript) on its call
        and show it in the call's history entry."""
        call = self.sudo().search(
            [("channel_id", "=", channel.id), ("provider_call_id", "=", event.call_id)],
            limit=1,
        )
        if not call:
            if self._replayed_call(channel, event.call_id):
                return {
                    "state": "ignored",
                    "note": self.env._(
                        "the notifications of this call were outside the replay "
                        "window: not applied"
                    ),
                }
            if final_attempt:
                return {
                    "state": "ignored",
                    "note": self.env._("transcript of an unknown call"),
                }
            # Recognition follows the recording, itself after the call's events.
            raise UserError(
                self.env._(
                    "Call %s is not known yet: its transcript waits for it.",
                    event.call_id,
                )
            )
        call.write(
            {
                "transcript": event.transcript or False,
                "transcript_language": event.language or False,
            }
        )
        call._ensure_entry()
        call.conversation_id._notify_panel()
        return {
            "conversation_id": call.conversation_id.id,
            "message_id": call.message_id.id,
            "note": False
            if event.transcript
            else self.env._("the recognition found no speech"),
        }
