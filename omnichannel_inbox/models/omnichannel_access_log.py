from datetime import timedelta

from odoo import api, fields, models

#: A user reading the same conversation again within this delay adds no row:
#: the log says who looked, not every refresh of the page.
ACCESS_LOG_THROTTLE = timedelta(minutes=10)


class OmnichannelAccessLog(models.Model):
    """Who opened which conversation, and when (form or chat panel).
    Readable by Omnichannel managers; nobody edits it."""

    _name = "omnichannel.access.log"
    _description = "Conversation Access Log"
    _order = "date desc, id desc"
    _log_access = False

    date = fields.Datetime(
        required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="User",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    conversation_id = fields.Many2one(
        "omnichannel.conversation",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    partner_id = fields.Many2one(
        related="conversation_id.partner_id", string="Customer"
    )
    company_id = fields.Many2one(
        related="conversation_id.company_id", store=True, index=True
    )
    origin = fields.Selection(
        [("form", "Conversation form"), ("panel", "Chat panel"), ("inbox", "Inbox")],
        readonly=True,
    )

    @api.model
    def _log(self, conversations, origin):
        """Record that the current user opened ``conversations``."""
        if not conversations or self.env.su or not self.env.user._is_internal():
            return
        # On a database with a read-only replica, a form is read there; this
        # write makes Odoo run the read again on the primary, so the audit
        # row is never skipped (at the cost of that second read).
        since = fields.Datetime.now() - ACCESS_LOG_THROTTLE
        Log = self.sudo()
        recent = Log.search(
            [
                ("user_id", "=", self.env.uid),
                ("conversation_id", "in", conversations.ids),
                ("date", ">=", since),
            ]
        ).conversation_id
        new = conversations - recent
        if new:
            Log.create(
                [
                    {
                        "user_id": self.env.uid,
                        "conversation_id": conversation.id,
                        "origin": origin,
                    }
                    for conversation in new
                ]
            )
