from odoo import api, fields, models


class ResourceCalendarLeaves(models.Model):
    """A salesperson's leave hands their work over when it starts."""

    _inherit = "resource.calendar.leaves"

    omnichannel_handover_done = fields.Boolean(
        "Work handed over",
        readonly=True,
        copy=False,
        help="The conversations, leads and follow-ups of the person on leave went to "
        "their substitute.",
    )

    _omnichannel_handover_idx = models.Index(
        "(date_from) WHERE omnichannel_handover_done IS NOT TRUE AND resource_id IS "
        "NOT NULL"
    )

    @api.model_create_multi
    def create(self, vals_list):
        leaves = super().create(vals_list)
        leaves._omnichannel_schedule_handover()
        return leaves

    def write(self, vals):
        result = super().write(vals)
        if {"date_from", "date_to", "resource_id", "time_type"} & set(vals):
            self._omnichannel_schedule_handover()
        return result

    def _omnichannel_schedule_handover(self):
        """Hand over now for a leave that has begun, or wake the cron when it begins."""
        now = fields.Datetime.now()
        todo = self.filtered(
            lambda leave: (
                leave.resource_id.user_id
                and leave.time_type == "leave"
                and not leave.omnichannel_handover_done
                and leave.date_to > now
            )
        )
        started = todo.filtered(lambda leave: leave.date_from <= now)
        started._omnichannel_handover()
        cron = self.env.ref(
            "omnichannel_inbox.ir_cron_omnichannel_handover", raise_if_not_found=False
        )
        for leave in todo - started:
            if cron:
                cron.sudo()._trigger(leave.date_from)

    def _omnichannel_handover(self):
        for leave in self:
            user = leave.resource_id.user_id
            leave.sudo().omnichannel_handover_done = True
            conversations = (
                self.env["omnichannel.conversation"]
                .sudo()
                .search([("user_id", "=", user.id), ("state", "!=", "closed")])
            )
            user._omnichannel_handover(
                self.env._(
                    "on leave until %s", fields.Datetime.to_string(leave.date_to)[:16]
                )
            )
            self.env["omnichannel.conversation.transfer"]._record_leave_handover(
                user, conversations, leave.date_to
            )

    @api.model
    def _cron_omnichannel_handover(self):
        """Leaves that have begun and were not handed over yet (indexed: the
        work grows with the leaves starting, not with all leaves)."""
        now = fields.Datetime.now()
        leaves = self.sudo().search(
            [
                ("omnichannel_handover_done", "!=", True),
                ("resource_id", "!=", False),
                ("resource_id.user_id", "!=", False),
                ("time_type", "=", "leave"),
                ("date_from", "<=", now),
                ("date_to", ">", now),
            ],
            limit=200,
        )
        leaves._omnichannel_handover()
        # The same clock gives back the customers of those whose leave ended.
        self.env["omnichannel.conversation.transfer"]._return_after_leave()
        return leaves
