from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models


class CrmLead(models.Model):
    """Periodic check-ins on long-running leads that have a conversation."""

    _inherit = "crm.lead"

    omnichannel_checkin_date = fields.Datetime(
        "Next check-in",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="A check-in activity is planned then if nobody spoke with the customer nor planned anything.",
    )

    def _omnichannel_push_checkin(self, date):
        """A message was exchanged at ``date``: the next check-in is a full period later."""
        Conversation = self.env["omnichannel.conversation"]
        if not self or not Conversation._followup_setting("checkins"):
            return
        days = Conversation._followup_setting("checkin_days")
        self.sudo().write({"omnichannel_checkin_date": date + timedelta(days=days)})

    @api.model
    def _omnichannel_cron_checkins(self, now, limit):
        Conversation = self.env["omnichannel.conversation"]
        leads = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("omnichannel_checkin_date", "<=", now)],
                order="omnichannel_checkin_date, id",
                limit=limit,
            )
        )
        if not Conversation._followup_setting("checkins"):
            leads.write({"omnichannel_checkin_date": False})
            return leads
        days = Conversation._followup_setting("checkin_days")
        for lead in leads:
            if not lead.active or lead.won_status != "pending":
                lead.omnichannel_checkin_date = False
                continue
            lead.omnichannel_checkin_date = now + timedelta(days=days)
            if lead.activity_ids or not lead.user_id:
                continue
            last = (
                self.env["omnichannel.message"]
                .sudo()
                .search(
                    [("lead_id", "=", lead.id)], order="date desc, id desc", limit=1
                )
            )
            note = Markup("<p>%s</p>") % self.env._(
                "No message with the customer for %s days and nothing planned: check in.",
                days,
            )
            if last:
                note += Markup('<p><a href="/mail/message/%s">%s</a></p>') % (
                    last.mail_message_id.id,
                    self.env._(
                        "Last message (%s)", fields.Datetime.to_string(last.date)[:16]
                    ),
                )
            lead.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=fields.Date.context_today(lead),
                summary=self.env._("Check in with the customer"),
                note=note,
                user_id=lead.user_id.id,
                omnichannel_message_id=last.id or False,
                omnichannel_followup_kind="checkin",
            )
        return leads
