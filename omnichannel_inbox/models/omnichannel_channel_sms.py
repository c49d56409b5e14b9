from odoo import SUPERUSER_ID, api, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.twilio_sms import TwilioSmsConnector


class OmnichannelChannel(models.Model):
    """An SMS channel is one Twilio phone number (``account_ref``) of the
    company's Twilio account, the one Odoo's own ``sms_twilio`` configures
    (Settings > SMS > Twilio: Account SID, Auth Token): the credentials live
    in one place for every SMS Odoo sends.  Replies go out through Odoo's
    sms stack (``sms.sms``, see sms_sms.py) from this channel's number."""

    _inherit = "omnichannel.channel"

    @api.constrains("channel_type", "account_ref")
    def _check_sms_number(self):
        for channel in self.filtered(
            lambda c: c.channel_type == "sms" and c.account_ref
        ):
            if not channel._sms_number():
                raise ValidationError(
                    self.env._(
                        "%s is not a phone number. Enter the Twilio number of this "
                        "channel in international format, for example +12025550123.",
                        channel.account_ref,
                    )
                )

    @api.constrains("channel_type", "api_base_url")
    def _check_sms_api_address(self):
        # An SMS channel signs its requests with the company's Twilio account
        # (Settings > SMS), which only Settings administrators manage: the
        # address those credentials are sent to is theirs to change too, not
        # an Omnichannel administrator's (who could point it at their own
        # server and read the Auth Token off the first reply).
        # Constraints run as sudo: the user is who wrote, sudo or not.
        if self.env.uid == SUPERUSER_ID or self.env.user._is_system():
            return
        if any(c.channel_type == "sms" and c.sudo().api_base_url for c in self):
            raise AccessError(
                self.env._(
                    "The API address of an SMS channel carries the company's Twilio "
                    "credentials: only a Settings administrator may set it."
                )
            )

    def _sms_number(self):
        """The channel's Twilio number in E.164."""
        self.ensure_one()
        return self.env["omnichannel.identity"]._sanitize_phone(
            self.account_ref, self.company_id
        )

    def _connector_config(self):
        config = super()._connector_config()
        if self.channel_type == "sms":
            company = self.company_id.sudo()
            config.token = company.sms_twilio_auth_token or ""
            config.account_ref = self._sms_number() or ""
            config.extra["account_sid"] = company.sms_twilio_account_sid or ""
        return config

    def _sms_blacklisted(self, number):
        sanitized = self.env["omnichannel.identity"]._sanitize_phone(
            number, self.company_id
        )
        return bool(sanitized) and bool(
            self.env["phone.blacklist"]
            .sudo()
            .search_count([("number", "=", sanitized), ("active", "=", True)], limit=1)
        )

    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        # every SMS gateway (Twilio, SMSC.ru): the blacklist is the customer's
        # "no SMS", whichever gateway the channel uses
        if self.channel_kind == "sms":
            number = (
                conversation.identity_id.chat_id
                or conversation.identity_id.provider_user_id
            )
            if self._sms_blacklisted(number):
                raise UserError(
                    self.env._(
                        "%s is on the SMS blacklist: the customer asked not to "
                        "receive SMS. Answer on another of their channels.",
                        number,
                    )
                )

    def _send_outbound(self, message):
        """An SMS reply is an ``sms.sms`` of Odoo's sms stack, sent at once
        from this channel's number (a retry reuses the same record)."""
        if self.channel_kind != "sms":
            return super()._send_outbound(message)
        payload = message._outbound_payload()
        if self._sms_blacklisted(payload.recipient_id):
            raise connectors.SendError(
                self.env._("The number is on the SMS blacklist."), code="sms_blacklist"
            )
        if self.channel_type != "sms":
            # another gateway (SMSC.ru): its connector sends
            return super()._send_outbound(message)
        Sms = self.env["sms.sms"].sudo()
        vals = {
            "number": payload.recipient_id,
            "body": TwilioSmsConnector.sms_body(payload),
            "partner_id": message.partner_id.id,
            "mail_message_id": message.mail_message_id.id,
            "record_company_id": self.company_id.id,
            "omnichannel_message_id": message.id,
            "state": "outgoing",
            "failure_type": False,
        }
        sms = Sms.search(
            [("omnichannel_message_id", "=", message.id), ("state", "!=", "canceled")],
            limit=1,
        )
        if sms:
            sms.write(vals)
        else:
            sms = Sms.create(vals)
        return sms._omnichannel_send(self)

    def action_open_twilio_account(self):
        """Odoo's own Twilio settings (Account SID, Auth Token, numbers)."""
        self.ensure_one()
        return self.company_id._action_open_sms_twilio_account_manage()
