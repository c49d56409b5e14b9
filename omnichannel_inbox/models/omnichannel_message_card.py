from odoo import api, fields, models
from odoo.exceptions import UserError


class OmnichannelMessage(models.Model):
    """A contact card in a customer's message (Telegram, Viber, WhatsApp).

    A card is someone's phone the customer passes on: shown as a card that
    can be saved as a new contact, it never changes who the sender is (see
    omnichannel.identity._link_contact_details for the sender's own card)."""

    _inherit = "omnichannel.message"

    card_name = fields.Char("Contact card name", readonly=True)
    card_phone = fields.Char("Contact card phone", readonly=True)
    card_email = fields.Char("Contact card email", readonly=True)
    card_partner_id = fields.Many2one(
        "res.partner", string="Saved contact", readonly=True, ondelete="set null"
    )

    def _panel_values(self):
        values = super()._panel_values()
        cards = {m.id: m for m in self if m.card_phone or m.card_email}
        for value in values:
            message = cards.get(value["id"])
            value["card"] = message and {
                "name": message.card_name or "",
                "phone": message.card_phone or "",
                "email": message.card_email or "",
                "saved_partner_id": message.card_partner_id.id or False,
            }
        return values

    @api.model
    def panel_save_card(self, res_model, res_id, message_id):
        """Save the card of ``message_id`` (in the history the panel shows)
        as a new contact, unrelated to the sender; return its id."""
        _record, _partners, domain = self._panel_scope(res_model, res_id)
        message = self.sudo().search(domain + [("id", "=", int(message_id))], limit=1)
        if not message or not (message.card_phone or message.card_email):
            raise UserError(self.env._("This message holds no contact card."))
        if message.card_partner_id:
            return message.card_partner_id.id
        Partner = self.env["res.partner"]
        Partner.check_access("create")
        partner = Partner.create(
            {
                "name": message.card_name or message.card_phone or message.card_email,
                "phone": message.card_phone or False,
                "email": message.card_email or False,
                "company_id": message.channel_id.company_id.id,
            }
        )
        partner._message_log(
            body=self.env._(
                "Saved from a contact card %(customer)s shared on %(channel)s.",
                customer=message.partner_id.name,
                channel=message.channel_id.name,
            )
        )
        message.card_partner_id = partner
        return partner.id
