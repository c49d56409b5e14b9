import secrets
from datetime import timedelta

from odoo import api, fields, models

#: ir.config_parameter: minutes a pool number stays reserved for one website visitor
RESERVATION_PARAM = "omnichannel_inbox.tracking_reservation_minutes"
DEFAULT_RESERVATION_MINUTES = 30
#: how far the phone system's clock may be from ours
CLOCK_SKEW = timedelta(minutes=2)
UTM_FIELDS = ("source_id", "medium_id", "campaign_id")


class OmnichannelTrackingNumber(models.Model):
    """A company phone number that tells where a caller came from.

    Static: the number printed in one campaign carries its UTM source,
    medium and campaign; a call to it puts them on the new lead.  Dynamic:
    numbers of a website channel's pool are shown one per visitor session
    (a reservation keeps the visitor's UTM parameters for a while); a call
    to the number within the reservation brings those to the lead."""

    _name = "omnichannel.tracking.number"
    _description = "Call Tracking Number"
    _order = "sequence, id"

    name = fields.Char(
        "Number", required=True, help="As dialled by customers, e.g. +7 495 123-45-67."
    )
    number_sanitized = fields.Char(
        "Number (E.164)", compute="_compute_number_sanitized", store=True, index=True
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Phone line",
        required=True,
        ondelete="cascade",
        domain=[("channel_kind", "=", "phone")],
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True
    )
    website_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Website pool",
        ondelete="set null",
        domain=[("channel_type", "=", "website")],
        help="Set: the number belongs to the dynamic pool of this website channel and "
        "is shown to one visitor "
        "at a time. Empty: a static number with the UTM below.",
    )
    source_id = fields.Many2one("utm.source", string="Source")
    medium_id = fields.Many2one("utm.medium", string="Medium")
    campaign_id = fields.Many2one("utm.campaign", string="Campaign")
    reservation_ids = fields.One2many(
        "omnichannel.tracking.reservation",
        "number_id",
        string="Reservations",
        readonly=True,
    )
    lead_ids = fields.One2many(
        "crm.lead", "omnichannel_tracking_number_id", string="Leads", readonly=True
    )

    _number_unique = models.Constraint(
        "UNIQUE(number_sanitized)", "A tracking number is registered once."
    )

    @api.depends("name", "channel_id.company_id")
    def _compute_number_sanitized(self):
        for number in self:
            number.number_sanitized = (
                self.env["omnichannel.identity"]._sanitize_phone(
                    number.name or "", number.channel_id.company_id
                )
                or (number.name or "").strip()
                or False
            )

    @api.model
    def _reservation_minutes(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(RESERVATION_PARAM, DEFAULT_RESERVATION_MINUTES)
        )
        return max(int(value or DEFAULT_RESERVATION_MINUTES), 1)

    @api.model
    def _reserve(self, website_channel, session_token="", utm=None, page_url=""):
        """The pool number shown to a visitor session: its own reservation
        while it lasts (renewed), else a free number, else the one reserved
        longest ago (a pool too small to tell every visitor apart).  Returns
        the reservation, or an empty record when the site has no pool."""
        Reservation = self.env["omnichannel.tracking.reservation"].sudo()
        now = fields.Datetime.now()
        until = now + timedelta(minutes=self._reservation_minutes())
        pool = self.sudo().search([("website_channel_id", "=", website_channel.id)])
        if not pool:
            return Reservation
        # Two visitors arriving at once must not get the same free number.
        self.env["omnichannel.identity"].sudo()._lock(
            "omnichannel-tracking-pool", website_channel.id
        )
        if session_token:
            mine = Reservation.search(
                [
                    ("number_id", "in", pool.ids),
                    ("token", "=", session_token),
                    ("expires", ">", now),
                ],
                limit=1,
            )
            if mine:
                mine.expires = until
                return mine
        held = Reservation.search(
            [("number_id", "in", pool.ids), ("expires", ">", now)]
        )
        free = pool - held.number_id
        number = free[:1]
        if not number:
            oldest = held.sorted(lambda r: (r.create_date, r.id))[:1]
            oldest.expires = now
            number = oldest.number_id
        utm = utm or {}
        Utm = self.env["utm.mixin"]
        values = {
            "number_id": number.id,
            "token": secrets.token_urlsafe(16),
            "expires": until,
            "page_url": (page_url or "")[:500],
        }
        for field, model, key in (
            ("source_id", "utm.source", "utm_source"),
            ("medium_id", "utm.medium", "utm_medium"),
            ("campaign_id", "utm.campaign", "utm_campaign"),
        ):
            name = (utm.get(key) or "").strip()[:100]
            if name:
                values[field] = Utm._find_or_create_record(model, name).id
        return Reservation.create(values)

    @api.model
    def _for_call(self, call):
        """(tracking number, UTM values) a call to our number brings."""
        e164 = self.env["omnichannel.identity"]._sanitize_phone(
            call.our_number or "", call.company_id
        )
        number = self.sudo().search(
            [
                (
                    "number_sanitized",
                    "in",
                    [e164 or "", (call.our_number or "").strip()],
                ),
                ("company_id", "=", call.company_id.id),
            ],
            limit=1,
        )
        if not number:
            return number, {}
        if number.website_channel_id:
            when = call.start_date or fields.Datetime.now()
            # The PBX's clock and ours may differ a little.
            reservation = (
                self.env["omnichannel.tracking.reservation"]
                .sudo()
                .search(
                    [
                        ("number_id", "=", number.id),
                        ("create_date", "<=", when + CLOCK_SKEW),
                        ("expires", ">=", when),
                    ],
                    order="create_date desc",
                    limit=1,
                )
            )
            if reservation:
                reservation.call_count += 1
            source = reservation
        else:
            source = number
        return number, {
            field: source[field].id for field in UTM_FIELDS if source and source[field]
        }


class OmnichannelTrackingReservation(models.Model):
    """One website visitor session's hold on a pool number."""

    _name = "omnichannel.tracking.reservation"
    _description = "Call Tracking Reservation"
    _order = "create_date desc, id desc"

    number_id = fields.Many2one(
        "omnichannel.tracking.number", required=True, ondelete="cascade", index=True
    )
    token = fields.Char(
        "Session token",
        required=True,
        index=True,
        groups="omnichannel_inbox.group_omnichannel_admin",
    )
    expires = fields.Datetime("Reserved until", required=True, index=True)
    source_id = fields.Many2one("utm.source", string="Source")
    medium_id = fields.Many2one("utm.medium", string="Medium")
    campaign_id = fields.Many2one("utm.campaign", string="Campaign")
    page_url = fields.Char("Page")
    call_count = fields.Integer("Calls")


class OmnichannelCall(models.Model):
    _inherit = "omnichannel.call"

    tracking_number_id = fields.Many2one(
        "omnichannel.tracking.number",
        string="Tracking number",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    tracking_done = fields.Boolean("Tracking applied", readonly=True)

    def _merge_event(self, event):
        super()._merge_event(event)
        call = self.sudo()
        lead = call.lead_id or call.conversation_id.lead_id
        if (
            call.tracking_done
            or call.direction != "in"
            or not call.our_number
            or not lead
        ):
            return
        call.tracking_done = True
        number, utm = self.env["omnichannel.tracking.number"]._for_call(call)
        if not number:
            return
        call.tracking_number_id = number
        if (
            lead.create_date
            and call.create_date
            and lead.create_date >= call.create_date
        ):
            # A new lead opened by this call: it came from the number's campaign.
            lead.write(dict(utm, omnichannel_tracking_number_id=number.id))


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_tracking_number_id = fields.Many2one(
        "omnichannel.tracking.number",
        string="Tracking number",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    def _widget_data(self, company):
        """Where the widget asks for the visitor's tracking number: the first
        website channel of the company with a pool."""
        data = super()._widget_data(company)
        pool = (
            self.env["omnichannel.tracking.number"]
            .sudo()
            .search(
                [("company_id", "=", company.id), ("website_channel_id", "!=", False)],
                limit=1,
            )
        )
        if pool:
            data["tracking"] = {
                "url": f"{self._base_url()}/omnichannel/tracking/"
                f"{pool.website_channel_id.webhook_key}",
                "label": self.env._("Call us"),
            }
        return data
