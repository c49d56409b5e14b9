import logging
import time
from datetime import timedelta
from urllib.parse import quote as url_quote

from markupsafe import Markup

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError
from odoo.tools import html2plaintext

from odoo.addons.omnichannel_inbox import connectors

from ..services import retry

_logger = logging.getLogger(__name__)

#: Waits between automatic re-sends of a message the provider could not take
#: (provider down, rate limited); after the last one the message is failed.
SEND_RETRY_DELAYS = retry.backoff(4)
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
#: How long one run of the send cron keeps sending: within it, waits for the
#: sending budget (a second or two) are slept through rather than left to the
#: next wake-up of the cron, which may be a minute away.
SEND_RUN_SECONDS = 50
SEND_NAP_MAX = 2.0
PANEL_PAGE = 30


class OmnichannelMessage(models.Model):
    """Channel metadata of a message of the customer's history.

    The content (body, attachments, author) is an ordinary ``mail.message``
    posted on the conversation; this record adds what mail does not know:
    direction, provider message id, delivery status and the provider's
    error.  The customer (``partner_id``) is stored so that the history of a
    customer across all their channels is one indexed query."""

    _name = "omnichannel.message"
    _description = "Channel Message"
    _order = "date desc, id desc"
    _rec_name = "provider_message_id"

    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade", index=True
    )
    # Precomputed: written by the INSERT of a new message, not by an UPDATE
    # right after it (one query less per message).
    channel_id = fields.Many2one(
        related="conversation_id.channel_id", store=True, index=True, precompute=True
    )
    channel_type = fields.Selection(
        related="conversation_id.channel_type", store=True, precompute=True
    )
    company_id = fields.Many2one(
        related="conversation_id.company_id", store=True, index=True, precompute=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_partner_id",
        store=True,
        readonly=False,
        index=True,
        precompute=True,
    )
    lead_id = fields.Many2one(
        "crm.lead",
        index="btree_not_null",
        ondelete="set null",
        help="The lead the customer had when the message was exchanged.",
    )
    mail_message_id = fields.Many2one(
        "mail.message", string="Message", ondelete="cascade", index=True
    )
    body = fields.Html(related="mail_message_id.body", related_sudo=True)
    attachment_ids = fields.Many2many(
        related="mail_message_id.attachment_ids", related_sudo=True
    )
    direction = fields.Selection(
        [("in", "Incoming"), ("out", "Outgoing")], required=True, index=True
    )
    author_kind = fields.Selection(
        [
            ("customer", "Customer"),
            ("employee", "Employee"),
            ("auto", "Automatic reply"),
            ("system", "System"),
        ],
        required=True,
        default="customer",
    )
    author_user_id = fields.Many2one(
        "res.users", string="Sent by", index="btree_not_null"
    )
    message_type = fields.Selection(
        [
            ("text", "Text"),
            ("image", "Image"),
            ("document", "Document"),
            ("audio", "Audio"),
            ("voice", "Voice message"),
            ("video", "Video"),
            ("location", "Location"),
            ("contact", "Contact"),
            ("sticker", "Sticker"),
            ("call", "Call"),
            ("email", "Email"),
            ("form", "Form"),
        ],
        default="text",
        required=True,
    )
    provider_message_id = fields.Char("Provider message ID", copy=False)
    status = fields.Selection(
        [
            ("received", "Received"),
            ("queued", "Queued"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
        ],
        required=True,
        default="received",
        index=True,
    )
    error_code = fields.Char("Provider error code")
    error_message = fields.Char("Provider error")
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    sent_date = fields.Datetime()
    send_attempts = fields.Integer()
    next_send_date = fields.Datetime(index="btree_not_null")
    priority = fields.Selection(
        [("high", "A person's reply"), ("low", "Automatic message")],
        default="low",
        help="A person's reply leaves ahead of automatic messages (auto-replies, "
        "surveys, "
        "templates, follow-ups) and uses a share of the sending limit they never take.",
    )
    throttled = fields.Boolean(
        "Waiting for the sending limit",
        help="Queued by the channel's sending limit or the provider's "
        "rate limit, not by a fault: it leaves as soon as the budget allows.",
    )
    provider_template = fields.Json(
        "Provider template",
        copy=False,
        help="The message template (WhatsApp) this message was sent as, in the "
        "provider's format.",
    )
    is_edited = fields.Boolean("Edited")
    edit_date = fields.Datetime()
    call_id = fields.Many2one(
        "omnichannel.call", string="Call", index="btree_not_null", ondelete="cascade"
    )
    download_ids = fields.One2many(
        "omnichannel.attachment.download", "message_id", string="Files to download"
    )

    _provider_message_unique = models.UniqueIndex(
        "(channel_id, provider_message_id) WHERE provider_message_id IS NOT NULL",
        "A provider message is stored once per channel account.",
    )
    _partner_history_idx = models.Index("(partner_id, date DESC, id DESC)")
    # The newest message of a conversation (what "seen" records, on every
    # panel load) in one index probe, however long the history.
    _conversation_newest_idx = models.Index("(conversation_id, id)")

    @api.model_create_multi
    def create(self, vals_list):
        # A person's reply is high unless its caller says otherwise; automatic
        # messages (any other author kind) are low.  A plain field with a
        # default, not a stored compute: an upgrade fills a big history in SQL.
        for vals in vals_list:
            if "priority" not in vals and vals.get("author_kind") == "employee":
                vals["priority"] = "high"
        return super().create(vals_list)

    @api.depends("conversation_id.partner_id")
    def _compute_partner_id(self):
        for message in self:
            message.partner_id = message.conversation_id.partner_id

    # ------------------------------------------------------------------
    # Provider events
    # ------------------------------------------------------------------
    @api.model
    def _find_by_provider_id(self, channel, provider_message_id):
        """The message (sudo; empty if none) that the provider names
        ``provider_message_id`` on ``channel``.  A redelivered message, an
        edit, a delivery report, a deletion and a mirrored email all find
        their message so; the id is unique only per channel account
        (``_provider_message_unique``)."""
        return self.sudo().search(
            [
                ("channel_id", "=", channel.id),
                ("provider_message_id", "=", provider_message_id),
            ],
            limit=1,
        )

    def _apply_edit(self, body):
        """The customer's new text, saying it was edited."""
        self.ensure_one()
        note = Markup("<p><i>%s</i></p>") % self.env._("Edited by the customer")
        self.mail_message_id.sudo().write({"body": body + note})
        self.write({"is_edited": True, "edit_date": fields.Datetime.now()})
        self.conversation_id._notify_panel()

    def _apply_status(self, status, error_code="", error_text="", date=None):
        """A delivery report.  Reports arrive out of order (read before
        delivered): a status never goes backwards, and failed is final."""
        self.ensure_one()
        if self.status == "failed" or status not in STATUS_RANK and status != "failed":
            return
        if (
            status != "failed"
            and STATUS_RANK.get(self.status, -1) >= STATUS_RANK[status]
        ):
            return
        vals = {"status": status}
        if status == "failed":
            vals.update(
                error_code=error_code or False,
                error_message=error_text
                or self.env._("The provider could not deliver the message."),
                next_send_date=False,
            )
        self.write(vals)
        self.conversation_id._notify_panel()

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def _outbound_payload(self):
        self.ensure_one()
        conversation = self.conversation_id
        identity = conversation.identity_id
        return connectors.OutboundMessage(
            recipient_id=identity.chat_id or identity.provider_user_id,
            text=html2plaintext(self.body or "").strip() if self.body else "",
            attachments=[
                connectors.OutboundAttachment(
                    a.name,
                    a.mimetype or "application/octet-stream",
                    a.raw,
                    url=self._public_attachment_url(a),
                )
                for a in self.attachment_ids.sudo()
            ],
            idempotency_key=f"odoo-{self.env.cr.dbname}-{self.id}",
            template=self.provider_template or None,
        )

    def _public_attachment_url(self, attachment):
        """An address the provider can download the file from (Viber, SMS
        links): Odoo's own /web/content route with the attachment's access
        token, on the public web.base.url."""
        token = attachment.access_token or attachment.generate_access_token()[0]
        return "{}/web/content/{}/{}?access_token={}".format(
            self.get_base_url().rstrip("/"),
            attachment.id,
            url_quote(attachment.name or "file", safe=""),
            token,
        )

    def _send(self, waits=None):
        """Hand each message to its channel.  Provider refusals are stored on
        the message (visible in the chat); transient failures are retried
        with backoff by the cron; nothing is silently dropped.

        Each message first takes its place in the channel's sending budget
        (``omnichannel.send.budget``); over the budget it stays queued, a
        little later, and the cron sends it.  Returns the messages that left.
        ``waits`` ({(channel id, conversation id or None): seconds}) collects
        the budget's refusals of one cron pass, so that a spent channel is
        asked once, not once per waiting message."""
        Budget = self.env["omnichannel.send.budget"]
        waits = {} if waits is None else waits
        sent = self.browse()
        for message in self:
            channel = message.channel_id
            channel_wide = (channel.id, None) in waits
            wait = waits.get((channel.id, None)) or waits.get(
                (channel.id, message.conversation_id.id)
            )
            grant = None
            if not wait:
                wait, grant, channel_wide = Budget._acquire(message)
                if wait:
                    waits[
                        (
                            channel.id,
                            None if channel_wide else message.conversation_id.id,
                        )
                    ] = wait
            if wait:
                if not (channel_wide and message.throttled):
                    # (a message already waiting for its channel keeps its place in the
                    # queue)
                    message._send_throttled(wait)
                    message.conversation_id._notify_panel()
                continue
            try:
                result = channel._send_outbound(message)
            except connectors.SendError as exc:
                Budget._release(grant)
                if exc.retry_after:
                    # the provider's rate limit: the whole channel waits, not only this
                    # message
                    Budget._back_off(channel, exc.retry_after)
                    waits[(channel.id, None)] = exc.retry_after
                message._send_failed(exc)
            except Exception as exc:
                Budget._release(grant)
                _logger.exception(
                    "Omnichannel: sending message %s failed unexpectedly", message.id
                )
                message._send_failed(
                    connectors.SendError(str(exc), code="error", retryable=True)
                )
            else:
                Budget._release(grant)
                sent |= message
                message.write(
                    {
                        "status": result.status or "sent",
                        "provider_message_id": result.message_id or False,
                        "sent_date": fields.Datetime.now(),
                        "error_code": False,
                        "error_message": False,
                        "next_send_date": False,
                        "send_attempts": message.send_attempts + 1,
                        "throttled": False,
                    }
                )
            message.conversation_id._notify_panel()
        return sent

    def _send_throttled(self, wait):
        """Over the sending budget: stays queued (not an attempt, not an
        error) and the cron sends it when the budget allows."""
        when = fields.Datetime.now() + timedelta(seconds=wait)
        self.write(
            {"status": "queued", "throttled": bool(wait), "next_send_date": when}
        )
        # rounded up to the second (the cron is never woken before the budget
        # allows); one trigger per second of a transaction, not one per message
        at = when.replace(microsecond=0) + timedelta(seconds=1 if wait else 0)
        triggered = self.env.cr.precommit.data.setdefault(
            "omnichannel_send_triggers", set()
        )
        if at not in triggered:
            triggered.add(at)
            self.env.ref(
                "omnichannel_inbox.ir_cron_send_queued_messages"
            ).sudo()._trigger(at)

    def _send_failed(self, exc):
        self.ensure_one()
        if exc.retry_after:
            # The provider's rate limit is no fault of the message: it waits
            # with the whole channel and keeps all its attempts.
            self.write({"error_code": exc.code or False, "error_message": False})
            self._send_throttled(exc.retry_after)
            return
        attempts = self.send_attempts + 1
        next_send = exc.retryable and retry.next_try(
            fields.Datetime.now(), attempts, SEND_RETRY_DELAYS
        )
        vals = {
            "send_attempts": attempts,
            "error_code": exc.code or False,
            "error_message": exc.message or str(exc),
            "throttled": False,
        }
        if next_send:
            vals.update(
                status="queued",
                next_send_date=next_send,
            )
        else:
            vals.update(status="failed", next_send_date=False)
        self.write(vals)
        if next_send:
            self.env.ref(
                "omnichannel_inbox.ir_cron_send_queued_messages"
            ).sudo()._trigger(vals["next_send_date"])
        if exc.blocks_recipient:
            self.conversation_id.identity_id.sudo().write(
                {"unreachable": True, "unreachable_reason": exc.message}
            )
        if not next_send and not exc.blocks_recipient:
            self.env["omnichannel.alert"]._reply_failed(self)
        if not next_send:
            self.conversation_id._message_log(
                body=self.env._(
                    "A message could not be delivered through %(channel)s: %(error)s",
                    channel=self.channel_id.name,
                    error=exc.message,
                )
            )

    @api.model
    def _cron_send_queued(self, run_seconds=SEND_RUN_SECONDS):
        """Send the queued messages that are due, people's replies first,
        within each channel's sending budget.  A burst is spread: what the
        budget refuses is put a little later, and short waits are slept
        through within ``run_seconds``; longer ones re-trigger the cron."""
        deadline = time.monotonic() + run_seconds
        auto_commit = not modules.module.current_test
        self.env["omnichannel.send.budget"]._gc()
        done = self.browse()
        while True:
            self.flush_model(
                ["status", "direction", "next_send_date", "priority", "throttled"]
            )
            # Dates are whole seconds: what is due within the next one is
            # taken too, so that a person's reply is not behind automatic
            # messages by a rounding; the budget still decides when each leaves.
            self.env.cr.execute(
                """
                SELECT id FROM omnichannel_message
                 WHERE status = 'queued' AND direction = 'out' AND next_send_date <= %s
                 ORDER BY priority = 'high' DESC, next_send_date, id LIMIT 100 FOR
                     UPDATE SKIP LOCKED
            """,
                [fields.Datetime.now() + timedelta(seconds=1)],
            )
            messages = self.browse([r[0] for r in self.env.cr.fetchall()])
            sent, waits, later = self.browse(), {}, {}
            for message in messages:
                channel_wait = waits.get((message.channel_id.id, None))
                chat_wait = waits.get(
                    (message.channel_id.id, message.conversation_id.id)
                )
                if channel_wait or chat_wait:
                    # the budget already said no in this pass: put aside, written at
                    # once below
                    if chat_wait or not message.throttled:
                        later[channel_wait or chat_wait] = (
                            later.get(channel_wait or chat_wait, self) | message
                        )
                    continue
                sent |= message._send(waits)
                if auto_commit:
                    self.env.cr.commit()
            for wait, group in later.items():
                group._send_throttled(wait)
                group.conversation_id._notify_panel()
            if auto_commit:
                self.env.cr.commit()
            done |= messages
            if sent and not waits:
                continue
            # Some could not leave: sleep until the budget frees, if soon, and
            # go on (a trigger at a later time wakes the cron only at its next
            # poll, up to a minute away: a burst would crawl).
            if waits:
                nap = min(waits.values())
            else:
                self.env.cr.execute("""
                    SELECT MIN(next_send_date) FROM omnichannel_message
                     WHERE status = 'queued' AND direction = 'out' AND next_send_date
                         IS NOT NULL
                """)
                first = self.env.cr.fetchone()[0]
                nap = (
                    (first - fields.Datetime.now()).total_seconds() + 0.01
                    if first
                    else SEND_NAP_MAX + 1
                )
            if (
                nap > SEND_NAP_MAX
                or time.monotonic() + nap >= deadline
                or not messages
                and nap <= 0.01
            ):
                break
            time.sleep(max(nap, 0.02))
        return done

    def action_resend(self):
        """Try a failed or waiting message again now."""
        for message in self.filtered(
            lambda m: m.direction == "out" and m.status in ("failed", "queued")
        ):
            message.sudo().write({"status": "queued", "send_attempts": 0})
            message.sudo()._send()
        return True

    # ------------------------------------------------------------------
    # Chat panel API
    # ------------------------------------------------------------------
    @api.model
    def _panel_scope(self, res_model, res_id):
        """Return (record, customers, domain): which history a form shows.

        Reading a lead, partner or conversation gives its customer's history
        across channels - that is the point of the panel - but only through
        the conversations the user may read by the record rules: the domain
        is searched as the user, never under sudo (a lead anyone can create
        on anyone's customer must not open that customer's history)."""
        if res_model not in ("crm.lead", "res.partner", "omnichannel.conversation"):
            raise UserError(
                self.env._("The chat panel is not available on %s.", res_model)
            )
        record = self.env[res_model].browse(int(res_id)).exists()
        if not record:
            raise UserError(self.env._("This record does not exist any more."))
        record.check_access("read")
        if res_model == "res.partner":
            partners = (
                self.env["res.partner"]
                .sudo()
                .with_context(active_test=False)
                .search([("id", "child_of", record.id)])
            )
            domain = [("partner_id", "in", partners.ids)]
        elif res_model == "crm.lead":
            partners = record.sudo().partner_id
            domain = (
                [("partner_id", "=", partners.id)]
                if partners
                else [("lead_id", "=", record.id)]
            )
            if not partners:
                partners = record.sudo().omnichannel_conversation_ids.partner_id
                if partners:
                    domain = [
                        "|",
                        ("lead_id", "=", record.id),
                        ("partner_id", "in", partners.ids),
                    ]
        else:
            partners = record.sudo().partner_id
            domain = [("partner_id", "=", partners.id)]
        self._panel_check_works_with(record, domain)
        return record, partners, domain

    @api.model
    def _panel_check_works_with(self, record, domain):
        """Refuse the history of a customer the user does not work with.

        Every employee may open any contact, and every salesperson any
        unassigned lead (Odoo's own lead rule) or create a lead on any
        contact, so reading the form is not enough: the history is for
        whoever may read one of the customer's conversations by the record
        rules (and the allowed companies); the page then shows only those."""
        Conversation = self.env["omnichannel.conversation"]
        if Conversation.sudo().search_count(
            domain, limit=1
        ) and not Conversation.search_count(domain, limit=1):
            raise AccessError(
                self.env._(
                    "You do not work with this customer: their conversations are not "
                    "yours to read."
                )
            )

    @api.model
    def panel_fetch(self, res_model, res_id, before_id=None, limit=PANEL_PAGE):
        """One page of the customer's history, newest first (the client shows
        it oldest -> newest), plus the conversations a reply can go to."""
        record, partners, domain = self._panel_scope(res_model, res_id)
        limit = max(1, min(int(limit or PANEL_PAGE), 200))
        # The record rules (and allowed companies) say which of the customer's
        # messages, calls and recordings are shown.  A message's rules are its
        # conversation's, so they are applied once per conversation, not once
        # per message: searched on the messages, an OR over joined tables
        # makes PostgreSQL read and join the whole history before it keeps a
        # page (ten thousand messages: six times slower than ten).
        domain = domain + self._panel_readable_domain(domain)
        if before_id:
            anchor = self.sudo(False).search([("id", "=", int(before_id))])
            if anchor:
                domain = domain + [
                    "|",
                    ("date", "<", anchor.date),
                    "&",
                    ("date", "=", anchor.date),
                    ("id", "<", anchor.id),
                ]
        messages = self.sudo().search(
            domain, order="date desc, id desc", limit=limit + 1
        )
        has_more = len(messages) > limit
        messages = messages[:limit]
        result = {
            "messages": messages._panel_values(),
            "has_more": has_more,
        }
        if not before_id:
            result.update(self._panel_reply_targets(res_model, record, partners))
            Log = self.env["omnichannel.access.log"]
            if (
                res_model == "omnichannel.conversation"
                and self.env.context.get("omnichannel_panel_origin") == "inbox"
            ):
                # The conversation chosen in the inbox, whether or not this
                # page shows one of its messages.
                Log._log(record, "inbox")
            Log._log(messages.conversation_id, "panel")
        return result

    @api.model
    def _panel_readable_domain(self, domain):
        """What restricts the history's messages (``domain``) to the
        conversations the user may read: a plain list of ids, which
        PostgreSQL checks row by row while it walks the customer's history
        index newest first, and stops after a page."""
        Conversation = self.env["omnichannel.conversation"]
        candidates = Conversation.sudo().search(domain)
        lead_ids = [
            leaf[2]
            for leaf in domain
            if isinstance(leaf, (list, tuple)) and leaf[0] == "lead_id"
        ]
        if lead_ids:
            # A message keeps the lead of its day; its conversation may have
            # moved on to another lead since.
            candidates |= Conversation.sudo().browse(
                conversation.id
                for [conversation] in self.sudo()._read_group(
                    [("lead_id", "in", lead_ids)], ["conversation_id"]
                )
            )
        readable = Conversation.search([("id", "in", candidates.ids)])
        return [("conversation_id", "in", readable.ids)]

    @api.model
    def _panel_reply_targets(self, res_model, record, partners):
        # Only conversations the user may read are reply targets.
        Conversation = self.env["omnichannel.conversation"].sudo(False)
        conversations = (
            Conversation.search(
                [("partner_id", "in", partners.ids)],
                order="last_customer_message_date desc, id desc",
            )
            if partners
            else Conversation.browse()
        )
        if res_model == "crm.lead" and not partners:
            conversations = Conversation.search(
                [("id", "in", record.sudo().omnichannel_conversation_ids.ids)]
            )
        conversations = conversations.sudo()
        # Phone lines carry calls, not text: they are no reply target.
        conversations = conversations.filtered(lambda c: c.channel_id._can_send_text())
        default = conversations[:1]
        if (
            res_model == "omnichannel.conversation"
            and record.sudo().channel_id._can_send_text()
        ):
            default = record.sudo()
        return {
            "conversations": [
                {
                    "id": c.id,
                    "channel_name": c.channel_id.name,
                    "channel_type": c.channel_type,
                    "identity": c.identity_id.display_name,
                    "unreachable": c.identity_id.unreachable,
                    "unreachable_reason": c.identity_id.unreachable_reason or "",
                    "state": c.state,
                }
                for c in conversations
            ],
            "default_conversation_id": default.id or False,
            "customer_name": partners[:1].name or "",
            "can_call": self.env["omnichannel.call"]._can_click_to_call(),
        }

    def _panel_values(self):
        status_labels = dict(self._fields["status"]._description_selection(self.env))
        values = []
        for message in self:
            mail_message = message.mail_message_id
            attachments = []
            for attachment in mail_message.attachment_ids.sudo():
                token = attachment.access_token or attachment.generate_access_token()[0]
                attachments.append(
                    {
                        "id": attachment.id,
                        "name": attachment.name,
                        "mimetype": attachment.mimetype or "",
                        "url": f"/web/content/{attachment.id}?access_token={token}",
                        "download_url": f"/web/content/{attachment.id}"
                        f"?access_token={token}&download=true",
                        "is_image": (attachment.mimetype or "").startswith("image/"),
                    }
                )
            values.append(
                {
                    "id": message.id,
                    "date": fields.Datetime.to_string(message.date),
                    "direction": message.direction,
                    "author_kind": message.author_kind,
                    "author_name": mail_message.author_id.name or "",
                    "channel_id": message.channel_id.id,
                    "channel_name": message.channel_id.name,
                    "channel_type": message.channel_type,
                    "channel_icon": message.channel_id.channel_icon,
                    "conversation_id": message.conversation_id.id,
                    "body": mail_message.body or "",
                    "attachments": attachments,
                    "message_type": message.message_type,
                    "status": message.status,
                    "status_label": self.env._("Queued: sending limit")
                    if message.status == "queued" and message.throttled
                    else status_labels.get(message.status, message.status),
                    "error": message.error_message or "",
                    "is_edited": message.is_edited,
                    "call": message.call_id._panel_values()
                    if message.call_id
                    else False,
                    # Files still on their way (placeholders) and when a queued reply is
                    # tried again.
                    "pending_files": message.sudo().download_ids._panel_values(),
                    "next_send_date": fields.Datetime.to_string(message.next_send_date)
                    if message.status == "queued" and message.next_send_date
                    else False,
                }
            )
        return values

    @api.model
    def _panel_conversation(self, res_model, res_id, conversation_id):
        """The conversation (sudo) a reply from a form's chat panel goes
        through: one of the customer's of that form, or refused."""
        record, partners, _domain = self._panel_scope(res_model, res_id)
        # A reply goes only through a conversation the user may read, or one
        # the panel has just opened for it (a first email; marked with a
        # record in the context, which no client can send over RPC).
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo(False)
            .search([("id", "=", int(conversation_id or 0))])
            .sudo()
        )
        opened = self.env.context.get("omnichannel_panel_opened")
        if (
            not conversation
            and isinstance(opened, models.BaseModel)
            and opened._name == "omnichannel.conversation"
            and opened.id == int(conversation_id or 0)
        ):
            conversation = opened.sudo()
        allowed = conversation and (
            conversation.partner_id in partners
            or (res_model == "crm.lead" and conversation.lead_id == record)
            or (res_model == "omnichannel.conversation" and conversation == record)
        )
        if not allowed:
            raise UserError(
                self.env._("Choose one of this customer's channels to reply.")
            )
        return conversation

    @api.model
    def panel_send(
        self,
        res_model,
        res_id,
        conversation_id,
        text="",
        attachment_ids=None,
        canned_response_ids=None,
    ):
        """Send a reply from a form's chat panel through the chosen
        conversation (by default the channel the customer last wrote from).

        ``attachment_ids``: the files the user uploaded for this reply
        through mail's attachment upload (``/mail/attachment/upload``,
        pending: not yet on any record); they move to the conversation (and
        are encrypted there when the company encrypts files).
        ``canned_response_ids``: the canned responses inserted in the text,
        marked used as mail's composer does."""
        conversation = self._panel_conversation(res_model, res_id, conversation_id)
        attachments = self._panel_uploads(attachment_ids)
        self.env["mail.canned.response"]._omnichannel_mark_used(canned_response_ids)
        message = conversation._post_reply(text, attachments, user=self.env.user)
        return message._panel_values()[0]

    @api.model
    def _panel_uploads(self, attachment_ids):
        """The user's own pending uploads among ``attachment_ids`` (sudo).

        The upload route checked that the user may post on the thread the
        file was uploaded for; here, a file someone else uploaded, or one
        already attached to a record, is refused: a reply sends only what
        its author uploaded for it."""
        # In the order given: the files leave in the order they were chosen.
        ids = list(dict.fromkeys(int(a_id) for a_id in attachment_ids or []))
        attachments = self.env["ir.attachment"].sudo().browse(ids).exists()
        if len(attachments) != len(ids) or any(
            attachment.res_model != "mail.compose.message"
            or attachment.res_id
            or attachment.create_uid.id != self.env.uid
            for attachment in attachments
        ):
            raise AccessError(
                self.env._("Only the files you have just uploaded can be sent.")
            )
        return attachments

    @api.model
    def panel_retry_download(self, res_model, res_id, download_id):
        """The chat panel's Retry on a file that could not be downloaded: for
        a message of the history this form shows, nothing else."""
        _record, _partners, domain = self._panel_scope(res_model, res_id)
        row = (
            self.env["omnichannel.attachment.download"]
            .sudo()
            .browse(int(download_id or 0))
            .exists()
        )
        if not row or not self.sudo().search_count(
            domain + [("id", "=", row.message_id.id)], limit=1
        ):
            raise UserError(
                self.env._("This file is not part of this customer's history.")
            )
        row.action_retry()
        return row.message_id._panel_values()[0]

    # ------------------------------------------------------------------
    # Messages the customer deleted in their app
    # ------------------------------------------------------------------
    is_revoked = fields.Boolean(
        "Deleted by the customer",
        readonly=True,
        help="The customer deleted this message in their app; its text is kept for the "
        "record.",
    )

    revoke_date = fields.Datetime("Deleted on", readonly=True)

    def _apply_revoke(self, date):
        """The customer deleted the message ("unsent" it): it stays in the
        history, marked, so that what was said is not lost to the team."""
        self.ensure_one()
        if self.is_revoked:
            return
        note = Markup("<p><i>🗑 %s</i></p>") % self.env._(
            "The customer deleted this message on %s; its text is kept for the record.",
            fields.Datetime.to_string(date),
        )
        self.mail_message_id.sudo().write(
            {"body": note + (self.mail_message_id.body or "")}
        )
        self.write({"is_revoked": True, "revoke_date": date})
        self.conversation_id._notify_panel()
