from odoo import fields, models

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.sms_twilio.tools.sms_api import SmsApiTwilio


class OmnichannelSmsApi(SmsApiTwilio):
    """The sms stack's API for the SMS of an omnichannel SMS channel.

    Odoo's sms stack (``sms.sms._send_with_api``) hands it the SMS to send;
    it sends each through the channel's Twilio connector - from the channel's
    own number, to its api_base_url, with the channel's webhook as status
    callback - and answers in the stack's terms, Twilio error codes mapped to
    failure types by sms_twilio's own table.  ``outcomes`` keeps, per SMS
    uuid, the connector's SendResult or SendError."""

    def __init__(self, env, channel):
        super().__init__(env)
        self._set_company(channel.company_id)
        self.channel = channel
        self.outcomes = {}

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        connector = self.channel._get_connector()
        results = []
        for message in messages:
            for number in message.get("numbers") or []:
                uuid = number["uuid"]
                try:
                    sent = connector.send(
                        connectors.OutboundMessage(
                            recipient_id=number["number"],
                            text=message.get("content") or "",
                        )
                    )
                except connectors.SendError as exc:
                    self.outcomes[uuid] = exc
                    state = (
                        "server_error"
                        if exc.retryable
                        else self._twilio_error_code_to_odoo_state(
                            {"code": _int(exc.code), "message": exc.message}
                        )
                    )
                    results.append(
                        {"uuid": uuid, "state": state, "failure_reason": exc.message}
                    )
                else:
                    self.outcomes[uuid] = sent
                    results.append(
                        {
                            "uuid": uuid,
                            "state": "sent",
                            "failure_reason": False,
                            "sms_twilio_sid": sent.message_id,
                        }
                    )
        return results


class SmsSms(models.Model):
    _inherit = "sms.sms"

    omnichannel_message_id = fields.Many2one(
        "omnichannel.message",
        string="Channel message",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The reply of an omnichannel SMS conversation this SMS carries.",
    )

    def _split_by_api(self):
        # Whoever sends them (this addon, the SMS queue, a resend from the SMS
        # list), SMS of a conversation always leave from their channel's number.
        ours = self.filtered("omnichannel_message_id")
        for channel, sms in ours.grouped(
            lambda s: s.omnichannel_message_id.channel_id
        ).items():
            yield OmnichannelSmsApi(self.env, channel), sms
        if self - ours:
            yield from super(SmsSms, self - ours)._split_by_api()

    def _omnichannel_send(self, channel):
        """Send these SMS now through the sms stack; the connector's outcome
        (SendResult) is returned, or its SendError raised."""
        self.ensure_one()
        api = OmnichannelSmsApi(self.env, channel)
        self._send_with_api(
            api, unlink_failed=False, unlink_sent=True, raise_exception=False
        )
        outcome = api.outcomes.get(self.uuid)
        if isinstance(outcome, connectors.SendError):
            raise outcome
        if outcome is None:
            raise connectors.SendError(
                self.env._("The SMS could not be handed to Twilio."),
                code="sms_server",
                retryable=True,
            )
        return outcome


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
