import json
import logging

import phonenumbers
import pytz
from markupsafe import Markup
from phonenumbers import timezone as phone_timezone

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, html2plaintext, plaintext2html

from odoo.addons.omnichannel_inbox import connectors

from .cron_progress import commit_progress

_logger = logging.getLogger(__name__)

#: Settings of the follow-ups (Settings > CRM): ir.config_parameter keys
#: are FOLLOWUP_PARAM + switch; switch -> default.
FOLLOWUP_PARAM = "omnichannel_inbox.followup_"
FOLLOWUP_DEFAULTS = {
    "customer_dates": True,
    "own_promises": True,
    "questions": True,
    "question_hours": 2,
    "silence": True,
    "silence_days": 3,
    "checkins": True,
    "checkin_days": 14,
}

#: What an erased journal row's payload says (privacy: forget, retention).
ERASED_PAYLOAD = json.dumps({"erased": True})

#: Files bigger than this are not downloaded from providers (the message
#: says so instead); Telegram's Bot API caps downloads at 20 MB anyway.
MAX_MEDIA_BYTES = 25 * 1024 * 1024


def _safe_file(filename, data, mimetype):
    """(name, bytes, info) of a file a customer sent, for message_post.

    The sender chooses the name: it loses its control and bidi-override
    characters.  The type is not the sender's to decide either: message_post
    derives it from the name or the bytes, and the context
    ``attachments_mime_plainxml`` (see _receive_message) stores anything
    HTML, SVG or XML as text/plain, so /web/content never serves it as a
    page or an image with scripts in it - not even when a background worker
    (an administrator in Odoo's eyes) stores it."""
    return (
        connectors.clean_name(filename or "")[:255] or "file",
        data,
        {"mimetype": mimetype},
    )


class OmnichannelConversation(models.Model):
    """One customer on one channel account: the thread their messages and
    our replies are posted on.  A new inbound message reopens it."""

    _name = "omnichannel.conversation"
    _description = "Conversation"
    _inherit = ["mail.thread"]
    _order = "last_message_date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Channel account",
        required=True,
        ondelete="restrict",
        index=True,
        readonly=True,
    )
    # Not tracked (a related field takes its target's tracking): a
    # conversation never changes channel.
    channel_type = fields.Selection(
        related="channel_id.channel_type", store=True, index=True, tracking=False
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True
    )
    identity_id = fields.Many2one(
        "omnichannel.identity",
        required=True,
        ondelete="restrict",
        index=True,
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True
    )
    lead_id = fields.Many2one(
        "crm.lead", string="Lead", index="btree_not_null", tracking=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales team", index=True, tracking=True
    )
    state = fields.Selection(
        [
            ("open", "Waiting for us"),
            ("waiting", "Waiting for the customer"),
            ("closed", "Closed"),
        ],
        default="open",
        required=True,
        index=True,
        tracking=True,
        help="Waiting for us: the customer spoke last and expects an answer.",
    )
    last_speaker = fields.Selection(
        [
            ("customer", "Customer"),
            ("employee", "Employee"),
            ("auto", "Automatic reply"),
        ],
        string="Spoke last",
        readonly=True,
    )
    first_customer_message_date = fields.Datetime(readonly=True)
    last_customer_message_date = fields.Datetime(
        "Last customer message", readonly=True, index=True
    )
    last_employee_message_date = fields.Datetime("Last employee message", readonly=True)
    last_message_date = fields.Datetime(readonly=True, index=True)
    waiting_since = fields.Datetime(
        readonly=True,
        index="btree_not_null",
        help="Date of the oldest customer message no person has answered yet "
        "(automatic replies do not count).",
    )
    first_response_date = fields.Datetime(
        readonly=True,
        help="When a person first answered the customer in this conversation.",
    )
    sla_deadline = fields.Datetime(
        "Answer before",
        readonly=True,
        index="btree_not_null",
        help="When the current wait breaches the response-time target.",
    )
    omnichannel_message_ids = fields.One2many(
        "omnichannel.message", "conversation_id", string="Channel messages"
    )
    message_count_total = fields.Integer(
        "Number of channel messages", compute="_compute_message_count_total"
    )
    unreachable = fields.Boolean(related="identity_id.unreachable")

    _channel_identity_unique = models.Constraint(
        "UNIQUE(channel_id, identity_id)",
        "One conversation per customer and channel account.",
    )

    @api.depends("partner_id.name", "channel_id.name")
    def _compute_name(self):
        for conversation in self:
            conversation.name = "{} / {}".format(
                conversation.partner_id.name or "?",
                conversation.channel_id.name or "?",
            )

    def _compute_message_count_total(self):
        counts = dict(
            self.env["omnichannel.message"]._read_group(
                [("conversation_id", "in", self.ids)], ["conversation_id"], ["__count"]
            )
        )
        for conversation in self:
            conversation.message_count_total = counts.get(conversation, 0)

    def write(self, vals):
        # Whose conversation this is decides whose history it joins (the
        # chat panel shows a customer's conversations together): moving it
        # to another customer is a manager's decision, never a salesperson's
        # edit of their own conversation.  The inbox's own flows run as sudo.
        if (
            "partner_id" in vals
            and not self.env.su
            and not self.env.user.has_group(
                "omnichannel_inbox.group_omnichannel_manager"
            )
            and any(c.partner_id.id != vals["partner_id"] for c in self)
        ):
            raise AccessError(
                self.env._(
                    "Only Omnichannel managers may move a conversation to another "
                    "customer."
                )
            )
        return super().write(vals)

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    @api.model
    def _get_for_identity(self, channel, identity):
        # Found and read in one query (what follows reads it).
        conversation = self.sudo().search_fetch(
            [("channel_id", "=", channel.id), ("identity_id", "=", identity.id)],
            limit=1,
        )
        if not conversation:
            conversation = (
                self.sudo()
                .with_context(mail_create_nosubscribe=True)
                .create(
                    {
                        "channel_id": channel.id,
                        "identity_id": identity.id,
                        "partner_id": identity.partner_id.id,
                        "team_id": channel.team_id.id,
                    }
                )
            )
        elif conversation.partner_id != identity.partner_id:
            conversation.partner_id = identity.partner_id
        return conversation

    def _receive_message(self, event, final_attempt=False):
        """Store one inbound message (or apply an edit) and run what follows
        a customer's message: lead, routing, notification."""
        self.ensure_one()
        Message = self.env["omnichannel.message"].sudo()
        existing = (
            Message._find_by_provider_id(self.channel_id, event.message_id)
            if event.message_id
            else Message
        )
        if existing:
            if event.is_edit and (event.text or event.location or event.shared_contact):
                # An edit without text (a caption removed, Instagram's edits
                # of media) never blanks what the customer had written.
                existing._apply_edit(self._inbound_body(event))
            return existing
        from .omnichannel_inbound_event import _event_datetime

        date = _event_datetime(event.date)
        attachments, notes, remote_files = self._download_attachments(event)
        body = self._inbound_body(event, notes)
        mail_message = self._post_customer_message(body, attachments)
        message = Message.create(
            {
                "conversation_id": self.id,
                # The lead it joins, when the conversation has one already
                # (else _register_inbound sets it once the lead is made).
                "lead_id": self.lead_id.id,
                "mail_message_id": mail_message.id,
                "direction": "in",
                "author_kind": "customer",
                "message_type": event.message_type or "text",
                "provider_message_id": event.message_id or False,
                "status": "received",
                "date": date,
                "is_edited": bool(event.is_edit),
            }
        )
        if event.shared_contact and (
            event.shared_contact.phone or event.shared_contact.email
        ):
            message.write(
                {
                    "card_name": event.shared_contact.name or False,
                    "card_phone": event.shared_contact.phone or False,
                    "card_email": event.shared_contact.email or False,
                }
            )
        self.env["omnichannel.attachment.download"]._queue(message, remote_files)
        self._register_inbound(message)
        if event.command == "start":
            self._send_greeting()
        self._after_receive(message)
        return message

    def _post_customer_message(self, body, attachments):
        """The customer's message in the chatter: a comment authored by the
        customer, with their files.  Mail's notification pass is skipped
        when nobody is to be notified of it (see :meth:`_notify_thread`)."""
        self.ensure_one()
        return self.with_context(
            # Its reader's language (mail's otherwise reads the processing
            # user's whole row for it).
            lang=self._reader_lang(),
            mail_create_nosubscribe=True,
            mail_post_autofollow=False,
            # The author is the customer: never subscribed (not internal).
            mail_post_autofollow_author_skip=True,
            attachments_mime_plainxml=True,
            omnichannel_customer_post=True,
        ).message_post(
            body=body,
            author_id=self.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachments=attachments,
        )

    def _notify_thread(self, message, msg_vals=False, **kwargs):
        if (
            self.env.context.get("omnichannel_customer_post")
            and len(self) == 1
            and not self._customer_post_notifies()
        ):
            # The customer's own message with nobody to tell: mail's pass
            # (followers, out of office) would find nobody after a few
            # queries per message.
            return []
        return super()._notify_thread(message, msg_vals=msg_vals, **kwargs)

    def _customer_post_notifies(self):
        """Whether posting a customer's message may notify someone (mail's
        followers notification, an out-of-office answer): then mail's
        notification pass runs.  Hook: true here."""
        return True

    def _after_receive(self, message):
        """Hook run once a provider's new message is stored, registered and,
        for a bot start command, greeted: what the bot says next (the
        first-contact questionnaire) goes after the greeting.  Not run for a
        duplicate or an edit."""

    def _register_inbound(self, message):
        """Bookkeeping of a customer's message, then the lead, the owner and
        the notification.  The one place a new inbound message flows through,
        whatever its channel (issues extending routing, SLA and auto-replies
        hook into :meth:`_after_inbound`).  What it writes in the background
        is in the language of who reads it, not the webhook's."""
        self = self.with_context(lang=self._reader_lang())
        vals = {
            "state": "open",
            "last_speaker": "customer",
            "last_customer_message_date": max(
                message.date, self.last_customer_message_date or message.date
            ),
            "last_message_date": max(
                message.date, self.last_message_date or message.date
            ),
        }
        if not self.first_customer_message_date:
            vals["first_customer_message_date"] = message.date
        if not self.waiting_since or message.date < self.waiting_since:
            vals["waiting_since"] = message.date
        self.write(vals)
        self._ensure_lead()
        if message.lead_id != self.lead_id:
            message.lead_id = self.lead_id
        self._after_inbound(message)
        self._notify_panel()

    def _after_inbound(self, message):
        self._route_to_salesperson(message)

    def _route_to_salesperson(
        self, message=None, exclude_users=None, reason_prefix=None
    ):
        """The single entry point deciding who answers (see
        ``omnichannel.routing.rule``).  A conversation someone handles is
        not offered to anyone else, unless that person is excluded (SLA
        reassignment, handover)."""
        self.ensure_one()
        exclude = exclude_users or self.env["res.users"]
        if self.user_id and self.user_id not in exclude:
            return self.user_id
        self._lock_for_assignment()
        if self.user_id and self.user_id not in exclude:
            return self.user_id
        user, team, why = self.env["omnichannel.routing.rule"]._decide(
            self, message, exclude
        )
        if reason_prefix:
            why = f"{reason_prefix}; {why}"
        if team and team != self.team_id:
            self.sudo().write({"team_id": team.id})
            if self.lead_id and self.lead_id.team_id != team:
                self.lead_id.sudo().write({"team_id": team.id})
        if user:
            self._assign(user, why)
        elif not self.user_id and message and message.date == self.waiting_since:
            # Said once per wait, when the wait begins: not on every message
            # of a queued customer, nor at each SLA step (without a message,
            # the conversation was unassigned already: nothing changed).
            self._message_log(
                body=self.env._(
                    "No available salesperson: waiting in the queue of %(team)s "
                    "(%(why)s).",
                    team=self.team_id.name or self.env._("no team"),
                    why=why,
                )
            )
        return self.user_id

    def _reader_lang(self, user=None):
        """The language of who reads what the system writes on this
        conversation in the background (notes, activities, notifications):
        ``user``'s, else the owner's, else the team leader's, else the
        company's; never the language of the request that triggered it (a
        webhook runs as the public user)."""
        self.ensure_one()
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        company = self.channel_id.company_id or self.env.company

        def lang_of(user):
            # Only the language: a user's and a contact's rows are wide, and
            # read whole they cost more than the query (on every message).
            user = user.sudo()
            user.fetch(["partner_id"])
            user.partner_id.fetch(["lang"])
            return user.lang

        # Read one after the other: the owner's language is usually enough
        # (no read of the team and the company on every message).
        for read in (
            lambda: lang_of(user) if user else False,
            lambda: lang_of(self.user_id),
            lambda: lang_of(self.team_id.user_id),
            lambda: company.partner_id.lang,
        ):
            lang = read()
            if lang in installed:
                return lang
        return "en_US" if "en_US" in installed else next(iter(installed), "en_US")

    def _assign(self, user, reason):
        """Give the conversation (and its lead) to ``user``, saying why."""
        self.ensure_one()
        previous = self.user_id
        # The note below says who and why: no tracking line repeating it; and
        # when the lead is assigned too, CRM's "you have been assigned" email
        # of the lead is the one the salesperson gets, not a second one for
        # the conversation.
        self.with_context(
            mail_notrack=True, mail_auto_subscribe_no_notify=bool(self.lead_id)
        ).write({"user_id": user.id})
        if self.lead_id and self.lead_id.user_id != user:
            self.lead_id.sudo().write({"user_id": user.id})
        if user.active and not user.share:
            # What message_subscribe checks with two queries is known here:
            # an active internal user (the write above checked the access),
            # whose contact is neither archived nor a customer.
            self._message_subscribe(partner_ids=user.partner_id.ids, customer_ids=[])
        else:
            self.message_subscribe(partner_ids=user.partner_id.ids)
        if previous and previous != user:
            self.message_unsubscribe(partner_ids=previous.partner_id.ids)
        self = self.with_context(lang=self._reader_lang())
        self._message_log(
            body=self.env._(
                "Assigned to %(user)s: %(reason)s", user=user.name, reason=reason
            )
        )

    def _inbound_body(self, event, notes=()):
        parts = []
        if event.text:
            parts.append(plaintext2html(event.text))
        if event.location:
            loc = event.location
            url = f"https://www.openstreetmap.org/?mlat={loc.latitude}&mlon={loc.longitude}#map=16/{loc.latitude}/{loc.longitude}"
            parts.append(
                Markup('<p>📍 <a href="%s" target="_blank" rel="noopener">%s</a></p>')
                % (
                    url,
                    loc.title or f"{loc.latitude:.5f}, {loc.longitude:.5f}",
                )
            )
        if event.shared_contact:
            c = event.shared_contact
            parts.append(
                Markup("<p>👤 %s</p>")
                % " ".join(
                    p
                    for p in (self.env._("Shared contact:"), c.name, c.phone, c.email)
                    if p
                )
            )
        # Connector notes are fixed English lines (marked for the extractor
        # there): shown in the reader's language.
        event_notes = [
            self.env._(line) for line in (event.note or "").split("\n") if line
        ]
        for note in list(notes) + event_notes:
            parts.append(Markup("<p><i>%s</i></p>") % note)
        return Markup("").join(parts) or Markup("<p><i>%s</i></p>") % self.env._(
            "(empty message)"
        )

    def _download_attachments(self, event):
        """Split the files of ``event``: those whose bytes came with the event
        are stored with the message at once; those the provider keeps are
        returned as references, queued for the download cron
        (``omnichannel.attachment.download``) - the text never waits for them."""
        files, notes, remote = [], [], []
        if not event.attachments:
            return files, notes, remote
        connector = self.channel_id._get_connector()
        for attachment in event.attachments:
            if attachment.size and attachment.size > MAX_MEDIA_BYTES:
                notes.append(
                    self.env._(
                        "File %(name)s (%(size)s MB) is too big to be downloaded.",
                        name=attachment.filename,
                        size=round(attachment.size / 1048576, 1),
                    )
                )
                continue
            if not attachment.data:
                remote.append(attachment)
                continue
            try:
                data, mimetype, filename = connector.fetch_media(attachment)
            except connectors.ConnectorError as exc:
                notes.append(
                    self.env._(
                        "File %(name)s could not be downloaded: %(error)s",
                        name=attachment.filename,
                        error=exc,
                    )
                )
                continue
            files.append(_safe_file(filename, data, mimetype))
        return files, notes, remote

    def _ensure_lead(self):
        """Link the conversation to the customer's open lead, or open one.
        A won or lost lead is never reused: the customer writing again after
        it is a new deal."""
        self.ensure_one()
        Lead = self.env["crm.lead"].sudo()
        lead = self.lead_id
        if self._lead_is_open():
            return lead
        if self.partner_id:
            # Two channels of the same customer at the same moment (a won
            # customer writing again): one finds the lead the other opened.
            self.env["omnichannel.identity"]._lock(
                "omnichannel-lead", self.partner_id.id
            )
        lead = Lead.search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("active", "=", True),
                ("won_status", "=", "pending"),
            ],
            order="create_date desc, id desc",
            limit=1,
        )
        if not lead and self.channel_id.create_leads:
            lead = Lead._omnichannel_create_for(self)
        if lead != self.lead_id:
            self.lead_id = lead
        return lead

    def _lead_is_open(self):
        """Whether the conversation has a lead still in play (active, neither
        won nor lost).  Read narrowly, with what a message reads of it next
        (the priority the response-time policy depends on, the check-in date
        of the follow-ups): a lead's row is wide, and every message asks."""
        self.ensure_one()
        lead = self.lead_id.sudo()
        lead.fetch(["active", "won_status", "priority", "omnichannel_checkin_date"])
        return bool(lead) and lead.active and lead.won_status == "pending"

    def _send_greeting(self):
        text = self.channel_id.greeting_text
        if text:
            self._post_reply(text, author_kind="auto")

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _post_reply(
        self,
        text,
        attachments=None,
        author_kind="employee",
        user=None,
        template=None,
        send_now=True,
    ):
        """Post our reply on the conversation and send it through its channel.

        ``attachments``: ir.attachment records to send with it.
        ``template``: the provider's message template (WhatsApp) sent instead
        of free text; ``text`` is then its filled-in wording, for the history.
        ``send_now=False`` (bulk senders: surveys, campaigns) only queues the
        message: the send cron spreads it within the channel's sending budget.
        Returns the omnichannel.message (sent, queued for retry, or failed
        with the provider's reason)."""
        self.ensure_one()
        attachments = attachments or self.env["ir.attachment"]
        if not (text or "").strip() and not attachments:
            raise UserError(self.env._("Write a message or attach a file."))
        self.channel_id._check_reply_allowed(self, template=template)
        user = user or self.env.user
        author = (
            user.partner_id
            if author_kind == "employee"
            else self.env.ref("base.partner_root")
        )
        conversation = self.sudo()
        if attachments:
            attachments.sudo().write({"res_model": self._name, "res_id": self.id})
        mail_message = conversation.with_context(
            mail_create_nosubscribe=True, mail_post_autofollow=False
        ).message_post(
            body=plaintext2html(text or ""),
            author_id=author.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            attachment_ids=attachments.ids,
        )
        now = fields.Datetime.now()
        message = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                {
                    "conversation_id": self.id,
                    "mail_message_id": mail_message.id,
                    "direction": "out",
                    "author_kind": author_kind,
                    "author_user_id": user.id if author_kind == "employee" else False,
                    "message_type": "document" if attachments else "text",
                    "status": "queued",
                    "date": now,
                    "lead_id": self.lead_id.id,
                    "provider_template": template or False,
                }
            )
        )
        conversation._register_outbound(message)
        if send_now:
            message._send()
        else:
            message._send_throttled(0)
        self._after_outbound(message)
        self._notify_panel()
        return message

    def _register_outbound(self, message):
        """Bookkeeping of our message to the customer, whichever way it left
        (the chat panel, an email from the lead's chatter, an operator in the
        live chat): who spoke last and, for a person's reply, the end of the
        customer's wait."""
        self.ensure_one()
        author_kind, date = message.author_kind, message.date
        vals = {"last_speaker": author_kind, "last_message_date": date}
        if author_kind == "employee":
            # A person answered: the customer is no longer waiting for us.
            vals.update(
                state="waiting",
                last_employee_message_date=date,
                waiting_since=False,
                sla_deadline=False,
            )
            if not self.first_response_date:
                vals["first_response_date"] = date
        self.sudo().write(vals)

    def _after_outbound(self, message):
        """Hook run after each reply left (or failed to): response figures,
        SLA, follow-ups plug in here."""

    # ------------------------------------------------------------------
    # Live updates
    # ------------------------------------------------------------------
    def _notify_panel(self):
        """Tell open chat panels and inboxes that these conversations changed.
        Only ids travel on the bus; the client reads the content back through
        its own access rights."""
        if not self:
            return
        # One notification per transaction, whatever happened to these
        # conversations in it (a message, its lead, its assignment, its SLA
        # each used to send their own): the ids are gathered here and sent
        # once when the transaction is about to commit (after each message of
        # the journal, as each runs in a savepoint that flushes).
        cr = self.env.cr
        pending = cr.precommit.data.get("omnichannel.panel.updates")
        if pending is None:
            pending = cr.precommit.data["omnichannel.panel.updates"] = {
                "conversation_ids": set(),
                "partner_ids": set(),
                "lead_ids": set(),
            }
            cr.precommit.add(self._send_panel_updates)
        pending["conversation_ids"].update(self.ids)
        pending["partner_ids"].update(self.partner_id.ids)
        pending["lead_ids"].update(self.lead_id.ids)

    def _send_panel_updates(self):
        """Send what :meth:`_notify_panel` gathered in this transaction as
        one bus notification (a pre-commit hook)."""
        pending = self.env.cr.precommit.data.pop("omnichannel.panel.updates", None)
        if not pending or not pending["conversation_ids"]:
            return
        # The cached xml id lookup: env.ref would check with a query, for
        # every message, that the group still exists.
        group = self.env["res.groups"].browse(
            self.env["ir.model.data"]._xmlid_to_res_id(
                "omnichannel_inbox.group_omnichannel_user"
            )
        )
        self.env["bus.bus"].sudo()._sendone(
            group,
            "omnichannel/update",
            {key: sorted(ids) for key, ids in pending.items()},
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_close(self):
        self.write({"state": "closed"})

    def action_reopen(self):
        for conversation in self:
            conversation.state = (
                "open" if conversation.last_speaker == "customer" else "waiting"
            )

    def action_assign_to_me(self):
        for conversation in self:
            conversation.sudo()._lock_for_assignment()
            if conversation.user_id and conversation.user_id != self.env.user:
                raise UserError(
                    self.env._(
                        "%s already handles this conversation.",
                        conversation.user_id.name,
                    )
                )
            conversation.sudo()._assign(
                self.env.user, self.env._("taken by %s", self.env.user.name)
            )

    def action_open_lead(self):
        self.ensure_one()
        if not self.lead_id:
            raise UserError(self.env._("This conversation has no lead."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": self.lead_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    @api.model
    def _count_per(self, field_name, records):
        """How many conversations each of ``records`` has, by
        ``field_name``: the count of the smart button that a lead and a
        contact both show.  Counted as superuser, so it is every
        conversation of the record, whatever the reader's rules let them
        open."""
        return dict(
            self.sudo()._read_group(
                [(field_name, "in", records.ids)], [field_name], ["__count"]
            )
        )

    @api.model
    def _action_of(self, field_name, record):
        """The conversation list of ``record`` (a lead or a contact) that
        its smart button opens: only its conversations, none created from
        there."""
        record.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_conversation_action"
        )
        action["domain"] = [(field_name, "=", record.id)]
        action["context"] = {"create": False}
        return action

    def _is_first_customer_message(self, message):
        return (
            not self.env["omnichannel.message"]
            .sudo()
            .search_count(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("id", "!=", message.id),
                ],
                limit=1,
            )
        )

    def _phone_timezone(self):
        """The timezone of the customer's phone number, when it has only one."""
        self.ensure_one()
        phone = self.identity_id.phone_sanitized or self.partner_id.phone_sanitized
        if not phone:
            return False
        try:
            zones = phone_timezone.time_zones_for_number(phonenumbers.parse(phone))
        except phonenumbers.NumberParseException:
            return False
        return (
            zones[0]
            if len(zones) == 1 and zones[0] in pytz.all_timezones_set
            else False
        )

    def _phone_country(self):
        self.ensure_one()
        phone = self.identity_id.phone_sanitized or self.partner_id.phone_sanitized
        if not phone:
            return self.env["res.country"]
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
        except phonenumbers.NumberParseException:
            return self.env["res.country"]
        return (
            self.env["res.country"].search([("code", "=", region)], limit=1)
            if region
            else self.env["res.country"]
        )

    def _lock_for_assignment(self):
        """Lock the conversation row until the transaction ends and re-read
        its owner: two workers routing, or two people taking it, at the same
        moment cannot both get it."""
        self.ensure_one()
        self.flush_recordset(["user_id"])
        self.env.cr.execute(
            "SELECT id FROM omnichannel_conversation WHERE id = %s FOR UPDATE",
            [self.id],
        )
        self.invalidate_recordset(["user_id"])

    def _assign_to_queue(self, why):
        self.ensure_one()
        previous = self.user_id
        self.sudo().write({"user_id": False})
        if previous:
            self.message_unsubscribe(partner_ids=previous.partner_id.ids)
        self._message_log(
            body=self.env._(
                "Back in the queue of %(team)s: %(why)s.",
                team=self.team_id.name or self.env._("no team"),
                why=why,
            )
        )

    def _customer_owner(self):
        """The customer's current salesperson: this conversation's, their
        lead's, their contact's, or the one of their latest other conversation."""
        self.ensure_one()
        owner = self.user_id or self.lead_id.user_id or self.partner_id.user_id
        if not owner:
            owner = (
                self.sudo()
                .search(
                    [
                        ("partner_id", "=", self.partner_id.id),
                        ("id", "!=", self.id),
                        ("user_id", "!=", False),
                    ],
                    order="last_message_date desc, id desc",
                    limit=1,
                )
                .user_id
            )
        return owner

    def _is_existing_customer(self):
        """Known before this conversation: another lead (open, won or lost)
        or another conversation."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        leads = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            .search_count(
                [("partner_id", "child_of", partner.id), ("id", "!=", self.lead_id.id)],
                limit=1,
            )
        )
        return bool(leads) or bool(
            self.sudo().search_count(
                [("partner_id", "=", self.partner_id.id), ("id", "!=", self.id)],
                limit=1,
            )
        )

    def _routing_text(self, message=None):
        """What the customer wrote while waiting for an answer (for a new
        conversation: their first message)."""
        self.ensure_one()
        domain = [("conversation_id", "=", self.id), ("direction", "=", "in")]
        if self.waiting_since:
            domain.append(("date", ">=", self.waiting_since))
        messages = (
            self.env["omnichannel.message"]
            .sudo()
            .search(domain, order="date, id", limit=10)
        )
        if message:
            messages |= message
        return "\n".join(html2plaintext(m.body or "") for m in messages)

    @api.model
    def _open_load(self, users):
        """{user id: conversations waiting for them}."""
        if not users:
            return {}
        return {
            user.id: count
            for user, count in self.sudo()._read_group(
                [("user_id", "in", users.ids), ("state", "=", "open")],
                ["user_id"],
                ["__count"],
            )
        }

    @api.model
    def _run_due(self, date_field, method, batch=200):
        """Call ``method`` on each conversation whose ``date_field`` (an
        indexed column) is due, oldest first, at most ``batch`` of them:
        the work grows with what is due, not with the open conversations.
        SKIP LOCKED: two workers never take the same row.  Each one's outcome
        is committed as the cron's progress; the caller reports what remains
        (:meth:`_due_count`), and the scheduler runs the cron again if any."""
        self.flush_model([date_field])
        column = SQL.identifier(date_field)
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_conversation WHERE %s <= %s ORDER BY %s, "
                "id LIMIT %s FOR UPDATE SKIP LOCKED",
                column,
                fields.Datetime.now(),
                column,
                batch,
            )
        )
        conversations = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for conversation in conversations:
            getattr(conversation, method)()
            commit_progress(self.env, 1)
        return conversations

    @api.model
    def _due_count(self, date_field):
        """How many conversations have ``date_field`` due (cron progress)."""
        return self.sudo().search_count([(date_field, "<=", fields.Datetime.now())])

    @api.model
    def _followup_setting(self, key):
        value = self.env["ir.config_parameter"].sudo().get_param(FOLLOWUP_PARAM + key)
        default = FOLLOWUP_DEFAULTS[key]
        if isinstance(default, bool):
            return bool(value) and value not in ("False", "0")
        try:
            return max(1, int(value)) if value else default
        except ValueError:
            return default

    def _privacy_erase_content(self):
        """Erase message texts, files, call numbers and recordings, and the
        journal's copies of what was received; keep every record that the
        reports count (messages, calls, their dates and figures)."""
        conversations = self.sudo()
        if not conversations:
            return
        messages = (
            self.env["omnichannel.message"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        # The texts live in mail messages: on the conversation for chats, on
        # the lead or the contact for emails, on the live chat session.
        mail_messages = (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", self._name), ("res_id", "in", conversations.ids)])
            | messages.mail_message_id
        )
        # A reply by email is also sent as an email on the lead, known by
        # the provider message id it was sent with.
        sent_emails = messages.filtered(
            lambda m: m.channel_type == "email" and m.provider_message_id
        )
        if sent_emails:
            mail_messages |= (
                self.env["mail.message"]
                .sudo()
                .search(
                    [("message_id", "in", sent_emails.mapped("provider_message_id"))]
                )
            )
        mail_messages.attachment_ids.unlink()
        mail_messages.write({"body": "", "subject": False, "email_from": False})
        # The copies of an email kept in the outgoing queue.
        self.env["mail.mail"].sudo().search(
            [("mail_message_id", "in", mail_messages.ids)]
        ).write({"body_html": False})
        self.env["ir.attachment"].sudo().search(
            [("res_model", "=", self._name), ("res_id", "in", conversations.ids)]
        ).unlink()
        messages.write({"error_message": False, "provider_template": False})
        # A reply still waiting to leave would send the erased words (or a
        # blank) to someone who asked to be forgotten: it fails instead.
        messages.filtered(
            lambda m: m.direction == "out" and m.status == "queued"
        ).write(
            {
                "status": "failed",
                "next_send_date": False,
                "error_code": "privacy_erased",
                "error_message": self.env._(
                    "Not sent: the customer's conversations were erased."
                ),
            }
        )
        self.env["sms.sms"].sudo().search(
            [("omnichannel_message_id", "in", messages.ids)]
        ).filtered(lambda sms: sms.state == "outgoing").write(
            {"state": "canceled", "body": False}
        )
        # Files still to be fetched would bring the erased content back.
        self.env["omnichannel.attachment.download"].sudo().search(
            [("conversation_id", "in", conversations.ids)]
        ).unlink()
        calls = (
            self.env["omnichannel.call"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        self.env["ir.attachment"].sudo().search(
            [("res_model", "=", "omnichannel.call"), ("res_id", "in", calls.ids)]
        ).unlink()
        calls.write(
            {
                "customer_number": False,
                "customer_phone_sanitized": False,
                "customer_name": False,
                "recording_url": False,
                "recording_ref": False,
            }
        )
        journal = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("conversation_id", "in", conversations.ids)])
        )
        journal.write({"payload": ERASED_PAYLOAD, "error_traceback": False})
        journal.filtered(lambda row: row.state in ("pending", "error")).write(
            {
                "state": "ignored",
                "note": self.env._("erased (privacy)"),
                "next_attempt_date": False,
            }
        )
        conversations.write({"privacy_erased_date": fields.Datetime.now()})

    # ------------------------------------------------------------------
    # Hooks of the features: no-ops here, each feature file overrides its
    # own (the owner flow calls them in this order after each message)
    # ------------------------------------------------------------------
    def _sla_on_inbound(self, message):
        """The customer started waiting: the response-time policy sets its
        deadline (omnichannel_conversation_sla.py)."""

    def _sla_stop(self):
        """A person answered: the response-time steps stop
        (omnichannel_conversation_sla.py)."""

    def _followup_on_inbound(self, message):
        """The customer wrote: dates they name become follow-ups
        (omnichannel_conversation_followup.py)."""

    def _followup_on_outbound(self, message):
        """A reply left: promises and questions become follow-ups
        (omnichannel_conversation_followup.py)."""

    def _inbox_values(self):
        """The rows the inbox shows (omnichannel_conversation_inbox.py);
        features add their own keys (omnichannel_conversation_qualification.py)."""
        return []

    @api.model
    def _cron_quality(self):
        """Scheduled action: repeat contacts and quality reviews of the
        conversations closed since the last run
        (omnichannel_conversation_repeat.py)."""
