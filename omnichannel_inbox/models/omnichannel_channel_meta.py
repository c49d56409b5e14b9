from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_datetime

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.meta import MetaConnector

ADMIN = "omnichannel_inbox.group_omnichannel_admin"
#: The channel types of Meta's platforms (WhatsApp, Messenger, Instagram).
META_TYPES = tuple(
    cls.code for cls in connectors.connector_classes() if issubclass(cls, MetaConnector)
)


class OmnichannelChannel(models.Model):
    """Settings and rules of the Meta channel accounts (WhatsApp Business
    Cloud API numbers, Facebook pages, Instagram accounts)."""

    _inherit = "omnichannel.channel"

    whatsapp_business_account_id = fields.Char(
        "WhatsApp Business Account ID",
        help="The WABA the phone number belongs to: its approved message templates "
        "are listed from it.",
    )
    meta_human_agent = fields.Boolean(
        "Human agent tag",
        help="Meta granted this app the Human Agent permission: a person may answer "
        "up to 7 days after the customer's last message (instead of 24 hours). "
        "Leave off otherwise: Meta refuses such messages.",
    )
    whatsapp_template_ids = fields.One2many(
        "omnichannel.whatsapp.template", "channel_id", string="Message templates"
    )
    whatsapp_template_count = fields.Integer(compute="_compute_whatsapp_template_count")

    def _compute_whatsapp_template_count(self):
        counts = dict(
            self.env["omnichannel.whatsapp.template"]._read_group(
                [("channel_id", "in", self.ids)], ["channel_id"], ["__count"]
            )
        )
        for channel in self:
            channel.whatsapp_template_count = counts.get(channel, 0)

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.channel_type == "whatsapp" and self.whatsapp_business_account_id:
            extra["waba_id"] = self.whatsapp_business_account_id.strip()
        return extra

    # ------------------------------------------------------------------
    # Messaging windows
    # ------------------------------------------------------------------
    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        if self.channel_type not in META_TYPES or (
            template and self.channel_type == "whatsapp"
        ):
            return
        since = conversation.last_customer_message_date
        if since and fields.Datetime.now() - since < self._reply_window():
            return
        customer = conversation.partner_id.name or ""
        if self.channel_type == "whatsapp":
            if not since:
                raise UserError(
                    self.env._(
                        "%(customer)s has not written to this WhatsApp number yet. "
                        "WhatsApp lets a business start a conversation only with an "
                        "approved message template: choose one below.",
                        customer=customer,
                    )
                )
            raise UserError(
                self.env._(
                    "WhatsApp lets a business write freely only within 24 hours of "
                    "the customer's last message; %(customer)s last wrote on "
                    "%(date)s. Send an approved message template instead: when the "
                    "customer answers, you can write freely again for 24 hours.",
                    customer=customer,
                    date=format_datetime(self.env, since),
                )
            )
        platform = dict(
            self._fields["channel_type"]._description_selection(self.env)
        ).get(self.channel_type)
        if self.meta_human_agent:
            rule = self.env._(
                "%(platform)s lets a person answer only within 7 days of the "
                "customer's last message.",
                platform=platform,
            )
        else:
            rule = self.env._(
                "%(platform)s lets a business answer only within 24 hours of the "
                "customer's last message.",
                platform=platform,
            )
        if since:
            when = self.env._(
                "%(customer)s last wrote on %(date)s.",
                customer=customer,
                date=format_datetime(self.env, since),
            )
        else:
            when = self.env._(
                "%(customer)s has not written to this account yet.", customer=customer
            )
        advice = self.env._(
            "Reach the customer on another of their channels, or wait until they "
            "write again."
        )
        # three translated sentences, one after the other
        raise UserError(" ".join((rule, when, advice)))

    # ------------------------------------------------------------------
    # Administration
    # ------------------------------------------------------------------
    def action_check_webhook(self):
        """Meta accounts: show what Graph API says of the number / page /
        Instagram account and of its webhook subscription."""
        self.ensure_one()
        if self.channel_type not in META_TYPES:
            return super().action_check_webhook()
        self._check_admin()
        try:
            info = self._get_connector().webhook_info()
        except connectors.ConnectorError as exc:
            message = self.env._("Meta refused the connection check: %s", exc)
            self.sudo().webhook_status = message
            return self._notify(message, "danger", sticky=True)
        details = info.get("details") or {}
        labels = {
            "quality_rating": self.env._("Quality rating"),
            "code_verification_status": self.env._("Verification"),
            "subscribed_fields": self.env._("Subscribed webhook fields"),
        }
        lines = [self.env._("Connected to: %s", info.get("account") or "-")]
        lines += [
            "{}: {}".format(labels.get(key, key), value or "-")
            for key, value in details.items()
        ]
        if self.channel_type == "whatsapp":
            lines.append(
                self.env._(
                    "Webhook URL: %s",
                    info.get("url") or self.env._("the app's default"),
                )
            )
        lines.append(
            self.env._(
                "Delivers to this channel: %s",
                self.env._("yes") if info.get("matches") else self.env._("no"),
            )
        )
        status = "\n".join(lines)
        self.sudo().webhook_status = status
        return self._notify(
            status, "success" if info.get("matches") else "warning", sticky=True
        )

    def action_register_webhook(self):
        """Messenger and Instagram have one callback URL per Meta app, set in
        its dashboard: here the app is subscribed to this account's messages."""
        self.ensure_one()
        if self.channel_type not in ("messenger", "instagram"):
            return super().action_register_webhook()
        self._check_admin()
        try:
            self._get_connector().register_webhook()
        except connectors.ConnectorError as exc:
            raise UserError(
                self.env._("Meta refused the subscription: %s", exc)
            ) from None
        self.sudo().webhook_status = self.env._(
            "The app is subscribed to this account's messages. Its webhook URL in the "
            "Meta dashboard must be %s (or the Webhook URL of another account of the "
            "same app).",
            self.sudo().webhook_url,
        )
        return self._notify(
            self.env._("Subscribed to the account's messages."), "success"
        )

    def action_sync_whatsapp_templates(self):
        """Read the message templates of the WhatsApp Business Account."""
        self.ensure_one()
        self._check_admin()
        if self.channel_type != "whatsapp":
            raise UserError(
                self.env._("Only WhatsApp accounts have message templates.")
            )
        try:
            templates = self._get_connector().list_templates()
        except connectors.ConnectorError as exc:
            raise UserError(
                self.env._("Meta refused to list the message templates: %s", exc)
            ) from None
        count = (
            self.env["omnichannel.whatsapp.template"]
            .sudo()
            ._sync_from_meta(self, templates)
        )
        return self._notify(
            self.env._("%s message templates read from WhatsApp.", count), "success"
        )

    def action_view_whatsapp_templates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_whatsapp_template_action"
        )
        action["domain"] = [("channel_id", "=", self.id)]
        action["context"] = {"default_channel_id": self.id}
        return action

    @api.constrains("channel_type", "account_ref")
    def _check_meta_account_ref(self):
        for channel in self:
            if (
                channel.channel_type in META_TYPES
                and channel.account_ref
                and not channel.account_ref.strip().isdigit()
            ):
                raise ValidationError(
                    self.env._(
                        "The provider account ID of a Meta account is a number (phone "
                        "number ID, page ID or Instagram account ID), not %s.",
                        channel.account_ref,
                    )
                )
