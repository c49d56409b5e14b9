import re
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError

#: An extension is digits only (after the optional prefix the administrator
#: configured): it is put into the PBX's dial string, where anything else
#: ("SIP/trunk/0900...") would let its owner dial any number on the company's bill.
EXTENSION_DIGITS = r"\d{1,10}"
EXTENSION_PREFIX_PARAM = "omnichannel_inbox.phone_extension_prefix"


class ResUsers(models.Model):
    """Who can take new conversations now, and who takes over when they are away.

    Working hours come from ``resource.calendar`` (the user's own resource
    calendar, as ``resource`` and ``hr`` give it, else the company's), leaves
    from ``resource.calendar.leaves`` (and Discuss's out-of-office dates), plus
    a switch the salesperson flips themselves."""

    _inherit = "res.users"

    omnichannel_available = fields.Boolean(
        "Available for chats",
        default=True,
        help="Off: no new conversation is routed to you, whatever your working hours.",
    )
    omnichannel_substitute_id = fields.Many2one(
        "res.users",
        string="Substitute",
        domain="[('share', '=', False), ('id', '!=', id)]",
        help="Takes over your conversations, leads and follow-ups when you are on "
        "leave or your account is "
        "archived; also answers your customers while you are unavailable.",
    )
    omnichannel_skill_tag_ids = fields.Many2many(
        "crm.tag",
        "omnichannel_user_skill_tag_rel",
        "user_id",
        "tag_id",
        string="Product areas",
        help="What this salesperson knows best; routing rules using skills send them "
        "the conversations "
        "that mention these tags.",
    )
    omnichannel_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Chat working hours",
        compute="_compute_omnichannel_calendar_id",
        inverse="_inverse_omnichannel_calendar_id",
        help="When new conversations may be routed to you. Empty: the company working "
        "hours.",
    )
    omnichannel_phone_extension = fields.Char(
        "Phone extension",
        copy=False,
        help="The internal number on the company phone system (e.g. 101), set by an "
        "administrator: digits "
        "only, optionally after the prefix set in the settings, and unique within a "
        "company. Calls "
        "answered or placed from it are shown as this user's, and click-to-call rings "
        "it before calling "
        "the customer.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + [
            "omnichannel_available",
            "omnichannel_substitute_id",
            "omnichannel_skill_tag_ids",
            "omnichannel_calendar_id",
            "omnichannel_phone_extension",
        ]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        # Not the phone extension: it is the dial string of click-to-call and
        # tells whose calls are whose, so only administrators set it.
        return super().SELF_WRITEABLE_FIELDS + ["omnichannel_available"]

    # ------------------------------------------------------------------
    # Phone extension
    # ------------------------------------------------------------------
    @api.model
    def _omnichannel_extension_problem(self, extension):
        """Why ``extension`` cannot be a phone extension, or ''."""
        prefix = (
            self.env["ir.config_parameter"].sudo().get_param(EXTENSION_PREFIX_PARAM)
            or ""
        )
        pattern = (
            f"(?:{re.escape(prefix)})?{EXTENSION_DIGITS}"
            if prefix
            else EXTENSION_DIGITS
        )
        if extension and re.fullmatch(pattern, extension):
            return ""
        if prefix:
            return self.env._(
                'The phone extension "%(extension)s" is not valid: up to 10 digits, '
                "optionally after "
                '"%(prefix)s" (e.g. 101 or %(prefix)s101).',
                extension=extension or "",
                prefix=prefix,
            )
        return self.env._(
            'The phone extension "%s" is not valid: up to 10 digits (e.g. 101).',
            extension or "",
        )

    @api.constrains("omnichannel_phone_extension", "company_ids", "active", "share")
    def _check_omnichannel_phone_extension(self):
        for user in self.filtered("omnichannel_phone_extension"):
            extension = user.omnichannel_phone_extension
            problem = self._omnichannel_extension_problem(extension)
            if problem:
                raise ValidationError(problem)
            if user.share:
                raise ValidationError(
                    self.env._(
                        "%s is not an employee: only internal users have a phone "
                        "extension.",
                        user.name,
                    )
                )
            if not user.active:
                continue
            # Calls are handed to the owner of an extension: two owners in one
            # company would let a colleague take someone else's calls and leads.
            other = self.sudo().search(
                [
                    ("id", "!=", user.id),
                    ("omnichannel_phone_extension", "=", extension),
                    ("company_ids", "in", user.company_ids.ids),
                ],
                limit=1,
            )
            if other:
                raise ValidationError(
                    self.env._(
                        "The phone extension %(extension)s is already %(user)s's in "
                        "%(company)s.",
                        extension=extension,
                        user=other.name,
                        company=", ".join(
                            (other.company_ids & user.company_ids).mapped("name")
                        ),
                    )
                )

    def _omnichannel_may_set_extensions(self, vals):
        """Omnichannel administrators assign extensions (from the list of
        Omnichannel > Phone extensions) without being allowed to edit users
        otherwise: only this field, only for internal users of their companies."""
        if set(vals) != {"omnichannel_phone_extension"} or self.env.su:
            return False
        if not self.env.user.has_group("omnichannel_inbox.group_omnichannel_admin"):
            return False
        if self.env.user.has_group("base.group_erp_manager"):
            return False
        return all(
            not user.share and user.company_ids & self.env.companies
            for user in self.sudo()
        )

    @api.depends("resource_ids.calendar_id")
    def _compute_omnichannel_calendar_id(self):
        for user in self:
            user.omnichannel_calendar_id = user.resource_ids[:1].calendar_id

    def _inverse_omnichannel_calendar_id(self):
        for user in self:
            user._omnichannel_resource().calendar_id = user.omnichannel_calendar_id

    def _omnichannel_resource(self):
        """The user's resource (working time and leaves hang on it); created
        when missing, as hr does for employees."""
        self.ensure_one()
        resource = self.sudo().resource_ids[:1]
        if not resource:
            company = self.company_id or self.env.company
            resource = (
                self.env["resource.resource"]
                .sudo()
                .create(
                    {
                        "name": self.name,
                        "user_id": self.id,
                        "company_id": company.id,
                        "calendar_id": company.resource_calendar_id.id,
                        "tz": self.tz or company.resource_calendar_id.tz or "UTC",
                    }
                )
            )
        return resource

    def _omnichannel_work_calendar(self):
        """(calendar, resource) deciding the user's working time."""
        self.ensure_one()
        resource = self.sudo().resource_ids[:1]
        calendar = (
            resource.calendar_id
            if resource
            else (self.company_id or self.env.company).resource_calendar_id
        )
        return calendar.sudo(), resource

    # ------------------------------------------------------------------
    # Availability
    # ------------------------------------------------------------------
    def _omnichannel_on_leave(self, at=None):
        """The leave (resource.calendar.leaves) covering ``at``, or a true
        value for Discuss's out-of-office dates; False when at work."""
        self.ensure_one()
        at = at or fields.Datetime.now()
        if (
            self.out_of_office_from
            and self.out_of_office_from <= at
            and (not self.out_of_office_to or at <= self.out_of_office_to)
        ):
            return True
        resource = self.sudo().resource_ids[:1]
        if not resource:
            return False
        return (
            self.env["resource.calendar.leaves"]
            .sudo()
            .search(
                [
                    ("resource_id", "=", resource.id),
                    ("time_type", "=", "leave"),
                    ("date_from", "<=", at),
                    ("date_to", ">", at),
                ],
                order="date_to desc",
                limit=1,
            )
            or False
        )

    def _omnichannel_is_working(self, at=None):
        """Within the user's working hours at ``at`` (public holidays of
        the calendar excluded)."""
        self.ensure_one()
        calendar, resource = self._omnichannel_work_calendar()
        if not calendar:
            return True
        at = pytz.utc.localize(at or fields.Datetime.now())
        intervals = calendar._work_intervals_batch(
            at, at + timedelta(minutes=1), resources=resource
        )
        return bool(intervals[resource.id])

    def _omnichannel_is_available(self, at=None, check_hours=True):
        """May get new work now: an active internal user, with the switch on,
        not on leave, and (``check_hours``) within working hours."""
        self.ensure_one()
        if not self.active or self.share or not self.omnichannel_available:
            return False
        if self._omnichannel_on_leave(at):
            return False
        return not check_hours or self._omnichannel_is_working(at)

    def _omnichannel_unavailable_reason(self, at=None):
        self.ensure_one()
        if not self.active:
            return self.env._("%s is archived", self.name)
        if not self.omnichannel_available:
            return self.env._("%s switched chats off", self.name)
        leave = self._omnichannel_on_leave(at)
        if leave:
            if isinstance(leave, models.BaseModel):
                return self.env._(
                    "%(user)s is on leave until %(date)s",
                    user=self.name,
                    date=fields.Datetime.to_string(leave.date_to)[:16],
                )
            return self.env._("%s is out of office", self.name)
        if not self._omnichannel_is_working(at):
            return self.env._("%s is outside working hours", self.name)
        return ""

    # ------------------------------------------------------------------
    # Handover
    # ------------------------------------------------------------------
    def write(self, vals):
        if self._omnichannel_may_set_extensions(vals):
            return super(ResUsers, self.sudo()).write(vals)
        archived = (
            self.filtered("active") if vals.get("active") is False else self.browse()
        )
        result = super().write(vals)
        if archived:
            archived._omnichannel_handover(self.env._("account archived"))
        return result

    def _omnichannel_handover(self, reason):
        """Give the open conversations, open leads and follow-up activities of
        these users to their substitute, or re-route them; each record says
        so in its chatter.  The customer is not contacted: the history stays
        on the lead and the conversation, where the new owner reads it."""
        Conversation = self.env["omnichannel.conversation"].sudo()
        Lead = self.env["crm.lead"].sudo()
        for user in self:
            substitute = user.omnichannel_substitute_id
            if substitute and not substitute._omnichannel_is_available(
                check_hours=False
            ):
                substitute = self.browse()
            why = self.env._(
                "handed over from %(user)s (%(reason)s)", user=user.name, reason=reason
            )
            conversations = Conversation.search(
                [("user_id", "=", user.id), ("state", "!=", "closed")]
            )
            for conversation in conversations:
                if substitute:
                    conversation._lock_for_assignment()
                    conversation._assign(
                        substitute, self.env._("%s, to their substitute", why)
                    )
                else:
                    conversation._route_to_salesperson(
                        exclude_users=user, reason_prefix=why
                    )
                    if conversation.user_id == user:
                        conversation._assign_to_queue(why)
            leads = Lead.search(
                [
                    ("user_id", "=", user.id),
                    ("active", "=", True),
                    ("won_status", "=", "pending"),
                ]
            )
            for lead in leads:
                target = (
                    substitute
                    or lead.team_id.omnichannel_on_duty_user_id
                    or lead.team_id.user_id
                )
                if target == user:
                    target = self.browse()
                lead.write({"user_id": target.id})
                lead._message_log(
                    body=self.env._(
                        "Lead %(why)s; now handled by %(owner)s. The whole "
                        "conversation history stays on this lead.",
                        why=why,
                        owner=target.name or self.env._("the team queue"),
                    )
                )
            moved = Conversation.browse(conversations.ids).lead_id | leads
            activities = (
                self.env["mail.activity"]
                .sudo()
                .search(
                    [
                        ("user_id", "=", user.id),
                        "|",
                        "&",
                        ("res_model", "=", "crm.lead"),
                        ("res_id", "in", moved.ids),
                        ("omnichannel_message_id", "!=", False),
                    ]
                )
            )
            for activity in activities:
                record = self.env[activity.res_model].sudo().browse(activity.res_id)
                owner = (
                    record.user_id
                    if "user_id" in record._fields and record.user_id != user
                    else substitute
                )
                if owner:
                    activity.write({"user_id": owner.id})

    def action_omnichannel_time_off(self):
        """The user's leaves (resource.calendar.leaves); a leave that begins
        hands their conversations over to their substitute."""
        self.ensure_one()
        resource = self._omnichannel_resource()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Time off of %s", self.name),
            "res_model": "resource.calendar.leaves",
            "view_mode": "list,form",
            "domain": [("resource_id", "=", resource.id)],
            "context": {
                "default_resource_id": resource.id,
                "default_time_type": "leave",
                "default_calendar_id": resource.calendar_id.id,
                "default_name": self.env._("Leave"),
            },
        }
