import logging

from odoo import fields, models
from odoo.tools import plaintext2html

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.avito import listing_of

from .omnichannel_channel import ADMIN

_logger = logging.getLogger(__name__)


class OmnichannelChannel(models.Model):
    """Avito settings: the Avito user id of the account is the channel's
    provider account id, the OAuth client secret its app secret; the client
    id is Avito's own field.  The access token is never stored (the
    connector keeps it in memory)."""

    _inherit = "omnichannel.channel"

    avito_client_id = fields.Char(
        "Avito client ID",
        groups=ADMIN,
        copy=False,
        help="Client ID of the API access (Avito Pro > Integrations > API).",
    )

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.channel_type == "avito":
            extra["client_id"] = self.sudo().avito_client_id or ""
        return extra


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    def _process_message(self, event, final_attempt=False):
        """A message in an Avito chat: the chat's listing is the subject and
        the campaign of the lead it opens (and the customer's name, which the
        webhook does not carry, comes from the chat)."""
        if (
            self.channel_id.channel_type != "avito"
            or event.kind != "message"
            or not event.chat_id
        ):
            return super()._process_message(event, final_attempt=final_attempt)
        known_chat = (
            self.env["omnichannel.identity"]
            .sudo()
            .search_count(
                [
                    ("channel_id", "=", self.channel_id.id),
                    ("provider_user_id", "=", event.sender.user_id),
                    ("chat_id", "=", event.chat_id),
                ],
                limit=1,
            )
        )
        # The chat is read once, at its first message: its listing named the
        # lead then, and Avito's API limits are not spent on every message.
        lead_values = {} if known_chat else self._avito_chat_details(event)
        if not lead_values:
            return super()._process_message(event, final_attempt=final_attempt)
        context_values = dict(
            self.env.context.get("omnichannel_form_lead_values") or {}, **lead_values
        )
        return super(
            OmnichannelInboundEvent,
            self.with_context(omnichannel_form_lead_values=context_values),
        )._process_message(event, final_attempt=final_attempt)

    def _avito_chat_details(self, event):
        """Read the chat from Avito: fill the event's sender name and UTM
        campaign, and return the values of a new lead (name, description).
        Avito unreachable: the message goes on without them."""
        try:
            chat = self.channel_id._get_connector().fetch_chat(event.chat_id)
        except connectors.ConnectorError as exc:
            _logger.info(
                "Omnichannel: Avito chat of event %s not read: %s", self.id, exc
            )
            return {}
        if not event.sender.name:
            for user in chat.get("users") or []:
                if isinstance(user, dict) and str(user.get("id")) == (
                    event.sender.user_id
                ):
                    event.sender.name = connectors.clean_name(user.get("name") or "")
        listing = listing_of(chat)
        if not listing:
            return {}
        title = listing["title"] or listing["id"]
        # The campaign is the listing: its id keeps two listings of the same
        # title apart, its title makes the reports readable.
        event.utm_campaign = event.utm_campaign or self.env._(
            "Avito %(id)s: %(title)s", id=listing["id"], title=title
        )
        description = "\n".join(
            p for p in (listing["title"], listing["price"], listing["url"]) if p
        )
        return {
            "name": self.env._("Avito: %s", title),
            "description": plaintext2html(description),
        }
