from datetime import timedelta

from odoo import api, fields, models, modules
from odoo.tools import html2plaintext

from ..services.text_similarity import similarity

#: Conversations scored (checklist + repeat) per transaction of the cron.
QUALITY_BATCH = 50


class OmnichannelConversationRepeat(models.Model):
    """Repeat requests: a customer who comes back within a few days with a
    similar first message, on any channel, was not fully answered the
    first time.  Detected by the quality cron when the later conversation
    closes, never on the reply path."""

    _inherit = "omnichannel.conversation"

    repeat_of_id = fields.Many2one(
        "omnichannel.conversation",
        "Repeat of",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The earlier conversation of the same customer, on any channel, whose topic this one repeats.",
    )
    is_repeat = fields.Boolean("Repeat request", readonly=True, index=True)
    repeat_similarity = fields.Float(
        "Topic similarity (%)", readonly=True, digits=(16, 1)
    )
    repeat_user_id = fields.Many2one(
        "res.users",
        "Salesperson of the first request",
        readonly=True,
        index="btree_not_null",
        help="Who handled the conversation the customer had to come back about.",
    )
    repeat_ids = fields.One2many(
        "omnichannel.conversation", "repeat_of_id", "Repeated by"
    )
    # 0 or 100 per conversation: their average in a pivot is the rate
    repeat_rate = fields.Float(
        "Repeat requests (%)",
        compute="_compute_repeat_rates",
        store=True,
        aggregator="avg",
        help="Share of the conversations that repeat an earlier request of the customer.",
    )
    came_back_rate = fields.Float(
        "Customers who came back (%)",
        compute="_compute_repeat_rates",
        store=True,
        aggregator="avg",
        help="Share of the conversations after which the customer came back with the "
        "same topic: by salesperson, whose answers left something open.",
    )

    @api.depends("is_repeat", "repeat_ids")
    def _compute_repeat_rates(self):
        for conversation in self:
            conversation.repeat_rate = 100.0 if conversation.is_repeat else 0.0
            conversation.came_back_rate = 100.0 if conversation.repeat_ids else 0.0

    def _first_customer_text(self):
        message = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("author_kind", "=", "customer"),
                    ("message_type", "=", "text"),
                ],
                order="date, id",
                limit=1,
            )
        )
        return message, html2plaintext(message.body or "").strip()

    def _detect_repeat(self):
        """Link this conversation to the customer's previous one when the
        customer came back within the configured days (counted from the
        last message of the previous conversation before this one began)
        and the two first customer messages are alike enough."""
        self.ensure_one()
        conversation = self.sudo()
        params = self.env["ir.config_parameter"].sudo()
        days = int(params.get_param("omnichannel_inbox.repeat_days", 7) or 7)
        threshold = float(
            params.get_param("omnichannel_inbox.repeat_similarity", 75) or 75
        )
        vals = {
            "repeat_of_id": False,
            "is_repeat": False,
            "repeat_similarity": 0.0,
            "repeat_user_id": False,
        }
        first, text = self._first_customer_text()
        if first and text:
            Message = self.env["omnichannel.message"].sudo()
            earlier = Message._read_group(
                [
                    ("partner_id", "=", conversation.partner_id.id),
                    ("conversation_id", "!=", self.id),
                    ("date", "<", first.date),
                    ("date", ">=", first.date - timedelta(days=days)),
                ],
                ["conversation_id"],
                ["date:max"],
            )
            # the most recent contact first
            for previous, _last in sorted(
                earlier, key=lambda row: (row[1], row[0].id), reverse=True
            ):
                _message, previous_text = previous._first_customer_text()
                score = similarity(text, previous_text)
                if score >= threshold:
                    vals.update(
                        repeat_of_id=previous.id,
                        is_repeat=True,
                        repeat_similarity=score,
                        repeat_user_id=previous.user_id.id,
                    )
                    break
        conversation.write(vals)

    # ------------------------------------------------------------------
    # Cron: checklists and repeat requests of closed conversations
    # ------------------------------------------------------------------
    @api.model
    def _cron_quality(self):
        """Score the conversations closed since the last run, a batch per
        transaction (``ir.cron._commit_progress``); woken with
        ``_trigger()`` when a conversation closes."""
        # commit per batch only as the scheduled action (not inside a test,
        # nor when the demo data calls it during the installation)
        in_cron = (
            bool(self.env.context.get("ir_cron_progress_id"))
            and not modules.module.current_test
        )
        Cron = self.env["ir.cron"]
        done = self.browse()
        domain = [("quality_due", "=", True)]
        remaining = self.sudo().search_count(domain)
        while remaining:
            batch = self.sudo().search(domain, order="id", limit=QUALITY_BATCH)
            if not batch:
                break
            for conversation in batch:
                conversation._quality_score()
                conversation._detect_repeat()
            batch.write({"quality_due": False})
            done |= batch
            remaining = self.sudo().search_count(domain)
            if in_cron and Cron._commit_progress(len(batch), remaining=remaining) <= 0:
                break
        return done
