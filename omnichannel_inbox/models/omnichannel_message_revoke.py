from markupsafe import Markup

from odoo import fields, models


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    is_revoked = fields.Boolean(
        "Deleted by the customer",
        readonly=True,
        help="The customer deleted this message in their app; its text is kept for the record.",
    )
    revoke_date = fields.Datetime("Deleted on", readonly=True)

    def _apply_edit(self, body):
        """The customer's new text, saying it was edited."""
        note = Markup("<p><i>%s</i></p>") % self.env._("Edited by the customer")
        super()._apply_edit(body + note)

    def _apply_revoke(self, date):
        """The customer deleted the message ("unsent" it): it stays in the
        history, marked, so that what was said is not lost to the team."""
        self.ensure_one()
        if self.is_revoked:
            return
        note = Markup("<p><i>🗑 %s</i></p>") % self.env._(
            "The customer deleted this message on %s; its text is kept for the record.",
            fields.Datetime.to_string(date),
        )
        self.mail_message_id.sudo().write(
            {"body": note + (self.mail_message_id.body or "")}
        )
        self.write({"is_revoked": True, "revoke_date": date})
        self.conversation_id._notify_panel()
