import json
import re
from urllib.parse import quote

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq, email_normalize
from odoo.tools.misc import hmac

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.telegram_deeplink import start_link

from .omnichannel_rate_limit import DEFAULT_PER_ADDRESS, DEFAULT_PER_CHANNEL

FULL_LINK = re.compile(r"^(https?://|viber://|tg://|mailto:|sms:)", re.IGNORECASE)
WIDGET_SCRIPT = "/omnichannel_inbox/static/src/widget/omnichannel_widget.js"


class OmnichannelChannel(models.Model):
    """Website side of the channel accounts: the public handle each account
    shows in the website widget, and the website form / lead API accounts
    (one per source, each with its API key and contact page)."""

    _inherit = "omnichannel.channel"

    public_handle = fields.Char(
        "Public handle",
        help="How visitors reach this account, shown in the website widget: the bot's "
        "@username (Telegram), the phone number (WhatsApp, SMS), the chat URI "
        "(Viber), the community's short name (VK), the page's username "
        "(Messenger), the Instagram username, the address (email) - or a full "
        "link. Leave empty to keep the account out of the widget.",
    )
    public_link = fields.Char("Link for visitors", compute="_compute_public_link")
    contact_form_url = fields.Char(
        "Contact page", compute="_compute_contact_form_url", compute_sudo=True
    )
    widget_url = fields.Char("Widget data", compute="_compute_widget_code")
    widget_embed_code = fields.Text(
        "Code to paste in your website", compute="_compute_widget_code"
    )

    @api.depends("public_handle", "channel_type")
    def _compute_public_link(self):
        for channel in self:
            channel.public_link = channel._deep_link()

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

    def _base_url(self):
        return (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("web.base.url", "")
            .rstrip("/")
        )

    @api.depends("channel_type")
    def _compute_contact_form_url(self):
        base = self._base_url()
        for channel in self:
            channel.contact_form_url = (
                f"{base}/omnichannel/contact/{channel.webhook_key}"
                if channel.channel_type == "website" and channel.webhook_key
                else False
            )

    @api.depends("channel_type", "company_id")
    def _compute_widget_code(self):
        base = self._base_url()
        for channel in self:
            if channel.channel_type != "website":
                channel.widget_url = channel.widget_embed_code = False
                continue
            channel.widget_url = f"{base}/omnichannel/widget/{channel.company_id.id}"
            channel.widget_embed_code = (
                "<!-- {form_label} -->\n"
                '<iframe src="{form}" title="{form_label}" '
                'style="width:100%;min-height:640px;border:0"></iframe>\n'
                "<!-- {widget_label} -->\n"
                '<script src="{base}{script}" data-omnichannel-widget="{data}" '
                "async></script>"
            ).format(
                form_label=self.env._("Contact form"),
                form=channel.contact_form_url,
                widget_label=self.env._("Messenger buttons"),
                base=base,
                script=WIDGET_SCRIPT,
                data=channel.widget_url,
            )

    # ------------------------------------------------------------------
    # Website widget
    # ------------------------------------------------------------------
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
        # Telegram link's start payload, as ids of existing utm records.
        payload = self.env["omnichannel.deep.link"]._visitor_payload(
            self.env.context.get("omnichannel_visitor_utm")
        )
        if payload:
            linked = [
                (account, start_link(link, payload))
                if account.channel_type == "telegram"
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

    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        if self.channel_type == "website":
            raise UserError(
                self.env._(
                    "A website form cannot be answered on the website: reply by email "
                    "or on another of the customer's channels."
                )
            )

    # ------------------------------------------------------------------
    # Public pages: request limits and Sandbox visitors
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # Lead API answers
    # ------------------------------------------------------------------
    def _webhook_answer(self, connector, events, new_events):
        """The lead API answers what became of the submission: 201 with the
        lead when it was just processed, 200 with the same lead for a replay
        (same submission id), 202 when it is journaled and waits for the
        background processing."""
        if self.channel_type != "website" or not events:
            return super()._webhook_answer(connector, events, new_events)
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.id),
                    ("provider_event_id", "=", str(events[0].event_id)[:255]),
                ],
                limit=1,
            )
        )
        body = {"submission_id": row.provider_event_id or str(events[0].event_id)}
        if row.state == "done" and row.message_id:
            status = 201 if row in new_events else 200
            body.update(
                status="created" if status == 201 else "duplicate",
                lead_id=row.message_id.lead_id.id or None,
                partner_id=row.message_id.partner_id.id,
            )
        elif row.state == "ignored":
            status = 200
            body.update(status="ignored", lead_id=None)
        else:
            status = 202
            body.update(status="accepted", lead_id=None)
        return connectors.HttpAnswer(status, json.dumps(body), "application/json")
