from textwrap import shorten

from odoo import api, fields, models
from odoo.tools import SQL, html2plaintext

from .omnichannel_message import PANEL_PAGE

#: The inbox's quick filters: key -> domain (on top of the reader's access
#: rules: a salesperson sees their own conversations and the unassigned ones
#: of their teams, a team leader their teams', a manager all).
INBOX_FILTERS = ("waiting", "mine", "unassigned", "breached", "customer", "closed")
INBOX_PAGE = 80
PREVIEW_LENGTH = 90


class OmnichannelConversation(models.Model):
    """What the salesperson's inbox and the sales head's journal need of a
    conversation: tags, the lead's stage, the current wait, unread counts."""

    _inherit = "omnichannel.conversation"

    tag_ids = fields.Many2many("omnichannel.conversation.tag", string="Tags")
    # Not tracked (a related field takes its target's tracking): the lead's
    # chatter tells its stage; tracking it here read the whole lead on every
    # write of a conversation, i.e. on every message.
    lead_stage_id = fields.Many2one(
        related="lead_id.stage_id", string="Lead stage", tracking=False
    )
    waiting_hours = fields.Float(
        "Waiting",
        compute="_compute_waiting_hours",
        aggregator="avg",
        help="How long the customer has been waiting for an answer (hours), while the "
        "conversation waits for us.",
    )

    @api.depends("state", "waiting_since")
    def _compute_waiting_hours(self):
        now = fields.Datetime.now()
        for conversation in self:
            since = conversation.waiting_since
            conversation.waiting_hours = (
                (now - since).total_seconds() / 3600
                if since and conversation.state == "open" and since < now
                else 0.0
            )

    def _field_to_sql(self, alias, field_expr, query=None):
        # The wait is computed from a stored column, so the journal can sort
        # and average it in SQL.
        if field_expr == "waiting_hours":
            return SQL(
                "CASE WHEN %(state)s = 'open' THEN EXTRACT(EPOCH FROM (NOW() AT TIME "
                "ZONE 'UTC') - %(since)s) / 3600.0 END",
                state=super()._field_to_sql(alias, "state", query),
                since=super()._field_to_sql(alias, "waiting_since", query),
            )
        return super()._field_to_sql(alias, field_expr, query)

    # ------------------------------------------------------------------
    # Unified inbox
    # ------------------------------------------------------------------
    @api.model
    def _inbox_domain(self, inbox_filter):
        now = fields.Datetime.now()
        return {
            "waiting": [("state", "=", "open")],
            "mine": [("state", "=", "open"), ("user_id", "=", self.env.uid)],
            "unassigned": [("state", "=", "open"), ("user_id", "=", False)],
            "breached": [("state", "=", "open"), ("sla_deadline", "<", now)],
            "customer": [("state", "=", "waiting")],
            "closed": [("state", "=", "closed")],
        }[inbox_filter]

    @api.model
    def inbox_fetch(
        self, inbox_filter="waiting", search="", tag_ids=None, limit=INBOX_PAGE
    ):
        """The conversations of one quick filter, longest waiting first, with
        what the inbox list shows, and the count of every quick filter."""
        if inbox_filter not in INBOX_FILTERS:
            inbox_filter = "waiting"
        extra = []
        if search:
            extra += [
                "|",
                "|",
                "|",
                ("partner_id", "ilike", search),
                ("channel_id", "ilike", search),
                ("lead_id", "ilike", search),
                ("tag_ids", "ilike", search),
            ]
        if tag_ids:
            extra += [("tag_ids", "in", [int(t) for t in tag_ids])]
        conversations = self.search(
            self._inbox_domain(inbox_filter) + extra,
            order="waiting_since ASC NULLS LAST, last_message_date DESC NULLS LAST, id "
            "DESC",
            limit=max(1, min(int(limit or INBOX_PAGE), 200)),
        )
        return {
            "conversations": conversations._inbox_values(),
            "counts": {
                key: self.search_count(self._inbox_domain(key) + extra)
                for key in INBOX_FILTERS
            },
            "tags": self.env["omnichannel.conversation.tag"].search_read(
                [], ["name", "color"]
            ),
        }

    def _inbox_values(self):
        if not self:
            return []
        unread = self._unread_counts()
        previews = self._last_message_previews()
        now = fields.Datetime.now()
        channel_types = dict(
            self._fields["channel_type"]._description_selection(self.env)
        )
        speakers = dict(self._fields["last_speaker"]._description_selection(self.env))
        # The reader may see these conversations (they were searched with
        # their rights); what the list shows of their lead and customer is
        # part of them, even when the lead belongs to a colleague.
        return [
            {
                "id": c.id,
                "customer": c.partner_id.name or "",
                "channel_name": c.channel_id.name,
                "channel_type": c.channel_type,
                "channel_icon": c.channel_id.channel_icon,
                "channel_type_label": channel_types.get(c.channel_type, ""),
                "user_id": c.user_id.id or False,
                "user_name": c.user_id.name or "",
                "team_name": c.team_id.name or "",
                "lead_id": c.lead_id.id or False,
                "lead_name": c.lead_id.name or "",
                "lead_stage": c.lead_id.stage_id.name or "",
                "state": c.state,
                "last_speaker": c.last_speaker or False,
                "last_speaker_label": speakers.get(c.last_speaker, ""),
                "waiting_since": fields.Datetime.to_string(c.waiting_since)
                if c.state == "open" and c.waiting_since
                else False,
                "sla_deadline": fields.Datetime.to_string(c.sla_deadline)
                if c.state == "open" and c.sla_deadline
                else False,
                "sla_breached": bool(
                    c.state == "open" and c.sla_deadline and c.sla_deadline < now
                ),
                "last_message_date": fields.Datetime.to_string(c.last_message_date)
                if c.last_message_date
                else False,
                "preview": previews.get(c.id, ""),
                "unread": unread.get(c.id, 0),
                "tags": [
                    {"id": t.id, "name": t.name, "color": t.color} for t in c.tag_ids
                ],
            }
            for c in self.sudo()
        ]

    def _last_message_previews(self):
        self.env["omnichannel.message"].flush_model(
            ["conversation_id", "date", "mail_message_id"]
        )
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT ON (m.conversation_id) m.conversation_id, mm.body
              FROM omnichannel_message m
              JOIN mail_message mm ON mm.id = m.mail_message_id
             WHERE m.conversation_id = ANY(%s)
          ORDER BY m.conversation_id, m.date DESC, m.id DESC
        """,
                self.ids,
            )
        )
        return {
            cid: shorten(html2plaintext(body or ""), PREVIEW_LENGTH, placeholder="...")
            for cid, body in self.env.cr.fetchall()
        }

    def _unread_counts(self, user=None):
        """Customer messages of each conversation that ``user`` has not been
        shown yet and that no answer of a person (reply, call) followed."""
        user = user or self.env.user
        self.env["omnichannel.message"].flush_model(
            [
                "conversation_id",
                "direction",
                "author_kind",
                "message_type",
                "response_user_id",
            ]
        )
        self.env["omnichannel.conversation.seen"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT m.conversation_id, COUNT(*)
              FROM omnichannel_message m
         LEFT JOIN omnichannel_conversation_seen s ON s.conversation_id =
             m.conversation_id AND s.user_id = %(uid)s
             WHERE m.conversation_id = ANY(%(ids)s) AND m.direction = 'in'
               AND m.id > COALESCE(s.message_id, 0)
               AND m.id > COALESCE((SELECT MAX(r.id) FROM omnichannel_message r
                                     WHERE r.conversation_id = m.conversation_id
                                       AND (r.response_user_id IS NOT NULL
                                            OR (r.author_kind = 'employee' AND
                                                r.message_type != 'call'))), 0)
          GROUP BY m.conversation_id
        """,
                uid=user.id,
                ids=self.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    def _mark_seen(self, user=None):
        """Everything these conversations hold now has been shown to ``user``."""
        if not self:
            return
        user = user or self.env.user
        self.env["omnichannel.message"].flush_model(["conversation_id"])
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO omnichannel_conversation_seen (conversation_id, user_id,
                message_id)
                 SELECT c.id, %(uid)s, COALESCE((SELECT MAX(m.id) FROM
                     omnichannel_message m
                                                   WHERE m.conversation_id = c.id), 0)
                   FROM omnichannel_conversation c
                  WHERE c.id = ANY(%(ids)s)
            ON CONFLICT (conversation_id, user_id)
              DO UPDATE SET message_id =
                  GREATEST(omnichannel_conversation_seen.message_id,
                      EXCLUDED.message_id)
        """,
                uid=user.id,
                ids=self.ids,
            )
        )
        self.env["omnichannel.conversation.seen"].invalidate_model()

    @api.model
    def inbox_read(self, ids):
        """What the inbox shows of these conversations (the open one may have
        left the current filter)."""
        return self.search([("id", "in", [int(i) for i in ids])])._inbox_values()

    # Who handles a conversation and whether it waits change what every
    # open inbox and counter shows: tell them.
    def _assign(self, user, reason):
        result = super()._assign(user, reason)
        self._notify_panel()
        return result

    def action_close(self):
        result = super().action_close()
        self._notify_panel()
        return result

    def action_reopen(self):
        result = super().action_reopen()
        self._notify_panel()
        return result

    @api.model
    def inbox_counter(self):
        """Conversations waiting for the current user: the systray counter."""
        return self.search_count(self._inbox_domain("mine"))

    def action_open_inbox_form(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }


class OmnichannelConversationSeen(models.Model):
    """How far each user has read each conversation: the newest channel
    message id they were shown.  The inbox counts as unread the customer
    messages after it that no reply of a person followed yet."""

    _name = "omnichannel.conversation.seen"
    _description = "Conversation Read Marker"
    _log_access = False

    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade", index=True
    )
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    message_id = fields.Integer("Last message seen", required=True, default=0)

    _conversation_user_unique = models.UniqueIndex("(conversation_id, user_id)")


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    @api.model
    def panel_fetch(self, res_model, res_id, before_id=None, limit=PANEL_PAGE):
        result = super().panel_fetch(
            res_model, res_id, before_id=before_id, limit=limit
        )
        if not before_id and result.get("conversations"):
            # What a chat panel shows is read: the inbox's unread counters drop.
            self.env["omnichannel.conversation"].browse(
                [c["id"] for c in result["conversations"]]
            )._mark_seen()
        return result
