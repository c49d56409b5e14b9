from datetime import timedelta

from odoo import api, fields, models

#: A person gets at most one response-time pop-up this often; what happens
#: meanwhile waits and comes in the next one, counted.
POPUP_EVERY = timedelta(minutes=1)
POPUP = "omnichannel/sla_notice"


class OmnichannelSlaPopup(models.Model):
    """A response-time pop-up owed to a person.

    The SLA steps queue one row per person and conversation; at the end of
    the cron run each person gets ONE grouped notification ("3 customers
    waiting"), not sticky, and then nothing more for a minute: rows queued
    meanwhile wait for the next run, which the queue wakes.  Sent rows are
    kept for that minute (they date the person's last pop-up), then deleted.
    Only the pop-up is queued: the notes, flags and figures of the steps are
    written as before."""

    _name = "omnichannel.sla.popup"
    _description = "Response-time pop-up to send"
    _order = "id"

    user_id = fields.Many2one(
        "res.users", "Person to notify", required=True, index=True, ondelete="cascade"
    )
    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade"
    )
    kind = fields.Selection(
        [("warn", "Warning"), ("breach", "Breach"), ("reassign", "Reassignment")],
        string="Pop-up kind",
        required=True,
    )
    title = fields.Char("Pop-up title", required=True)
    message = fields.Text("Pop-up text", required=True)
    sent_date = fields.Datetime("Sent on", index="btree_not_null")

    @api.model
    def _queue(self, users, conversation, kind, title, message):
        self.sudo().create(
            [
                {
                    "user_id": user.id,
                    "conversation_id": conversation.id,
                    "kind": kind,
                    "title": title,
                    "message": message,
                }
                for user in users
            ]
        )

    @api.model
    def _send_due(self):
        """Send each person's pending pop-ups as one, unless they had one in
        the last minute (then wake the cron when the minute is over)."""
        Popup = self.sudo()
        now = fields.Datetime.now()
        Popup.search([("sent_date", "<=", now - POPUP_EVERY)]).unlink()
        pending = Popup.search([("sent_date", "=", False)])
        later = []
        for user in pending.user_id:
            last = Popup.search(
                [("user_id", "=", user.id), ("sent_date", "!=", False)],
                order="sent_date desc",
                limit=1,
            )
            if last:
                later.append(last.sent_date + POPUP_EVERY)
                continue
            rows = pending.filtered(lambda r, u=user: r.user_id == u)
            user._bus_send(POPUP, rows._notice_values(user))
            rows.sent_date = now
        if later:
            self.env.ref("omnichannel_inbox.ir_cron_omnichannel_sla").sudo()._trigger(
                min(later)
            )

    def _notice_values(self, user):
        """One notification for ``self``, the pending rows of ``user``."""
        conversations = self.conversation_id
        kinds = set(self.mapped("kind"))
        if kinds == {"breach"}:
            inbox_filter = "breached"
        elif "breach" in kinds:
            inbox_filter = "waiting"
        else:
            inbox_filter = "mine"
        if len(conversations) == 1:
            title, message = self[-1].title, self[-1].message
        else:
            _ = self.with_context(lang=user.lang).env._
            title = (
                _("Response time breached")
                if "breach" in kinds
                else _("Customers waiting")
            )
            message = _(
                "%(count)s customers waiting — open the inbox",
                count=len(conversations),
            )
        return {
            "type": "danger" if "breach" in kinds else "warning",
            "title": title,
            "message": message,
            "sticky": False,
            "count": len(conversations),
            "filter": inbox_filter,
            "conversation_ids": conversations.ids,
        }
