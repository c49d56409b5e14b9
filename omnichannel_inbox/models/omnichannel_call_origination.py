from datetime import timedelta

from odoo import api, fields, models

#: ir.config_parameter: click-to-call requests one user may send to the phone
#: system per hour (0: no limit)
RATE_PARAM = "omnichannel_inbox.click_to_call_per_hour"
DEFAULT_PER_HOUR = 30
RATE_WINDOW = timedelta(hours=1)


class OmnichannelCallOrigination(models.Model):
    """Every click-to-call request: who asked, when, to which number, through
    which line and with what result (placed, refused by the phone system, or
    refused by Odoo and why).  Calls are placed on the company's bill: this is
    what a manager reads after a toll-fraud alert.  Readable by Omnichannel
    managers; nobody edits it."""

    _name = "omnichannel.call.origination"
    _description = "Click-to-call Request"
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
    company_id = fields.Many2one(
        "res.company", readonly=True, index=True, ondelete="cascade"
    )
    channel_id = fields.Many2one(
        "omnichannel.channel", string="Phone line", readonly=True, ondelete="set null"
    )
    record_ref = fields.Char(
        "Called from", readonly=True, help="The record the call was asked from."
    )
    extension = fields.Char(readonly=True)
    number = fields.Char(
        "Number", readonly=True, help="The number to call (E.164 when it was valid)."
    )
    result = fields.Selection(
        [
            ("placed", "Placed"),
            ("failed", "Refused by the phone system"),
            ("refused", "Refused by Odoo"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    reason = fields.Char(readonly=True)
    call_id = fields.Many2one(
        "omnichannel.call", string="Call", readonly=True, ondelete="set null"
    )

    @api.model
    def _record(self, result, reason="", **values):
        user = self.env.user
        return self.sudo().create(
            dict(
                values,
                user_id=user.id,
                result=result,
                reason=(reason or "")[:500],
                company_id=values.get("company_id") or user.company_id.id,
            )
        )

    @api.model
    def _limit_problem(self, user):
        """Why ``user`` may not place one more call now (the per-user hourly
        limit), or ''.  Only requests that reached the phone system count."""
        limit = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(RATE_PARAM, DEFAULT_PER_HOUR)
            or 0
        )
        if limit <= 0:
            return ""
        # Two clicks at once in two workers must not both pass the count.
        self.env["omnichannel.identity"].sudo()._lock(
            "omnichannel-click-to-call", user.id
        )
        since = fields.Datetime.now() - RATE_WINDOW
        recent = self.sudo().search(
            [
                ("user_id", "=", user.id),
                ("result", "in", ("placed", "failed")),
                ("date", ">=", since),
            ],
            order="date asc",
        )
        if len(recent) < limit:
            return ""
        free_at = recent[len(recent) - limit].date + RATE_WINDOW
        return self.env._(
            "You have placed %(count)s calls in the last hour: the limit set by your "
            "administrator "
            "is %(limit)s an hour. You can call again after %(time)s.",
            count=len(recent),
            limit=limit,
            time=fields.Datetime.context_timestamp(
                self.with_context(tz=user.tz or "UTC"), free_at
            ).strftime("%H:%M"),
        )
