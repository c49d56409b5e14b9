from odoo import models


class ResPartner(models.Model):
    """Loaded after res_partner_privacy: extends its forget."""

    _inherit = "res.partner"

    def _omnichannel_forget(self):
        """Forgetting a customer also drops the suggestions about them (they
        hold the phone or email in common) and the contact cards of their
        messages; the links keep only record ids, for the undo."""
        scopes = [partner._omnichannel_forget_scope() for partner in self]
        result = super()._omnichannel_forget()
        for scope in scopes:
            self.env["omnichannel.identity.suggestion"].sudo().search(
                [
                    "|",
                    ("identity_id", "in", scope["identities"].ids),
                    ("partner_id", "in", scope["partners"].ids),
                ]
            ).unlink()
            self.env["omnichannel.message"].sudo().search(
                [
                    ("conversation_id", "in", scope["conversations"].ids),
                    "|",
                    ("card_phone", "!=", False),
                    ("card_email", "!=", False),
                ]
            ).write({"card_name": False, "card_phone": False, "card_email": False})
        return result
