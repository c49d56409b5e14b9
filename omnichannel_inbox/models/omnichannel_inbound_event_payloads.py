"""What providers say besides a customer's message: where the customer came
from (UTM of deep links, ads, opt-ins), deleted messages, button presses,
call transcripts.  Each event kind the connectors produce has its
``_process_<kind>`` here."""

import json
from datetime import timedelta

from odoo import fields, models

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_inbound_event import UTM_FIELDS, _event_datetime


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    def _process_message(self, event, final_attempt=False):
        """A message carrying UTM (Telegram /start payload, Meta ad referral),
        or following a referral that found no lead (an opt-in, an ad click
        before any message): the lead it opens takes them; an open lead
        without a campaign gets them."""
        values = self._utm_lead_values(event) if event.kind == "message" else {}
        referral_row = self.browse()
        if (
            not values
            and event.kind == "message"
            and self.channel_id._connector_class().sends_referrals
        ):
            referral_row, referral = self._pending_referral(event.sender.user_id)
            values = self._utm_lead_values(referral) if referral_row else {}
        if not values:
            return super()._process_message(event, final_attempt=final_attempt)
        context_values = dict(
            self.env.context.get("omnichannel_form_lead_values") or {}, **values
        )
        result = super(
            OmnichannelInboundEvent,
            self.with_context(omnichannel_form_lead_values=context_values),
        )._process_message(event, final_attempt=final_attempt)
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo()
            .browse(result.get("conversation_id"))
        )
        lead = conversation.lead_id
        if lead and any(lead[field].id != value for field, value in values.items()):
            # Noted by the webhook: in the language of who reads the lead.
            reader = self.with_context(lang=conversation._reader_lang(lead.user_id))
            reader._apply_utm(lead, values)
        if referral_row and conversation:
            referral_row.sudo().write(
                {
                    "state": "done",
                    "conversation_id": conversation.id,
                    "note": self.env._("applied to the lead of the next message"),
                }
            )
        return result

    def _pending_referral(self, user_id, days=30):
        """The latest referral of ``user_id`` on this channel that found no
        lead (journaled as ignored) in the last ``days``: (row, event)."""
        rows = self.sudo().search(
            [
                ("channel_id", "=", self.channel_id.id),
                ("event_kind", "=", "referral"),
                ("state", "=", "ignored"),
                ("conversation_id", "=", False),
                ("received_date", ">=", fields.Datetime.now() - timedelta(days=days)),
            ],
            order="id desc",
            limit=50,
        )
        for row in rows:
            referral = connectors.event_from_dict(json.loads(row.payload))
            if referral.sender and referral.sender.user_id == user_id:
                return row, referral
        return self.browse(), None

    def _process_referral(self, event, final_attempt=False):
        """An ad, a link or an opt-in brought a customer without a message
        (Messenger ``referral`` / ``optin``): their open lead says so."""
        values = self._utm_lead_values(event)
        identity = (
            self.env["omnichannel.identity"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.channel_id.id),
                    ("provider_user_id", "=", event.sender.user_id),
                ],
                limit=1,
            )
        )
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.channel_id.id),
                    ("identity_id", "=", identity.id),
                ],
                limit=1,
            )
            if identity
            else None
        )
        lead = conversation.lead_id if conversation else None
        where = (
            " / ".join(getattr(event, key) for key in UTM_FIELDS if getattr(event, key))
            or "-"
        )
        if not lead or not lead.active or lead.won_status != "pending":
            # Nothing to describe yet (an opt-in, an ad click before any
            # message): the customer's next message takes it (_pending_referral).
            return {
                "state": "ignored",
                "note": self.env._(
                    "came through %(where)s but has no open lead on this channel yet",
                    where=where,
                )[:255],
            }
        reader = self.with_context(lang=conversation._reader_lang(lead.user_id))
        reader._apply_utm(
            lead,
            values,
            description=reader.env._(event.note.split("\n")[0]) if event.note else "",
        )
        return {"conversation_id": conversation.id, "note": where[:255]}

    def _process_revoke(self, event, final_attempt=False):
        """The customer deleted one of their messages: it is marked deleted,
        its text kept for the record."""
        message = self.env["omnichannel.message"]._find_by_provider_id(
            self.channel_id, event.message_id
        )
        if not message:
            return {
                "state": "ignored",
                "note": self.env._("deletion of a message that is not in the history"),
            }
        message._apply_revoke(_event_datetime(event.date))
        return {"message_id": message.id, "conversation_id": message.conversation_id.id}

    def _process_button_press(self, event, final_attempt=False):
        """A callback button of one of our messages was pressed (VK): the
        press is answered so that the customer's button stops waiting."""
        connector = self.channel_id._get_connector()
        try:
            connector.answer_button(event)
        except connectors.SendError as exc:
            if exc.retryable and not final_attempt:
                raise
            return {
                "state": "ignored",
                "note": self.env._(
                    "button pressed (%(payload)s), not answered: %(error)s",
                    payload=event.payload,
                    error=exc.message,
                )[:255],
            }
        return {"note": self.env._("button pressed: %s", event.payload or "-")[:255]}

    def _process_call_transcript(self, event, final_attempt=False):
        """The provider's transcript of a call's recording."""
        return self.env["omnichannel.call"]._apply_transcript(
            self.channel_id, event, final_attempt=final_attempt
        )
