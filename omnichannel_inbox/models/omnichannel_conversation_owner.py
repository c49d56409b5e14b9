import phonenumbers
import pytz
from phonenumbers import timezone as phone_timezone

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import SQL, html2plaintext


class OmnichannelConversationOwner(models.Model):
    """What happens around a customer's message so that someone owns and
    answers it: routing (the single entry point
    :meth:`_route_to_salesperson` asks ``omnichannel.routing.rule``), the
    response-time policy, the automatic reply, and the follow-ups, in that
    order."""

    _inherit = "omnichannel.conversation"

    # ------------------------------------------------------------------
    # Hooks of the message flow
    # ------------------------------------------------------------------
    def _after_inbound(self, message):
        super()._after_inbound(message)  # routing
        self._sla_on_inbound(message)
        self._autoreply_on_inbound(message)
        self._followup_on_inbound(message)

    def _after_outbound(self, message):
        super()._after_outbound(message)
        if message.author_kind == "employee":
            self._sla_stop()
            if not self.user_id and message.author_user_id:
                # One person answers: the first to answer a queued customer takes them.
                self._lock_for_assignment()
                if not self.user_id:
                    self._assign(message.author_user_id, self.env._("answered first"))
        self._followup_on_outbound(message)

    def write(self, vals):
        if vals.get("state") == "closed":
            vals = dict(
                vals,
                sla_next_action=False,
                sla_next_action_date=False,
                followup_next_kind=False,
                followup_next_date=False,
            )
        return super().write(vals)

    # ------------------------------------------------------------------
    # Automatic replies
    # ------------------------------------------------------------------
    def _autoreply_on_inbound(self, message):
        """Answer a customer who starts waiting after a silence, once per
        wait.  Sent as an automatic reply: the customer still waits for a
        person (waiting_since and the SLA deadline are kept)."""
        self.ensure_one()
        channel = self.channel_id
        if not channel.autoreply_enabled or message.date != self.waiting_since:
            return
        Message = self.env["omnichannel.message"].sudo()
        previous = Message.search(
            [
                ("conversation_id", "=", self.id),
                ("id", "!=", message.id),
                ("date", "<=", message.date),
            ],
            order="date desc, id desc",
            limit=1,
        )
        if (
            previous
            and (message.date - previous.date).total_seconds()
            < 60 * channel.autoreply_silence_minutes
        ):
            return
        text = channel._autoreply_text(self, message)
        if not text:
            return
        try:
            self._post_reply(text, author_kind="auto")
        except UserError as exc:
            self._message_log(
                body=self.env._(
                    "Automatic reply not sent: %s", exc.args[0] if exc.args else exc
                )
            )

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

    # ------------------------------------------------------------------
    # Routing helpers
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # Scheduled work
    # ------------------------------------------------------------------
    @api.model
    def _run_due(self, date_field, method, cron_xmlid, batch=200):
        """Call ``method`` on each conversation whose ``date_field`` (an
        indexed column) is due, oldest first, at most ``batch`` of them:
        the work grows with what is due, not with the open conversations.
        SKIP LOCKED: two workers never take the same row.  The cron wakes
        itself again when more are due."""
        self.flush_model([date_field])
        column = SQL.identifier(date_field)
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_conversation WHERE %s <= %s ORDER BY %s, id LIMIT %s FOR UPDATE SKIP LOCKED",
                column,
                fields.Datetime.now(),
                column,
                batch,
            )
        )
        conversations = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        auto_commit = not modules.module.current_test
        for conversation in conversations:
            getattr(conversation, method)()
            if auto_commit:
                self.env.cr.commit()
        if len(conversations) >= batch:
            self.env.ref(cron_xmlid).sudo()._trigger()
        return conversations
