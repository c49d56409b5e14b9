import textwrap

from markupsafe import Markup

from odoo import fields, models
from odoo.tools import html2plaintext

#: Characters of the customer's message an alert quotes.
EXCERPT_LENGTH = 200


class OmnichannelConversationAlerts(models.Model):
    """Alerts about a customer's message: the owner of the conversation, or,
    while it waits in a team queue, the team's available members, get one
    Odoo inbox notification per wait for an answer (mail pushes it to their
    registered browsers), authored by OdooBot, in each reader's language,
    as their ``omnichannel_alerts`` preference allows.

    The alert is the one notification staff get about customers' messages:
    a customer's message posted on the conversation no longer notifies its
    internal followers one by one (the owner follows it), which would be
    one notification, push or e-mail per message of a burst."""

    _inherit = "omnichannel.conversation"

    alert_wait_date = fields.Datetime(
        "Alerted wait",
        readonly=True,
        copy=False,
        help="The start of the wait (Waiting Since) the last alert was about.",
    )
    alert_user_id = fields.Many2one(
        "res.users",
        string="Alerted owner",
        readonly=True,
        copy=False,
        help="Who owned the conversation at the last alert (empty: its team queue).",
    )

    def _after_inbound(self, message):
        # Routing (in super) may give the conversation and its lead to
        # someone: the alert tells them, with the customer's words, instead
        # of Odoo's generic "You have been assigned to..." for each record.
        super(
            OmnichannelConversationAlerts,
            self.with_context(mail_auto_subscribe_no_notify=True),
        )._after_inbound(message)
        self._alert_on_inbound(message)

    def _register_outbound(self, message):
        super()._register_outbound(message)
        if message.author_kind == "employee" and self.alert_wait_date:
            # A person answered: the customer's next message starts a new
            # wait, even within the same second as the last one.
            self.sudo().alert_wait_date = False

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        if len(self) != 1 or not recipients:
            return recipients
        msg_vals = msg_vals or {}
        author_id = (
            msg_vals["author_id"]
            if "author_id" in msg_vals
            else message.sudo().author_id.id
        )
        if author_id != self.partner_id.id:
            return recipients
        # The customer's own message: staff hear of it through the alert.
        return [r for r in recipients if not r["uid"] or r["share"]]

    def _customer_post_notifies(self):
        # Internal followers are not notified of the customer's message (see
        # _notify_get_recipients): only another kind of follower (a portal
        # user, a contact), or an out-of-office answer of Odoo's (someone
        # internal away now), needs mail's notification pass.
        self.ensure_one()
        self.env.cr.execute(
            """
            SELECT 1
              FROM mail_followers f
             WHERE f.res_model = %(model)s AND f.res_id = %(id)s
               AND NOT EXISTS (
                    SELECT 1 FROM res_users u
                     WHERE u.partner_id = f.partner_id AND u.active AND NOT u.share)
            UNION ALL
            SELECT 1
              FROM res_users u
             WHERE u.out_of_office_from <= %(now)s
               AND (u.out_of_office_to IS NULL OR u.out_of_office_to >= %(now)s)
             LIMIT 1
            """,
            {"model": self._name, "id": self.id, "now": fields.Datetime.now()},
        )
        return bool(self.env.cr.fetchone())

    def _alert_on_inbound(self, message):
        """Alert who must answer ``message``: once per wait and owner.  No
        query when the wait was alerted already (a burst of messages)."""
        self.ensure_one()
        wait = self.waiting_since
        owner = self.user_id
        if not wait or (
            self.alert_wait_date
            and self.alert_wait_date >= wait
            and self.alert_user_id == owner
        ):
            return
        if owner:
            users = owner.filtered(
                lambda u: u.active and not u.share and u.omnichannel_alerts != "none"
            )
            if not users:
                return
        else:
            users = self._alert_queue_users()
        # Recorded even when nobody in the queue could be told: the members'
        # availability is not re-checked at every message of the wait.
        self.sudo().write({"alert_wait_date": wait, "alert_user_id": owner.id})
        if users:
            self._alert_send(users, message)

    def _alert_queue_users(self):
        """The team's members who could take the conversation now (as routing
        sees it: active, switch on, not on leave, within working hours) and
        want alerts about the queue."""
        self.ensure_one()
        now = fields.Datetime.now()
        company = self.company_id
        return self.team_id.member_ids.filtered(
            lambda u: (
                u.omnichannel_alerts == "all"
                and (not company or company in u.company_ids)
                and u._omnichannel_is_available(now)
            )
        )

    def _alert_send(self, users, message):
        """One inbox notification per reader's language, on the lead (where
        salespeople work; the conversation without a lead)."""
        self.ensure_one()
        record = (self.lead_id or self).sudo()
        excerpt = textwrap.shorten(
            html2plaintext(message.body or "") or "…",
            EXCERPT_LENGTH,
            placeholder="…",
        )
        by_lang = {}
        for user in users:
            lang = self._reader_lang(user)
            by_lang[lang] = by_lang.get(lang, users.browse()) | user
        bot_id = self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root")
        for lang, readers in by_lang.items():
            told = record.with_context(lang=lang)
            values = {
                "customer": self.partner_id.name,
                "channel": self.channel_id.name,
                "team": self.team_id.name or told.env._("no team"),
            }
            if self.user_id:
                title = told.env._("%(customer)s wrote to you on %(channel)s", **values)
            else:
                title = told.env._(
                    "%(customer)s is waiting in the queue of %(team)s (%(channel)s)",
                    **values,
                )
            told.message_notify(
                body=Markup("<p>%s:</p><blockquote>%s</blockquote>") % (title, excerpt),
                subject=title,
                author_id=bot_id,
                partner_ids=readers.partner_id.ids,
                email_layout_xmlid="mail.mail_notification_light",
            )
