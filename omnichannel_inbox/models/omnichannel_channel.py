import logging
import re
import secrets

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors

from . import omnichannel_crypto as crypto
from .omnichannel_crypto import EncryptedChar

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
        return self.sudo().search([("webhook_key", "=", key)], limit=1)

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

    # -- demo -------------------------------------------------------------------
    def _demo_feed_telegram_history(self):
        """Demo data: Telegram updates as the Bot API sends them, parsed by the
        connector and processed by the journal like live traffic, with the
        salesperson's reply between them (marked delivered: the demo bot is
        not real, so nothing is sent)."""
        import json
        from datetime import timedelta

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
