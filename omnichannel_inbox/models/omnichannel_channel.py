import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import quote

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import (
    email_normalize,
    html2plaintext,
    parse_contact_from_email,
)
from odoo.tools.misc import consteq, format_datetime, hmac

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.telegram_deeplink import start_link

from . import omnichannel_crypto as crypto
from .omnichannel_crypto import EncryptedChar
from .omnichannel_inbound_event import CONTACT_SCAN_CHARS, _emails_in_text
from .omnichannel_rate_limit import DEFAULT_PER_ADDRESS, DEFAULT_PER_CHANNEL

_logger = logging.getLogger(__name__)

ADMIN = "omnichannel_inbox.group_omnichannel_admin"
#: Columns stored encrypted (omnichannel_crypto.EncryptedChar).
SECRET_FIELDS = ("token", "webhook_secret", "app_secret", "verify_token")


#: What a webhook key is made of (token_urlsafe); any other address is
#: unknown without asking the database (which refuses NUL characters).
WEBHOOK_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")


#: Capabilities a connector declares and the channel account shows under the
#: same name.
CAPABILITIES = (
    "supports_calls",
    "supports_survey",
    "supports_send_budget",
    "supports_greeting",
    "supports_connection_settings",
    "supports_silence_alert",
)
#: The common connection settings, each shown in the channel form under its
#: common name where the connector lists it (``Connector.common_settings``).
COMMON_SETTINGS = (
    "account_ref",
    "token",
    "webhook_secret",
    "app_secret",
    "verify_token",
    "api_base_url",
)


#: Context key set while we post an email ourselves (a reply from the chat
#: panel), so that the lead's post hook does not record it a second time.
SENDING_EMAIL = "omnichannel_sending_email"
#: Context key set while we post a reply into a live chat session ourselves,
#: so that the session's post hook does not record it a second time.
SENDING_LIVECHAT = "omnichannel_sending_livechat"
#: Phone numbers a visitor types in the chat ("+7 912 345-67-89", "8 (912) 3456789").
PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{7,18}\d(?!\w)")
#: Meta's standard messaging window, counted from the customer's last message.
STANDARD_WINDOW = timedelta(hours=24)
#: Messenger and Instagram let a person (not a bot) answer up to 7 days with
#: the HUMAN_AGENT tag, once Meta granted the app that permission.
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: A public handle that is already a link (shown as it is).
FULL_LINK = re.compile(r"^(https?://|viber://|tg://|mailto:|sms:)", re.IGNORECASE)


def _new_key(*_args):
    return secrets.token_urlsafe(24)


class OmnichannelChannel(models.Model):
    """A channel account: one bot, one number, one page, one Sandbox.

    Everything provider-specific is delegated to its connector
    (``connectors.get_connector_class(channel_type)``); this model only keeps
    the account's settings and secrets.  Secrets are restricted to the
    Omnichannel administrators at field level and are never logged."""

    _name = "omnichannel.channel"
    _description = "Channel Account"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    # Adding a provider: a connector module in connectors/ (registered with
    # its label and capabilities) and its settings view; its value appears here.
    channel_type = fields.Selection(
        [(cls.code, cls.label) for cls in connectors.connector_classes()],
        string="Channel type",
        required=True,
        default="sandbox",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales team",
        tracking=True,
        help="New leads and conversations of this account go to this team.",
    )
    source_id = fields.Many2one(
        "utm.source",
        string="Lead source",
        ondelete="restrict",
        help="Source set on the leads created from this account (channel of first "
        "contact). Left empty, the source named after the channel type is used.",
    )
    create_leads = fields.Boolean(
        "Create leads",
        default=True,
        help="A message from a customer without an open lead creates one.",
    )
    greeting_text = fields.Text(
        "Greeting",
        translate=True,
        default=lambda self: self.env._(
            "Hello! Write your question here and a manager will answer shortly."
        ),
        help="Answer to a bot /start command.",
    )

    # -- webhook address and secrets ------------------------------------------
    webhook_key = fields.Char(
        "Webhook key",
        required=True,
        readonly=True,
        copy=False,
        default=_new_key,
        groups=ADMIN,
        help="Unguessable part of the webhook address.",
    )
    webhook_url = fields.Char(
        "Webhook URL", compute="_compute_webhook_url", groups=ADMIN
    )
    # Only administrators list the Sandbox addresses: the page lets anyone
    # write into the inbox as a customer.
    sandbox_url = fields.Char(
        "Sandbox page", compute="_compute_sandbox_url", compute_sudo=True, groups=ADMIN
    )
    # Secrets are stored encrypted under a key outside the database and read
    # clear through the ORM (omnichannel_crypto.py).
    token = EncryptedChar("Bot token / access token", groups=ADMIN, copy=False)
    webhook_secret = EncryptedChar(
        "Webhook secret",
        groups=ADMIN,
        copy=False,
        default=_new_key,
        help="Shared with the provider; a request without it is refused (403).",
    )
    app_secret = EncryptedChar(
        "App secret",
        groups=ADMIN,
        copy=False,
        help="Key the provider signs webhook bodies with.",
    )
    verify_token = EncryptedChar(
        "Verify token",
        groups=ADMIN,
        copy=False,
        help="Token of the provider handshake (subscription check).",
    )
    account_ref = fields.Char(
        "Provider account ID",
        help="Phone number ID, page ID, group ID... of the account.",
    )
    api_base_url = fields.Char(
        "API address",
        groups=ADMIN,
        help="Provider API root; leave empty to use the provider's own. Used to point "
        "at a proxy or a test server.",
    )
    webhook_status = fields.Text("Webhook status", readonly=True, groups=ADMIN)
    can_register_webhook = fields.Boolean(
        compute="_compute_connector_features",
        help="The provider lets Odoo register its webhook address.",
    )
    can_check_webhook = fields.Boolean(
        compute="_compute_connector_features",
        help="The provider reports on the connection and its webhook.",
    )
    # What the type's connector declares (connectors.Connector), for the
    # views, the inbox and the other models to read instead of type lists.
    # (technical: read by the views, the inbox and the other models)
    channel_kind = fields.Char(
        "Channel kind",
        compute="_compute_connector_features",
        search="_search_channel_kind",
    )
    channel_icon = fields.Char("Channel icon", compute="_compute_connector_features")
    channel_color = fields.Char("Channel colour", compute="_compute_connector_features")
    supports_calls = fields.Boolean(
        "Carries calls", compute="_compute_connector_features"
    )
    supports_survey = fields.Boolean(
        "Carries surveys", compute="_compute_connector_features"
    )
    supports_send_budget = fields.Boolean(
        "Has a sending budget", compute="_compute_connector_features"
    )
    supports_greeting = fields.Boolean(
        "Sends a greeting", compute="_compute_connector_features"
    )
    supports_connection_settings = fields.Boolean(
        "Has connection settings", compute="_compute_connector_features"
    )
    supports_silence_alert = fields.Boolean(
        "Alerts on silence", compute="_compute_connector_features"
    )
    supports_public_link = fields.Boolean(
        "Has a link for visitors", compute="_compute_connector_features"
    )
    shows_account_ref = fields.Boolean(
        "Asks for the account ID", compute="_compute_connector_features"
    )
    shows_token = fields.Boolean(
        "Asks for the token", compute="_compute_connector_features"
    )
    shows_webhook_secret = fields.Boolean(
        "Asks for the webhook secret", compute="_compute_connector_features"
    )
    shows_app_secret = fields.Boolean(
        "Asks for the app secret", compute="_compute_connector_features"
    )
    shows_verify_token = fields.Boolean(
        "Asks for the verify token", compute="_compute_connector_features"
    )
    shows_api_base_url = fields.Boolean(
        "Asks for the API address", compute="_compute_connector_features"
    )

    silence_alert_hours = fields.Integer(
        "Alert after hours without events",
        default=12,
        groups=ADMIN,
        help="Administrators are told when this account, which usually receives many "
        "events, has received none for this many hours. 0: never.",
    )
    conversation_ids = fields.One2many(
        "omnichannel.conversation", "channel_id", string="Conversations"
    )
    conversation_count = fields.Integer(compute="_compute_conversation_count")

    # -- automatic replies and business hours ---------------------------------
    # An instant acknowledgement in business hours, an out-of-hours text saying
    # when a person will answer, and optional first questions; sent as
    # automatic replies (author_kind 'auto'): they never count as a person's
    # answer. The business hours also flag the calls of a phone line.
    autoreply_enabled = fields.Boolean(
        "Automatic replies",
        tracking=True,
        help="Answer a customer who starts writing at once, saying that a person will "
        "join.",
    )
    business_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Business hours",
        default=lambda self: self.env.company.resource_calendar_id,
        help="When the team answers. Outside it the out-of-hours reply is sent (when "
        "automatic replies are on), and calls are flagged, their call back due "
        "at the next opening.",
    )
    autoreply_ack_text = fields.Text(
        "Acknowledgement",
        translate=True,
        default=lambda self: self.env._(
            "Thank you for your message! A manager has received it and will join this "
            "chat in a few minutes."
        ),
    )
    autoreply_out_of_hours_text = fields.Text(
        "Out-of-hours reply",
        translate=True,
        default=lambda self: self.env._(
            "Thank you for your message! We are closed now; a manager will join this "
            "chat {answer_time}."
        ),
        help="{answer_time} is replaced by when the business hours start again, e.g. "
        '"on Monday at 09:00".',
    )
    autoreply_questions = fields.Text(
        "First questions",
        translate=True,
        help='Added to the first automatic reply of a new customer, e.g. "Meanwhile, '
        'tell us what you need and when it is convenient to call you."',
    )
    autoreply_silence_minutes = fields.Integer(
        "Reply again after a silence of (minutes)",
        default=60,
        help="A customer writing in an ongoing exchange is not answered "
        "automatically; one writing after this long a silence is.",
    )

    _webhook_key_unique = models.Constraint(
        "UNIQUE(webhook_key)", "The webhook key must be unique."
    )

    @api.depends("webhook_key")
    def _compute_webhook_url(self):
        base = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("web.base.url", "")
            .rstrip("/")
        )
        for channel in self:
            channel.webhook_url = (
                f"{base}/omnichannel/webhook/{channel.webhook_key}"
                if channel.webhook_key
                else False
            )

    @api.depends("channel_type")
    def _compute_sandbox_url(self):
        base = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("web.base.url", "")
            .rstrip("/")
        )
        for channel in self:
            channel.sandbox_url = (
                f"{base}/omnichannel/sandbox/{channel.webhook_key}"
                if channel.channel_type == "sandbox" and channel.webhook_key
                else False
            )

    @api.depends("channel_type")
    def _compute_connector_features(self):
        # A button is offered when the type's connector implements the call;
        # the rest is what the connector declares.
        base = connectors.Connector
        for channel in self:
            cls = channel._connector_class()
            channel.can_register_webhook = (
                cls.register_webhook is not base.register_webhook
            )
            channel.can_check_webhook = cls.webhook_info is not base.webhook_info
            channel.channel_kind = cls.kind if channel.channel_type else False
            channel.channel_icon = cls.icon
            channel.channel_color = cls.color
            channel.supports_public_link = bool(cls.deep_link)
            for fname in CAPABILITIES:
                channel[fname] = getattr(cls, fname)
            for fname in COMMON_SETTINGS:
                channel[f"shows_{fname}"] = fname in cls.common_settings

    def _search_channel_kind(self, operator, value):
        if operator not in ("=", "in"):
            return NotImplemented
        kinds = {value} if operator == "=" else set(value)
        return [("channel_type", "in", self._channel_types(kinds))]

    @api.model
    def _channel_types(self, kinds):
        """The channel types of the given kinds (``{'phone'}``)."""
        return [cls.code for cls in connectors.connector_classes() if cls.kind in kinds]

    def _connector_class(self):
        """The connector class of the channel's type (the base class, which
        declares nothing and refuses everything, when the type has none)."""
        self.ensure_one()
        try:
            return connectors.get_connector_class(self.channel_type)
        except connectors.ConnectorError:
            return connectors.Connector

    def _compute_conversation_count(self):
        counts = dict(
            self.env["omnichannel.conversation"]._read_group(
                [("channel_id", "in", self.ids)], ["channel_id"], ["__count"]
            )
        )
        for channel in self:
            channel.conversation_count = counts.get(channel, 0)

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        for channel in channels.filtered(lambda c: not c.source_id):
            channel.source_id = channel._default_source()
        return channels

    def _default_source(self):
        """The utm.source named after the channel type ("Telegram"), shared by
        the accounts of that type; created on first use."""
        self.ensure_one()
        label = dict(self._fields["channel_type"]._description_selection(self.env)).get(
            self.channel_type
        )
        xmlid = f"omnichannel_inbox.utm_source_{self.channel_type}"
        source = self.env.ref(xmlid, raise_if_not_found=False)
        if not source:
            source = self.env["utm.source"].sudo().search(
                [("name", "=", label)], limit=1
            ) or self.env["utm.source"].sudo().create({"name": label})
        return source

    # -- connector access -----------------------------------------------------
    def _connector_config(self):
        self.ensure_one()
        channel = self.sudo()
        if (
            not all(channel[fname] for fname in SECRET_FIELDS)
            and crypto.unreadable_possible()
        ):
            # An empty secret may be one the key cannot open: say so rather
            # than let a connector run without it.
            channel._check_secrets_readable()
        return connectors.ChannelConfig(
            token=channel.token or "",
            secret=channel.webhook_secret or "",
            app_secret=channel.app_secret or "",
            verify_token=channel.verify_token or "",
            account_ref=channel.account_ref or "",
            base_url=channel.api_base_url or "",
            webhook_url=channel.webhook_url or "",
            extra=channel._connector_extra(),
        )

    def _connector_extra(self):
        """Provider settings that are not one of the common fields."""
        return {}

    def _secrets_unreadable(self):
        """Why the stored secrets of this channel cannot be decrypted now
        (no key, wrong key), or '' when they can."""
        self.ensure_one()
        self.flush_recordset(SECRET_FIELDS)
        self.env.cr.execute(
            "SELECT {} FROM omnichannel_channel WHERE id = %s".format(
                ", ".join(SECRET_FIELDS)
            ),
            [self.id],
        )
        try:
            for value in self.env.cr.fetchone() or ():
                crypto.decrypt(value)
        except crypto.KeyMissing:
            return self.env._(
                "The secrets of channel %(channel)s cannot be decrypted: the "
                "encryption key is missing or wrong. Set %(option)s in the Odoo "
                "configuration file (or the environment variable %(variable)s) to the "
                "key they were encrypted with, and restart Odoo.",
                channel=self.name,
                option=crypto.CONFIG_OPTION,
                variable=crypto.ENV_VARIABLE,
            )
        return ""

    def _check_secrets_readable(self):
        reason = self._secrets_unreadable()
        if reason:
            raise crypto.KeyMissing(reason)

    def _get_connector(self):
        self.ensure_one()
        return connectors.get_connector_class(self.channel_type)(
            self._connector_config()
        )

    def _check_reply_allowed(self, conversation, template=None):
        """Raise a UserError explaining why a reply cannot go out on this
        channel now (customer unreachable; providers' messaging windows)."""
        self.ensure_one()
        identity = conversation.identity_id
        if identity.unreachable:
            raise UserError(
                self.env._(
                    "This customer cannot be reached on %(channel)s: %(reason)s "
                    "Choose another of their channels.",
                    channel=self.name,
                    reason=identity.unreachable_reason or "",
                )
            )

    def _send_outbound(self, message):
        """Deliver one omnichannel.message; returns a connectors.SendResult
        or raises connectors.SendError.  Channels that send through Odoo's
        own stacks (email, SMS) override this."""
        self.ensure_one()
        try:
            connector = self._get_connector()
        except crypto.KeyMissing as exc:
            # Refused, kept queued: it leaves once the key is back.
            self.env["omnichannel.alert"]._raise(self, "key_missing", exc.args[0])
            raise connectors.SendError(
                exc.args[0], code="encryption_key", retryable=True
            ) from None
        return connector.send(message._outbound_payload())

    def _webhook_answer(self, connector, events, new_events):
        """What the webhook answers once ``events`` are journaled (``new_events``:
        the journal rows they created; a replay creates none): the provider's
        acknowledgement, or a result the caller needs (the website API
        answers the lead id)."""
        return connector.ack

    @api.model
    def _max_webhook_bytes(self):
        kb = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("omnichannel_inbox.max_body_kb", "1024")
        )
        try:
            return max(1, int(kb)) * 1024
        except ValueError:
            return 1024 * 1024

    @api.model
    def _find_by_webhook_key(self, key):
        """The active channel account a webhook address points to (sudo)."""
        if not isinstance(key, str) or not WEBHOOK_KEY.fullmatch(key):
            return self.browse()
        # Found and read in one query (the request reads it next).
        return self.sudo().search_fetch([("webhook_key", "=", key)], limit=1)

    # -- admin actions --------------------------------------------------------
    def _notify(self, message, kind="info", sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "sticky": sticky,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_register_webhook(self):
        """Tell the provider where to deliver updates (Telegram setWebhook)."""
        self.ensure_one()
        self._check_admin()
        try:
            url = self._get_connector().register_webhook()
        except connectors.ConnectorError as exc:
            raise UserError(
                self.env._("The provider refused the webhook: %s", exc)
            ) from None
        self.sudo().webhook_status = self.env._("Webhook registered: %s", url)
        return self._notify(
            self.env._("Webhook registered with the provider."), "success"
        )

    def action_check_webhook(self):
        """Show what the provider says of our webhook, including its last error."""
        self.ensure_one()
        self._check_admin()
        try:
            info = self._get_connector().webhook_info()
        except connectors.ConnectorError as exc:
            raise UserError(
                self.env._("Could not reach the provider: %s", exc)
            ) from None
        lines = [
            self.env._("Bot: %s", info.get("bot") or "-"),
            self.env._("Webhook URL: %s", info.get("url") or self.env._("not set")),
            self.env._(
                "Points to this channel: %s",
                self.env._("yes") if info.get("matches") else self.env._("no"),
            ),
        ]
        if "pending_update_count" in info:
            lines.append(
                self.env._("Updates waiting: %s", info["pending_update_count"])
            )
        if info.get("last_error_message"):
            lines.append(
                self.env._(
                    "Last error (%(date)s): %(error)s",
                    date=info.get("last_error_date") or "?",
                    error=info["last_error_message"],
                )
            )
        else:
            lines.append(self.env._("Last error: none"))
        status = "\n".join(lines)
        self.sudo().webhook_status = status
        kind = (
            "warning"
            if info.get("last_error_message") or not info.get("matches")
            else "success"
        )
        return self._notify(status, kind, sticky=True)

    def action_regenerate_webhook_key(self):
        self._check_admin()
        for channel in self:
            channel.sudo().webhook_key = _new_key()
        return True

    def action_open_sandbox(self):
        self.ensure_one()
        return {"type": "ir.actions.act_url", "url": self.sandbox_url, "target": "new"}

    def action_view_conversations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_conversation_action"
        )
        action["domain"] = [("channel_id", "=", self.id)]
        action["context"] = {"default_channel_id": self.id}
        return action

    def _check_admin(self):
        if not self.env.user.has_group(ADMIN) and not self.env.su:
            raise UserError(
                self.env._(
                    "Only Omnichannel administrators can manage channel connections."
                )
            )

    # -- kind of channel: lead medium, text replies ----------------------------
    def _lead_medium(self):
        """The utm medium of the leads this channel opens."""
        # The cached xml id lookup: env.ref would check with a query, for
        # every new lead, that the medium still exists.
        xmlid = (
            "utm.utm_medium_phone"
            if self.supports_calls
            else "omnichannel_inbox.utm_medium_messenger"
        )
        return self.env["utm.medium"].browse(
            self.env["ir.model.data"]._xmlid_to_res_id(xmlid, raise_if_not_found=False)
        )

    def _can_send_text(self):
        return not self.supports_calls

    # -- automatic replies and business hours ----------------------------------
    def _business_open_at(self, at):
        """True when ``at`` (naive UTC) is within the business hours."""
        self.ensure_one()
        calendar = self.business_calendar_id
        if not calendar:
            return True
        start = pytz.utc.localize(at)
        return bool(
            calendar._work_intervals_batch(start, start + timedelta(minutes=1))[False]
        )

    def _business_next_opening(self, at):
        """The next moment (naive UTC) the business hours start after ``at``."""
        self.ensure_one()
        calendar = self.business_calendar_id
        planned = calendar and calendar.plan_hours(
            0.0001, pytz.utc.localize(at), compute_leaves=True
        )
        if not planned:
            return at
        return planned.astimezone(pytz.utc).replace(
            tzinfo=None, second=0, microsecond=0
        )

    def _autoreply_text(self, conversation, message):
        """The automatic reply ``message`` (a customer's) calls for, or ''."""
        self.ensure_one()
        if not self.autoreply_enabled:
            return ""
        channel = self.with_context(lang=conversation.partner_id.lang or self.env.lang)
        at = message.date
        if channel._business_open_at(at):
            text = channel.autoreply_ack_text or ""
        else:
            opening = channel._business_next_opening(at)
            tz = channel.business_calendar_id.tz or "UTC"
            lang = conversation.partner_id.lang or self.env.lang or "en_US"
            local_opening = pytz.utc.localize(opening).astimezone(pytz.timezone(tz))
            pattern = (
                "EEEE, d MMMM, HH:mm"
                if local_opening.date()
                != pytz.utc.localize(at).astimezone(pytz.timezone(tz)).date()
                else "HH:mm"
            )
            answer_time = format_datetime(
                self.env, opening, tz=tz, dt_format=pattern, lang_code=lang
            )
            text = (channel.autoreply_out_of_hours_text or "").replace(
                "{answer_time}",
                channel.env._("after %(time)s (%(tz)s)", time=answer_time, tz=tz),
            )
        if channel.autoreply_questions and conversation._is_first_customer_message(
            message
        ):
            text = f"{text}\n\n{channel.autoreply_questions}"
        return text.strip()

    # -- phone lines: call-backs and business hours ----------------------------
    def _phone_can_originate(self):
        self.ensure_one()
        if not self.supports_calls or not self.active:
            return False
        return self.channel_type != "phone_webhook" or bool(self.sudo().api_base_url)

    def _phone_calendar(self):
        # One notion of business hours per channel (business_calendar_id, also
        # used by automatic replies): calls outside it are flagged and their
        # call back is due at the next opening.
        return self.business_calendar_id or self.company_id.resource_calendar_id

    def _phone_work_intervals(self, date, days=14):
        calendar = self._phone_calendar()
        start = pytz.utc.localize(date)
        intervals = calendar._work_intervals_batch(start, start + timedelta(days=days))[
            False
        ]
        return [
            (
                s.astimezone(pytz.utc).replace(tzinfo=None),
                e.astimezone(pytz.utc).replace(tzinfo=None),
            )
            for s, e, _records in intervals
        ]

    def _phone_in_business_hours(self, date):
        """Whether ``date`` (naive UTC) falls in the line's business hours."""
        self.ensure_one()
        if not date or not self._phone_calendar():
            return True
        return any(
            s <= date < e
            for s, e in self._phone_work_intervals(date - timedelta(days=1), days=2)
        )

    def _phone_next_business_start(self, date):
        """The next opening after ``date`` (naive UTC); ``date`` itself when
        the line has no business hours or none in the next two weeks."""
        self.ensure_one()
        if not self._phone_calendar():
            return date
        upcoming = [s for s, e in self._phone_work_intervals(date) if s >= date]
        return min(upcoming) if upcoming else date

    # -- email capture (fields and replies: omnichannel_channel_email.py) ------
    @api.model
    def _email_account(self, company):
        return self.sudo().search(
            [("channel_type", "=", "email"), ("company_id", "=", company.id)], limit=1
        )

    @api.model
    def _email_capture(self, record, message):
        """Called after each message posted on a lead or a partner: mirror
        a customer's email, or an employee's email to the customer, into the
        history.  A failure here never loses the email (it stays in the
        record's chatter): it is logged and the mail gateway goes on."""
        if self.env.context.get(SENDING_EMAIL) or record._name not in (
            "crm.lead",
            "res.partner",
        ):
            return
        message = message.sudo()
        author = message.author_id
        author_is_employee = bool(author) and not author.partner_share
        if message.message_type == "email" and not author_is_employee:
            direction = "in"
        elif (
            message.message_type == "comment"
            and author_is_employee
            and message.subtype_id
            and not message.subtype_id.internal
            and not message.is_internal
        ):
            direction = "out"
        else:
            return
        record = record.sudo()
        company = record.company_id or self.env.company
        account = self._email_account(company)
        if not account:
            return
        try:
            with self.env.cr.savepoint():
                if direction == "in":
                    account._email_mirror_inbound(record, message)
                else:
                    account._email_mirror_outbound(record, message)
        except Exception:
            _logger.exception(
                "Omnichannel: could not add email %s of %s,%s to the history",
                message.id,
                record._name,
                record.id,
            )

    def _email_known_mirror(self, message):
        return (
            self.env["omnichannel.message"]._find_by_provider_id(
                self, message.message_id
            )
            if message.message_id
            else False
        )

    def _email_mirror_inbound(self, record, message):
        """A customer's email on ``record`` (a lead or a partner)."""
        self.ensure_one()
        name, address = parse_contact_from_email(message.email_from or "")
        email = email_normalize(address)
        if not email or self._email_known_mirror(message):
            return
        lead = record if record._name == "crm.lead" else record.browse()
        customer = lead.partner_id if lead else record
        if customer.email_normalized != email:
            # Someone else than the record's customer wrote (a colleague in
            # copy): the author the mail gateway found, else the identity rules.
            customer = message.author_id
        # The sender's address is this channel's own user id (as a Telegram
        # id is Telegram's): the mail gateway vouches for it as far as mail can.
        contact = connectors.Contact(
            user_id=email,
            name=name or (customer.name if customer else "") or email,
            email=address,
            email_verified=True,
        )
        identity = self.env["omnichannel.identity"]._resolve(
            self, contact, date=message.date, partner=customer or None
        )
        partner = identity.partner_id
        if not message.author_id:
            message.author_id = partner
        if (
            lead
            and not lead.partner_id
            and (not lead.email_normalized or lead.email_normalized == email)
        ):
            # A lead an alias created from a stranger's email: link its customer.
            lead.partner_id = partner
        if lead and not lead.source_id:
            # Email is this lead's channel of first contact.
            lead.write(
                {
                    "source_id": self.source_id.id,
                    "medium_id": lead.medium_id.id
                    or self.env.ref("utm.utm_medium_email").id,
                }
            )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        if (
            lead
            and lead.active
            and lead.won_status == "pending"
            and lead.partner_id == partner
        ):
            conversation.lead_id = lead
        mirror = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                {
                    "conversation_id": conversation.id,
                    "mail_message_id": message.id,
                    "direction": "in",
                    "author_kind": "customer",
                    "message_type": "email",
                    "provider_message_id": message.message_id or False,
                    "status": "received",
                    "date": message.date or fields.Datetime.now(),
                    "lead_id": lead.id if lead else False,
                }
            )
        )
        conversation._register_inbound(mirror)
        return mirror

    def _email_mirror_outbound(self, record, message):
        """An employee's email to the customer of ``record``, sent from its
        chatter (or an email template): part of the customer's history."""
        self.ensure_one()
        lead = record if record._name == "crm.lead" else record.browse()
        customer = lead.partner_id if lead else record
        if not customer or not customer.partner_share or not customer.email_normalized:
            return
        if (
            customer not in message.partner_ids
            and customer not in record.message_partner_ids
        ):
            return  # not sent to the customer
        if self._email_known_mirror(message):
            return
        conversation = self._email_conversation(customer, lead)
        user = message.author_id.user_ids.filtered(lambda u: not u.share)[:1]
        mirror = (
            self.env["omnichannel.message"]
            .sudo()
            .create(
                {
                    "conversation_id": conversation.id,
                    "mail_message_id": message.id,
                    "direction": "out",
                    "author_kind": "employee",
                    "author_user_id": user.id,
                    "message_type": "email",
                    "provider_message_id": message.message_id or False,
                    "status": "sent",
                    "date": message.date or fields.Datetime.now(),
                    "sent_date": message.date or fields.Datetime.now(),
                    "lead_id": conversation.lead_id.id,
                }
            )
        )
        conversation._register_outbound(mirror)
        conversation._after_outbound(mirror)
        conversation._notify_panel()
        return mirror

    def _email_conversation(self, customer, lead=None):
        """The email conversation of ``customer`` on this account, opened if
        needed (a first email to them), linked to ``lead`` when given."""
        self.ensure_one()
        contact = connectors.Contact(
            user_id=customer.email_normalized, name=customer.name, email=customer.email
        )
        identity = self.env["omnichannel.identity"]._resolve(
            self, contact, partner=customer
        )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        if (
            lead
            and lead.active
            and lead.won_status == "pending"
            and lead.partner_id == conversation.partner_id
        ):
            conversation.lead_id = lead
        elif not conversation.lead_id:
            conversation._ensure_lead()
        return conversation

    # -- live chat capture (fields and replies: omnichannel_channel_livechat.py) ---
    @api.model
    def _livechat_capture(self, session, message):
        """Called after each message posted in a live chat session."""
        if self.env.context.get(SENDING_LIVECHAT) or message.message_type != "comment":
            return
        session = session.sudo()
        account = (
            self.sudo().search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_channel_id", "=", session.livechat_channel_id.id),
                ],
                limit=1,
            )
            if session.livechat_channel_id
            else None
        )
        if not account:
            return
        try:
            with self.env.cr.savepoint():
                account._livechat_sync(session)
        except Exception:
            _logger.exception(
                "Omnichannel: could not add live chat session %s to the history",
                session.id,
            )

    def _livechat_sync(self, session):
        """Mirror the messages of ``session`` not mirrored yet, in order;
        nothing until the visitor has written (a visitor who only opened the
        chat window is nobody's customer yet)."""
        self.ensure_one()
        visitor = session.livechat_customer_history_ids[:1]
        if not visitor:
            return
        messages = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", "discuss.channel"),
                    ("res_id", "=", session.id),
                    ("message_type", "=", "comment"),
                ],
                order="id",
            )
        )
        kinds = {
            message: self._livechat_author_kind(session, message)
            for message in messages
        }
        if "visitor" not in kinds.values():
            return
        Message = self.env["omnichannel.message"].sudo()
        done = set(
            Message.search(
                [
                    ("channel_id", "=", self.id),
                    ("provider_message_id", "in", [f"mail-{m.id}" for m in messages]),
                ]
            ).mapped("provider_message_id")
        )
        pending = messages.filtered(lambda m: f"mail-{m.id}" not in done)
        if not pending:
            return
        identity = self._livechat_identity(
            visitor, pending.filtered(lambda m: kinds[m] == "visitor")
        )
        identity.chat_id = str(session.id)
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        for message in pending:
            kind = kinds[message]
            values = {
                "conversation_id": conversation.id,
                "mail_message_id": message.id,
                "message_type": "document"
                if message.attachment_ids
                and not html2plaintext(message.body or "").strip()
                else "text",
                "provider_message_id": f"mail-{message.id}",
                "date": message.date or fields.Datetime.now(),
            }
            if kind == "visitor":
                mirror = Message.create(
                    dict(
                        values,
                        direction="in",
                        author_kind="customer",
                        status="received",
                    )
                )
                conversation._register_inbound(mirror)
            else:
                user = (
                    message.author_id.user_ids.filtered(lambda u: not u.share)[:1]
                    if kind == "agent"
                    else None
                )
                mirror = Message.create(
                    dict(
                        values,
                        direction="out",
                        author_kind="employee" if kind == "agent" else "auto",
                        author_user_id=user.id if user else False,
                        status="sent",
                        sent_date=values["date"],
                        lead_id=conversation.lead_id.id,
                    )
                )
                conversation._register_outbound(mirror)
                conversation._after_outbound(mirror)
        conversation._notify_panel()

    @api.model
    def _livechat_author_kind(self, session, message):
        """visitor, agent or bot - as im_livechat recorded the author's role."""
        history = session.livechat_channel_member_history_ids.filtered(
            lambda h: (
                (message.author_id and h.partner_id == message.author_id)
                or (message.author_guest_id and h.guest_id == message.author_guest_id)
            )
        )[:1]
        if history.livechat_member_type:
            return history.livechat_member_type
        return (
            "agent"
            if message.author_id and not message.author_id.partner_share
            else "visitor"
        )

    def _livechat_identity(self, visitor, visitor_messages):
        """The visitor's identity: a logged-in visitor is their partner; a
        guest is recognised by the email or phone they typed, if any."""
        self.ensure_one()
        Identity = self.env["omnichannel.identity"]
        public_partners = (
            self.env.ref("base.public_user")
            .sudo()
            .with_context(active_test=False)
            .partner_id
        )
        if visitor.partner_id and visitor.partner_id not in public_partners:
            partner = visitor.partner_id
            contact = connectors.Contact(
                user_id=f"partner-{partner.id}", name=partner.name
            )
            return Identity._resolve(self, contact, partner=partner)
        # Bounded, and scanned without backtracking: a guest's message is
        # customer text like any other (see _emails_in_text).
        text = "\n".join(html2plaintext(m.body or "") for m in visitor_messages)[
            :CONTACT_SCAN_CHARS
        ]
        emails = _emails_in_text(text)
        phones = [
            p
            for p in (
                Identity._sanitize_phone(m.group(0), self.company_id)
                for m in PHONE_IN_TEXT.finditer(text)
                if sum(c.isdigit() for c in m.group(0)) >= 9
            )
            if p
        ]
        guest = visitor.guest_id
        contact = connectors.Contact(
            user_id=f"guest-{guest.id}",
            name=connectors.clean_name(guest.name or "")[:200]
            or self.env._("Website visitor"),
            email=emails[0] if emails else "",
            phone=phones[0] if phones else "",
        )
        return Identity._resolve(self, contact)

    # -- Meta apps: one webhook for several accounts, messaging windows ----------
    # (their fields: omnichannel_channel_meta.py)
    def _channel_for_account(self, account_ref):
        """The channel account a webhook event addressed to ``account_ref``
        belongs to.  One Meta app delivers every page (or number) it serves
        to the same callback URL, so an event may arrive through the webhook
        of another account of the app: it goes to the active account of the
        same type whose provider ID it names and whose app secret is the one
        the request was signed with.  Empty when there is none."""
        self.ensure_one()
        if (
            not account_ref
            or not self.account_ref
            or account_ref == self.account_ref.strip()
        ):
            return self
        own_secret = self.sudo().app_secret or ""
        for sibling in self.sudo().search(
            [
                ("channel_type", "=", self.channel_type),
                ("id", "!=", self.id),
                ("account_ref", "=", account_ref),
            ]
        ):
            if (
                own_secret
                and sibling.app_secret
                and consteq(sibling.app_secret, own_secret)
            ):
                return sibling
        return self.browse()

    def _reply_window(self):
        """How long after the customer's last message free text may go."""
        self.ensure_one()
        if self.channel_type in ("messenger", "instagram") and self.meta_human_agent:
            return HUMAN_AGENT_WINDOW
        return STANDARD_WINDOW

    def _needs_human_agent_tag(self, conversation):
        """Messenger/Instagram answers after the standard 24 hours go with
        the HUMAN_AGENT tag (when the channel may use it)."""
        since = conversation.last_customer_message_date
        return (
            self.channel_type in ("messenger", "instagram")
            and self.meta_human_agent
            and bool(since)
            and fields.Datetime.now() - since >= STANDARD_WINDOW
        )

    # -- website: public links and the widget ---------------------------------
    # (their fields: omnichannel_channel_website.py)
    def _base_url(self):
        return (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("web.base.url", "")
            .rstrip("/")
        )

    def _deep_link(self):
        """The link a visitor opens a chat with, from the public handle and
        the type's ``deep_link`` (connectors.Connector)."""
        self.ensure_one()
        handle = (self.public_handle or "").strip()
        cls = self._connector_class()
        template = cls.deep_link
        if not handle or not template:
            return False
        if FULL_LINK.match(handle):
            return handle
        if cls.handle_format == "digits":
            digits = "".join(c for c in handle if c.isdigit())
            return template % digits if digits else False
        if cls.handle_format == "email":
            email = email_normalize(handle)
            return template % email if email else False
        return template % quote(handle.lstrip("@"), safe="")

    @api.model
    def _widget_data(self, company):
        """What the website widget offers the visitors of ``company``: a
        deep link per active account with a public handle, and the live chat."""
        accounts = self.sudo().search([("company_id", "=", company.id)])
        labels = dict(self._fields["channel_type"]._description_selection(self.env))
        linked = [
            (account, account._deep_link())
            for account in accounts
            if account.supports_public_link
        ]
        linked = [(account, link) for account, link in linked if link]
        # The visitor's UTM parameters (passed by the widget) ride in the
        # start payload of links that take one (Telegram's), as ids of
        # existing utm records.
        payload = self.env["omnichannel.deep.link"]._visitor_payload(
            self.env.context.get("omnichannel_visitor_utm")
        )
        if payload:
            linked = [
                (account, start_link(link, payload))
                if account._connector_class().deep_link_payload
                else (account, link)
                for account, link in linked
            ]
        type_count = {}
        for account, _link in linked:
            type_count[account.channel_type] = (
                type_count.get(account.channel_type, 0) + 1
            )
        channels = [
            {
                "type": account.channel_type,
                "label": labels[account.channel_type]
                if type_count[account.channel_type] == 1
                else f"{labels[account.channel_type]}: {account.name}",
                "url": link,
                "color": account.channel_color,
            }
            for account, link in linked
        ]
        livechat = accounts.filtered(
            lambda a: a.channel_type == "livechat" and a.livechat_channel_id
        )[:1]
        if livechat:
            channels.append(
                {
                    "type": "livechat",
                    "label": self.env._("Live chat"),
                    "url": f"{self._base_url()}/im_livechat/support/"
                    f"{livechat.livechat_channel_id.id}",
                    "color": livechat.channel_color,
                }
            )
        return {
            "title": self.env._("Write to us"),
            "company": company.name,
            "channels": channels,
        }

    # -- public routes: rate limits and Sandbox visitors -----------------------
    @api.model
    def _public_rate_limit(self, scope, address):
        """Count a public request (contact form, lead API, widget, Sandbox)
        on ``scope`` (a channel or a company, as 'channel:<id>') and on the
        visitor's ``address`` within it; return 0 when allowed, else the
        seconds to wait (Retry-After).  Limits per minute: settings
        omnichannel_inbox.rate_limit_per_address / _per_channel (0: none)."""
        params = self.env["ir.config_parameter"].sudo()

        def limit(key, default):
            try:
                return int(params.get_param(key, default))
            except ValueError:
                return default

        Counter = self.env["omnichannel.rate.limit"].sudo()
        scope_wait = Counter._hit(
            scope,
            limit("omnichannel_inbox.rate_limit_per_channel", DEFAULT_PER_CHANNEL),
        )
        address_wait = Counter._hit(
            "{}:{}".format(scope, address or "-"),
            limit("omnichannel_inbox.rate_limit_per_address", DEFAULT_PER_ADDRESS),
        )
        return max(scope_wait, address_wait)

    def _webhook_rate_limit(self, address):
        """The rate limit of the webhook route: for the channels anyone on
        the web posts to (the lead API of a website channel, the Sandbox);
        providers' own webhooks are not limited (their retries must land)."""
        self.ensure_one()
        if self.channel_type not in ("website", "sandbox"):
            return 0
        return self._public_rate_limit(f"channel:{self.id}", address)

    def _sandbox_visitor_token(self, session):
        """The token the Sandbox page hands a visitor with their session id:
        an HMAC of the channel and the session under the database secret.
        Only the server can issue it, so a visitor cannot read or write
        another visitor's conversation by choosing their session id, and the
        channel's webhook secret never reaches the browser."""
        self.ensure_one()
        return hmac(
            self.env(su=True),
            "omnichannel-sandbox-visitor",
            f"{self.id}:{session}",
        )

    def _sandbox_check_visitor(self, session, token):
        self.ensure_one()
        return (
            connectors.is_storable_id(session)
            and len(session) <= 100
            and isinstance(token, str)
            and consteq(token, self._sandbox_visitor_token(session))
        )

    # -- demo -------------------------------------------------------------------
    def _demo_feed_telegram_history(self):
        """Demo data: Telegram updates as the Bot API sends them, parsed by the
        connector and processed by the journal like live traffic, with the
        salesperson's reply between them (marked delivered: the demo bot is
        not real, so nothing is sent)."""
        import json

        self.ensure_one()
        now = fields.Datetime.now()
        user = {
            "id": 700100200,
            "is_bot": False,
            "first_name": "Ivan",
            "last_name": "Petrov",
            "username": "ivan_petrov_demo",
            "language_code": "ru",
        }
        admin = self.env.ref("base.user_admin")
        timeline = [
            (2880, "in", "Здравствуйте! Нужны 40 офисных кресел, есть в наличии?"),
            (2870, "in", "Доставка в Казань возможна?"),
            (
                2860,
                "out",
                "Добрый день, Иван! Кресла есть, доставка в Казань 2-3 дня. "
                "Предложение пришлю сегодня.",
            ),
            (30, "in", "Я решу через неделю, пришлите пока коммерческое предложение."),
        ]
        Journal = self.env["omnichannel.inbound.event"].sudo()
        connector = self._get_connector()
        conversation = self.env["omnichannel.conversation"]
        for index, (minutes_ago, direction, text) in enumerate(timeline, start=1):
            date = now - timedelta(minutes=minutes_ago)
            if direction == "in":
                update = {
                    "update_id": 900000 + index,
                    "message": {
                        "message_id": index,
                        "from": user,
                        "chat": {"id": user["id"], "type": "private"},
                        "date": int(date.timestamp()),
                        "text": text,
                    },
                }
                Journal._journal(
                    self, connector.parse({}, json.dumps(update).encode(), {})
                )._process()
                conversation = conversation.sudo().search(
                    [("channel_id", "=", self.id)], limit=1
                )
                if conversation.user_id != admin:
                    conversation._assign(admin, self.env._("demo salesperson"))
                continue
            mail_message = conversation.message_post(
                body=text,
                author_id=admin.partner_id.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            message = (
                self.env["omnichannel.message"]
                .sudo()
                .create(
                    {
                        "conversation_id": conversation.id,
                        "mail_message_id": mail_message.id,
                        "direction": "out",
                        "author_kind": "employee",
                        "author_user_id": admin.id,
                        "status": "delivered",
                        "provider_message_id": "{}:{}".format(user["id"], index),
                        "date": date,
                        "sent_date": date,
                        "lead_id": conversation.lead_id.id,
                    }
                )
            )
            conversation._register_outbound(message)
