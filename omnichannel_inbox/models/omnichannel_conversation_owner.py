from odoo import models
from odoo.exceptions import UserError


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
                    # The note is in the new owner's language, reason included.
                    author = message.author_user_id
                    lang = self._reader_lang(author)
                    self._assign(
                        author, self.with_context(lang=lang).env._("answered first")
                    )
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

    # ------------------------------------------------------------------
    # Routing helpers
    # ------------------------------------------------------------------

    # ------------------------------------------------------------------
    # Scheduled work
    # ------------------------------------------------------------------
