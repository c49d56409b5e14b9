from odoo import api, models

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_inbound_event import _event_datetime


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    @api.model
    def _journal(self, channel, events):
        """Events naming another provider account (one Meta app delivers all
        its pages or numbers to one callback URL) are journaled under the
        channel account they are addressed to; when there is none, under the
        receiving channel, as ignored with the reason."""
        by_channel = {}
        for event in events:
            account_ref = getattr(event, "account_ref", "")
            target = (
                channel._channel_for_account(account_ref) if account_ref else channel
            )
            if not target:
                event = connectors.IgnoredEvent(
                    event.event_id,
                    account_ref=account_ref,
                    reason=f"addressed to account {account_ref}: no channel account "
                    f"of type {channel.channel_type} has this provider ID "
                    "and the same app secret",
                )
                target = channel
            by_channel.setdefault(target, []).append(event)
        rows = self.browse()
        for target, target_events in by_channel.items():
            rows |= super()._journal(target, target_events)
        return rows

    def _process_status_watermark(self, event, final_attempt=False):
        """Messenger "delivered"/"read" up to a moment: every message we sent
        the customer before it reached that state."""
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.channel_id.id),
                    ("identity_id.provider_user_id", "=", event.recipient_id),
                ],
                limit=1,
            )
        )
        if not conversation:
            return {
                "state": "ignored",
                "note": self.env._("status of an unknown customer"),
            }
        messages = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", conversation.id),
                    ("direction", "=", "out"),
                    ("status", "in", ("sent", "delivered")),
                    ("sent_date", "<=", _event_datetime(event.watermark)),
                ]
            )
        )
        for message in messages:
            message._apply_status(event.status)
        return {"conversation_id": conversation.id, "message_id": messages[:1].id}
