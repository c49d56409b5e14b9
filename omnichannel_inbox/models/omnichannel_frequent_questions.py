import html
import re
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..services.text_similarity import group_similar, normalize

_TAG_RE = re.compile(r"<[^>]+>")
#: Groups shown at most; the rest is the long tail nobody reads.
FREQUENT_LIMIT = 50


def _plain(body):
    # Customers' messages are stored as escaped text in <p>/<br>: a regex
    # is enough, and 100,000 of them take a fraction of lxml's time.
    return html.unescape(_TAG_RE.sub(" ", body or "")).strip()


class OmnichannelFrequentQuestions(models.TransientModel):
    """The questions customers ask most over a period, alike texts grouped
    together (see ``services.text_similarity.group_similar``).  Messages are
    read as the user: each sees the groups of the conversations they may read."""

    _name = "omnichannel.frequent.questions"
    _description = "Frequent questions"

    date_from = fields.Date(
        "From",
        required=True,
        default=lambda self: fields.Date.today() - timedelta(days=30),
    )
    date_to = fields.Date("To", required=True, default=fields.Date.today)
    channel_id = fields.Many2one(
        "omnichannel.channel", "Channel account", help="Empty: every channel."
    )
    threshold = fields.Integer(
        "Similarity (%)",
        default=80,
        required=True,
        help="How alike two questions must be to be counted together.",
    )
    min_count = fields.Integer("Asked at least", default=2, required=True)
    line_ids = fields.One2many(
        "omnichannel.frequent.questions.line", "wizard_id", "Questions", readonly=True
    )
    message_count = fields.Integer("Messages read", readonly=True)

    def _message_domain(self):
        domain = [
            ("direction", "=", "in"),
            ("author_kind", "=", "customer"),
            ("message_type", "=", "text"),
            ("date", ">=", fields.Datetime.to_datetime(self.date_from)),
            (
                "date",
                "<",
                fields.Datetime.to_datetime(self.date_to) + timedelta(days=1),
            ),
        ]
        if self.channel_id:
            domain.append(("channel_id", "=", self.channel_id.id))
        return domain

    @api.model
    def _group_messages(self, messages, threshold=80):
        """``[(text, [message ids])]`` of ``messages``, biggest group first,
        and ``{message id: (conversation id, plain text)}``."""
        if not messages:
            return [], {}
        # bodies in one query: the user may read these messages (record
        # rules applied by the search that found them), their bodies follow
        self.env.cr.execute(
            "SELECT o.id, o.conversation_id, m.body FROM omnichannel_message o JOIN "
            "mail_message m "
            "ON m.id = o.mail_message_id WHERE o.id = ANY(%s) ORDER BY o.date, o.id",
            [messages.ids],
        )
        rows = {
            mid: (conversation_id, _plain(body))
            for mid, conversation_id, body in self.env.cr.fetchall()
        }
        return group_similar(
            [(mid, row[1]) for mid, row in rows.items()], threshold=threshold
        ), rows

    def action_compute(self):
        self.ensure_one()
        messages = self.env["omnichannel.message"].search(self._message_domain())
        groups, rows = self._group_messages(messages, self.threshold)
        lines = []
        for text, ids in [g for g in groups if len(g[1]) >= self.min_count][
            :FREQUENT_LIMIT
        ]:
            conversation_id, example_text = rows[ids[0]]
            lines.append(
                (
                    0,
                    0,
                    {
                        "question": example_text or text,
                        "count": len(ids),
                        "conversation_count": len({rows[mid][0] for mid in ids}),
                        "example_message_id": ids[0],
                        "example_conversation_id": conversation_id,
                    },
                )
            )
        self.write({"line_ids": [(5, 0, 0)] + lines, "message_count": len(messages)})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
            "name": self.env._("Frequent questions"),
        }


class OmnichannelFrequentQuestionsLine(models.TransientModel):
    _name = "omnichannel.frequent.questions.line"
    _description = "Frequent question"
    _order = "count desc, id"

    wizard_id = fields.Many2one(
        "omnichannel.frequent.questions", required=True, ondelete="cascade"
    )
    question = fields.Char(readonly=True)
    count = fields.Integer("Times asked", readonly=True)
    conversation_count = fields.Integer("Conversations", readonly=True)
    example_message_id = fields.Many2one("omnichannel.message", readonly=True)
    example_conversation_id = fields.Many2one(
        "omnichannel.conversation", "Example", readonly=True
    )
    answer = fields.Text("Answer", help="The answer to save as a canned response.")
    canned_response_id = fields.Many2one("mail.canned.response", readonly=True)

    def action_open_example(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.conversation",
            "res_id": self.example_conversation_id.id,
            "view_mode": "form",
        }

    def _shortcut(self):
        words = [w for w in normalize(self.question).split() if len(w) > 2][:3] or [
            "faq"
        ]
        base = "-".join(words)[:40]
        shortcut, index = base, 1
        Canned = self.env["mail.canned.response"].sudo()
        while Canned.search_count([("source", "=", shortcut)]):
            index += 1
            shortcut = f"{base}-{index}"
        return shortcut

    def action_make_canned_response(self):
        """Save the answer written beside the question as a canned response
        (``::shortcut`` in the chat panel), the user's own until shared."""
        self.ensure_one()
        if not (self.answer or "").strip():
            raise UserError(self.env._("Write the answer to the question first."))
        response = self.env["mail.canned.response"].create(
            {
                "source": self._shortcut(),
                "substitution": self.answer.strip(),
            }
        )
        self.canned_response_id = response
        return {
            "type": "ir.actions.act_window",
            "res_model": "mail.canned.response",
            "res_id": response.id,
            "view_mode": "form",
            "target": "current",
        }
