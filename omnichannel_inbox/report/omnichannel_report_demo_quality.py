from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import html2plaintext


class OmnichannelDashboard(models.AbstractModel):
    _inherit = "omnichannel.dashboard"

    @api.model
    def _demo_quality(self):
        """Demo data of the quality reports, on top of ``_demo_history``:
        a few sloppy answers, customers who come back on the Sandbox chat
        with the question they asked in Telegram, most conversations closed
        and scored by the quality cron, one score overridden by a manager."""
        Conversation = self.env["omnichannel.conversation"]
        sandbox = self.env.ref("omnichannel_inbox.demo_channel_sandbox")
        telegram = self.env.ref("omnichannel_inbox.demo_channel_telegram")
        now = fields.Datetime.now()
        history = Conversation.search(
            [
                ("channel_id", "in", (sandbox | telegram).ids),
                ("first_response_date", "!=", False),
            ],
            order="id",
        )
        for conversation in history[1::4]:
            last = conversation.last_message_date
            user = conversation.user_id or self.env.ref("base.user_admin")
            self._demo_reply(
                conversation,
                last + timedelta(minutes=7),
                user,
                "Не знаю, ждите ответа.",
            )
        # customers who had to ask again, two days later, on the other channel
        autoreply = sandbox.autoreply_enabled
        sandbox.autoreply_enabled = False
        for index, previous in enumerate(
            history.filtered(lambda c: c.channel_id == telegram)[:6]
        ):
            come_back = previous.last_message_date + timedelta(days=2)
            if come_back >= now:
                continue
            first = previous.omnichannel_message_ids.filtered(
                lambda m: m.direction == "in"
            ).sorted("date")[:1]
            again = self._demo_conversation(
                sandbox, previous.partner_id, f"demo-again-{index}"
            )
            question = (
                html2plaintext(first.body or "").strip() or "Сколько стоит доставка?"
            )
            self._demo_customer_says(
                again, come_back, question if index % 3 else "Хочу оформить возврат"
            )
            self._demo_reply(
                again,
                come_back + timedelta(minutes=15),
                self.env.ref("base.user_demo"),
                "Здравствуйте! Сейчас уточню и вернусь с ответом. Вам удобно по телефону?",
            )
        sandbox.autoreply_enabled = autoreply
        closing = Conversation.search(
            [("channel_id", "in", (sandbox | telegram).ids)], order="id"
        )
        closing.filtered(lambda c: c.id % 5).action_close()
        Conversation._cron_quality()
        review = self.env["omnichannel.quality.review"].search(
            [("failed_count", ">", 0)], limit=1
        )
        if review:
            review.with_user(self.env.ref("base.user_admin")).action_override(
                min(100.0, review.auto_score + 20),
                "The customer only asked for a price: no next step was needed.",
            )
        return closing
