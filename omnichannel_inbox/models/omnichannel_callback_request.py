import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.misc import format_datetime

from odoo.addons.omnichannel_inbox import connectors

from .cron_progress import commit_progress

_logger = logging.getLogger(__name__)

#: ir.config_parameter: how many calls are placed for one request before it fails
TRIES_PARAM = "omnichannel_inbox.callback_tries"
DEFAULT_TRIES = 3
#: ir.config_parameter: minutes between two attempts (unanswered or refused)
RETRY_MINUTES_PARAM = "omnichannel_inbox.callback_retry_minutes"
DEFAULT_RETRY_MINUTES = 5
#: a queued request (nobody free) is looked at again this soon
QUEUE_RECHECK = timedelta(minutes=1)
#: a call placed for a request with no news for this long counts as unanswered
ATTEMPT_TIMEOUT = timedelta(minutes=10)
OPEN_STATES = ("queued", "calling", "scheduled")


class OmnichannelCallbackRequest(models.Model):
    """A visitor of the website asked to be called back.

    In the line's business hours the phone system calls a free operator
    first, then the visitor (the line's click-to-call path); when nobody is
    free the request waits in the queue; an unanswered or refused call is
    tried again per the policy (settings: tries, minutes apart); outside
    hours the first call is scheduled at the next opening.  Every attempt is
    written in the lead's history and in the click-to-call log."""

    _name = "omnichannel.callback.request"
    _description = "Call-back Request"
    _inherit = ["mail.thread"]
    _order = "request_date desc, id desc"
    _rec_name = "number"

    request_date = fields.Datetime(
        "Ordered", required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True
    )
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Phone line",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
    )
    source_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Ordered on",
        readonly=True,
        ondelete="set null",
        help="The website channel (widget or contact form).",
    )
    name = fields.Char("Visitor", readonly=True)
    number = fields.Char("Phone number", required=True, readonly=True, help="E.164")
    lang = fields.Char("Visitor language", readonly=True)
    page_url = fields.Char("Page", readonly=True)
    state = fields.Selection(
        [
            ("queued", "Waiting for an operator"),
            ("calling", "Calling"),
            ("connected", "Connected"),
            ("failed", "Failed"),
            ("scheduled", "Scheduled"),
            ("cancelled", "Cancelled"),
        ],
        required=True,
        default="queued",
        readonly=True,
        index=True,
        tracking=True,
    )
    attempts = fields.Integer(readonly=True)
    next_attempt = fields.Datetime(
        "Next attempt", readonly=True, index="btree_not_null"
    )
    last_error = fields.Char("Last error", readonly=True)
    lead_id = fields.Many2one(
        "crm.lead", readonly=True, index="btree_not_null", ondelete="set null"
    )
    partner_id = fields.Many2one(
        related="lead_id.partner_id", string="Customer", help="The lead's customer."
    )
    user_id = fields.Many2one(
        "res.users", string="Operator", readonly=True, index="btree_not_null"
    )
    call_id = fields.Many2one(
        "omnichannel.call", string="Last call", readonly=True, ondelete="set null"
    )
    call_ids = fields.One2many(
        "omnichannel.call", "callback_request_id", string="Calls", readonly=True
    )
    connected_date = fields.Datetime("Connected on", readonly=True)
    time_to_callback = fields.Float(
        "Time to call back (min)",
        readonly=True,
        aggregator="avg",
        help="Minutes from the order to the visitor answering.",
    )
    ordered_count = fields.Integer("Orders", default=1, readonly=True, aggregator="sum")
    connected_count = fields.Integer(
        "Connected calls", compute="_compute_counts", store=True, aggregator="sum"
    )
    failed_count = fields.Integer(
        "Failed orders", compute="_compute_counts", store=True, aggregator="sum"
    )

    @api.depends("state")
    def _compute_counts(self):
        for request in self:
            request.connected_count = int(request.state == "connected")
            request.failed_count = int(request.state == "failed")

    # ------------------------------------------------------------------
    # The order (public routes call this as superuser, after rate limits)
    # ------------------------------------------------------------------
    @api.model
    def _callback_line(self, company):
        lines = (
            self.env["omnichannel.channel"]
            .sudo()
            .search([("channel_kind", "=", "phone"), ("company_id", "=", company.id)])
        )
        return lines.filtered(lambda c: c._phone_can_originate())[:1]

    @api.model
    def _valid_number(self, number, company):
        return self.env["omnichannel.identity"]._sanitize_phone(
            (number or "").strip(), company
        )

    @api.model
    def _order_callback(self, source_channel, number, name="", lang=None, page_url=""):
        """Take a visitor's order; return (ok, message for the visitor,
        request).  An invalid number is refused and nothing is stored."""
        env = self.with_context(lang=lang or self.env.lang).env
        company = source_channel.company_id
        line = self._callback_line(company)
        if not line:
            return (
                False,
                env._("Call-back orders are not available at the moment."),
                self.browse(),
            )
        number = (number or "").strip()
        if not number:
            return (
                False,
                env._("Please give the phone number we should call you back on."),
                self.browse(),
            )
        e164 = self._valid_number(number, company)
        if not e164:
            return (
                False,
                env._(
                    "%s is not a valid phone number: please check it, with the country "
                    "code.",
                    number[:40],
                ),
                self.browse(),
            )
        request = self.sudo().create(
            {
                "company_id": company.id,
                "channel_id": line.id,
                "source_channel_id": source_channel.id,
                "name": (name or "").strip()[:100],
                "number": e164,
                "lang": lang or False,
                "page_url": (page_url or "")[:500],
            }
        )
        request._attach_lead()
        # The lead's history is in the staff's language, the answer in the visitor's.
        request._log(
            self.env._(
                "Call-back ordered on %(channel)s for %(number)s.",
                channel=source_channel.name,
                number=request._number_label(),
            )
        )
        now = fields.Datetime.now()
        if not line._phone_in_business_hours(now):
            opening = line._phone_next_business_start(now)
            request.write({"state": "scheduled", "next_attempt": opening})
            request._wake(opening)
            request._log(
                self.env._(
                    "Outside business hours: the call is scheduled for %s.",
                    request._time_label(opening, staff=True),
                )
            )
            return (
                True,
                env._(
                    "We are closed now: we will call you back at %s.",
                    request._time_label(opening),
                ),
                request,
            )
        request._attempt()
        if request.state == "calling":
            return (
                True,
                env._("We are calling you now: your phone will ring in a moment."),
                request,
            )
        return True, env._("We will call you back shortly."), request

    def _attach_lead(self):
        """The visitor's identity, conversation and open lead on the line, so
        that the calls land in the same history."""
        self.ensure_one()
        Identity = self.env["omnichannel.identity"].sudo()
        contact = connectors.Contact(
            user_id=self.number, phone=self.number, name=self.name or self.number
        )
        identity = Identity._resolve(self.channel_id, contact)
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo()
            ._get_for_identity(self.channel_id, identity)
        )
        self.lead_id = conversation._ensure_lead()

    def _number_label(self):
        return self.env["omnichannel.call"]._format_number(self.number, self.company_id)

    def _time_label(self, when, staff=False):
        """``when`` (naive UTC) in the line's time zone, in the visitor's
        language (or the current one, for the staff's history)."""
        tz = (
            self.channel_id._phone_calendar().tz
            or self.company_id.partner_id.tz
            or "UTC"
        )
        env = (
            self.env
            if staff
            else self.with_context(lang=self.lang or self.env.lang).env
        )
        return "{} ({})".format(
            format_datetime(env, when, tz=tz, dt_format="EEEE d MMMM, HH:mm"),
            tz,
        )

    def _log(self, text):
        """One line of the request's story, on the request and on the lead."""
        body = Markup("<p>%s</p>") % text
        self.sudo()._message_log(body=body)
        if self.lead_id:
            self.lead_id.sudo()._message_log(body=body)

    def _wake(self, when):
        self.env.ref("omnichannel_inbox.ir_cron_callback_requests").sudo()._trigger(
            when
        )

    @api.model
    def _policy(self):
        params = self.env["ir.config_parameter"].sudo()
        tries = int(params.get_param(TRIES_PARAM, DEFAULT_TRIES) or DEFAULT_TRIES)
        minutes = int(
            params.get_param(RETRY_MINUTES_PARAM, DEFAULT_RETRY_MINUTES)
            or DEFAULT_RETRY_MINUTES
        )
        return max(tries, 1), max(minutes, 0)

    # ------------------------------------------------------------------
    # Attempts
    # ------------------------------------------------------------------
    def _free_operator(self):
        """An Inbox user with an extension, available (routing's notion:
        switch on, not on leave; the line's business hours already decide
        when call-backs are placed), of the line's team when it has one, and
        on no call right now."""
        self.ensure_one()
        line = self.channel_id
        Users = self.env["res.users"].sudo()
        if line.team_id:
            users = line.team_id.member_ids | line.team_id.user_id
        else:
            users = Users.search(
                [("company_ids", "in", self.company_id.ids), ("share", "=", False)]
            )
        users = users.filtered(
            lambda u: (
                u.omnichannel_phone_extension
                and u.has_group("omnichannel_inbox.group_omnichannel_user")
                and u._omnichannel_is_available(
                    fields.Datetime.now(), check_hours=False
                )
            )
        )
        if not users:
            return Users
        busy_calls = (
            self.env["omnichannel.call"]
            .sudo()
            .search(
                [("user_id", "in", users.ids), ("state", "in", ("ringing", "answered"))]
            )
        )
        busy_requests = self.sudo().search(
            [("user_id", "in", users.ids), ("state", "=", "calling")]
        )
        free = users - busy_calls.user_id - busy_requests.user_id
        return free.sorted("id")[:1]

    def _attempt(self):
        """Place one call for the request now, or queue it when nobody is free."""
        self.ensure_one()
        request = self.sudo()
        # One request is called once at a time, whichever worker runs it.
        self.env["omnichannel.identity"].sudo()._lock(
            "omnichannel-callback", request.id
        )
        operator = request._free_operator()
        if not operator:
            if request.state != "queued":
                request._log(
                    self.env._(
                        "Nobody is free to call back: the request waits in the queue."
                    )
                )
            request.write(
                {
                    "state": "queued",
                    "next_attempt": fields.Datetime.now() + QUEUE_RECHECK,
                }
            )
            request._wake(request.next_attempt)
            return False
        extension = operator.omnichannel_phone_extension.strip()
        line = request.channel_id
        Origination = self.env["omnichannel.call.origination"].with_user(operator)
        log = {
            "source": "callback",
            "channel_id": line.id,
            "company_id": request.company_id.id,
            "record_ref": f"{request._name},{request.id}",
            "extension": extension,
            "number": request.number,
        }
        attempt = request.attempts + 1
        try:
            result = line._get_connector().originate(extension, request.number)
        except connectors.ConnectorError as exc:
            reason = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
            _logger.info(
                "Omnichannel: call-back %s not placed through line %s: %s",
                request.id,
                line.id,
                reason,
            )
            Origination._record("failed", reason, **log)
            request.write(
                {
                    "attempts": attempt,
                    "last_error": reason[:250],
                    "user_id": operator.id,
                }
            )
            request._log(
                self.env._(
                    "Attempt %(n)s: the phone system did not place the call: "
                    "%(reason)s",
                    n=attempt,
                    reason=reason,
                )
            )
            request._retry_or_fail()
            return False
        call = (
            self.env["omnichannel.call"]
            .sudo()
            ._register_originated(
                line,
                request.number,
                request.number,
                operator,
                extension,
                result,
                lead=request.lead_id,
            )
        )
        call.callback_request_id = request
        Origination._record("placed", result.message or "", call_id=call.id, **log)
        request.write(
            {
                "state": "calling",
                "attempts": attempt,
                "user_id": operator.id,
                "call_id": call.id,
                "last_error": False,
                "next_attempt": fields.Datetime.now() + ATTEMPT_TIMEOUT,
            }
        )
        request._wake(request.next_attempt)
        request._log(
            self.env._(
                "Attempt %(n)s: %(operator)s (%(extension)s) is called first, then "
                "%(number)s.",
                n=attempt,
                operator=operator.name,
                extension=extension,
                number=request._number_label(),
            )
        )
        return True

    def _retry_or_fail(self):
        tries, minutes = self._policy()
        if self.attempts >= tries:
            self.write({"state": "failed", "next_attempt": False})
            self._log(self.env._("Call-back failed after %s attempts.", self.attempts))
            return
        when = fields.Datetime.now() + timedelta(minutes=minutes)
        self.write({"state": "queued", "next_attempt": when})
        self._wake(when)
        self._log(self.env._("Next attempt at %s.", self._time_label(when, staff=True)))

    def _call_progress(self, call):
        """News of the request's current call (from the phone system's events)."""
        self.ensure_one()
        if self.state != "calling" or call != self.call_id:
            return
        if call.direction == "out" and call.is_answered:
            now = call.answer_date or fields.Datetime.now()
            self.write(
                {
                    "state": "connected",
                    "connected_date": now,
                    "next_attempt": False,
                    "time_to_callback": max(
                        (now - self.request_date).total_seconds(), 0
                    )
                    / 60.0,
                }
            )
            self._log(
                self.env._(
                    "Attempt %(n)s: connected with %(number)s.",
                    n=self.attempts,
                    number=self._number_label(),
                )
            )
        elif call.is_ended or call.state in ("missed", "voicemail"):
            self.last_error = call.disposition or self.env._("not answered")
            self._log(
                self.env._(
                    "Attempt %(n)s: not answered (%(why)s).",
                    n=self.attempts,
                    why=self.last_error,
                )
            )
            self._retry_or_fail()
        if call.is_ended:
            # The operator is free again: queued requests may go on.
            self._wake(fields.Datetime.now())

    @api.model
    def _cron_process(self):
        """Place the calls that are due: scheduled at the opening, queued,
        retried, or whose call never reported back."""
        now = fields.Datetime.now()
        due = self.sudo().search(
            [("state", "in", OPEN_STATES), ("next_attempt", "<=", now)],
            order="next_attempt, id",
            limit=50,
        )
        for request in due:
            if request.state == "calling":
                request.last_error = self.env._(
                    "the phone system never reported the call"
                )
                request._log(
                    self.env._(
                        "Attempt %(n)s: no news of the call.", n=request.attempts
                    )
                )
                request._retry_or_fail()
            elif request.channel_id._phone_in_business_hours(now):
                request._attempt()
            else:
                opening = request.channel_id._phone_next_business_start(now)
                request.write({"state": "scheduled", "next_attempt": opening})
                request._wake(opening)
            # In the scheduler: each request's call is kept even if a later one
            # fails.
            commit_progress(self.env, 1)
        return due

    def action_cancel(self):
        self.filtered(lambda r: r.state in OPEN_STATES).write(
            {"state": "cancelled", "next_attempt": False}
        )
        return True

    def action_retry(self):
        for request in self.filtered(
            lambda r: r.state in ("failed", "queued", "scheduled")
        ):
            request.write(
                {
                    "attempts": 0,
                    "state": "queued",
                    "next_attempt": fields.Datetime.now(),
                }
            )
            request._attempt()
        return True


class OmnichannelCall(models.Model):
    _inherit = "omnichannel.call"

    callback_request_id = fields.Many2one(
        "omnichannel.callback.request",
        string="Call-back order",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )

    def _merge_event(self, event):
        super()._merge_event(event)
        if self.callback_request_id:
            self.callback_request_id._call_progress(self)


class OmnichannelCallOrigination(models.Model):
    _inherit = "omnichannel.call.origination"

    source = fields.Selection(
        [("click", "Click-to-call"), ("callback", "Website call-back")],
        default="click",
        required=True,
        readonly=True,
    )


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_callback_tries = fields.Integer(
        "Call-back tries",
        config_parameter=TRIES_PARAM,
        default=DEFAULT_TRIES,
        help="Calls placed for one website call-back order before it is marked failed.",
    )
    omnichannel_callback_retry_minutes = fields.Integer(
        "Minutes between tries",
        config_parameter=RETRY_MINUTES_PARAM,
        default=DEFAULT_RETRY_MINUTES,
    )


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    def _widget_data(self, company):
        """The widget also offers "Call me back" when a phone line of the
        company can place calls (the order goes to the company's first
        website channel, whose rate limits count it)."""
        data = super()._widget_data(company)
        site = self.sudo().search(
            [("company_id", "=", company.id), ("channel_type", "=", "website")], limit=1
        )
        if site and self.env["omnichannel.callback.request"]._callback_line(company):
            data["callback"] = {
                "url": f"{self._base_url()}/omnichannel/callback/{site.webhook_key}",
                "label": self.env._("Call me back"),
                "placeholder": self.env._("Your phone number"),
                "send": self.env._("Call me"),
            }
        return data
