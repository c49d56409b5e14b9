from odoo import api, fields, models

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_channel import ADMIN


class OmnichannelChannel(models.Model):
    """An SMSC.ru account (channel type ``sms_smsc``): its login, the
    password or API key (the channel's encrypted ``token``), the sender name,
    and the handler URL to enter in the SMSC cabinet, which carries the
    channel's webhook secret (see connectors/smsc.py)."""

    _inherit = "omnichannel.channel"

    smsc_login = fields.Char(
        "SMSC.ru login",
        groups=ADMIN,
        help="The login of the SMSC.ru account. Empty: the password field holds an "
        "API key (SMSC.ru settings), which is used alone.",
    )
    smsc_sender = fields.Char(
        "SMSC.ru sender name",
        help="Sender name (Sender ID) registered in the SMSC.ru account. Empty: "
        "the account's default sender.",
    )
    smsc_callback_url = fields.Char(
        "Handler address for SMSC.ru",
        compute="_compute_smsc_callback_url",
        groups=ADMIN,
        help="Enter this address in the SMSC.ru settings as the handler of statuses "
        "and incoming messages. It carries the webhook secret: keep it private.",
    )

    @api.depends("channel_type", "webhook_key", "webhook_secret")
    def _compute_smsc_callback_url(self):
        for channel in self:
            url = False
            if channel.channel_type == "sms_smsc":
                config = connectors.ChannelConfig(
                    secret=channel.webhook_secret or "",
                    webhook_url=channel.webhook_url or "",
                )
                url = channel._connector_class()(config).callback_url() or False
            channel.smsc_callback_url = url

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.channel_type == "sms_smsc":
            channel = self.sudo()
            extra.update(
                login=channel.smsc_login or "", sender=channel.smsc_sender or ""
            )
        return extra

    def action_smsc_check_connection(self):
        """Ask SMSC.ru for the account's balance: the credentials and the
        API address work."""
        self.ensure_one()
        self._check_admin()
        try:
            balance = self._get_connector().balance()
        except connectors.ConnectorError as exc:
            return self._notify(
                self.env._("Connection failed: %s", exc), "danger", sticky=True
            )
        return self._notify(
            self.env._("Connection works. Balance: %s", balance), "success"
        )
