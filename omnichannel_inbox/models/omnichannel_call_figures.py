from odoo import models


class OmnichannelCall(models.Model):
    """A call in which a person spoke with the customer answers their wait,
    as a reply does: its response figures are stored on the call's entry."""

    _inherit = "omnichannel.call"

    def _register_employee_contact(self, date):
        conversation = self.conversation_id.sudo()
        wait = conversation._wait_state() if conversation else None
        result = super()._register_employee_contact(date)
        if (
            wait
            and wait["waiting_since"]
            and not conversation.waiting_since
            and self.message_id
        ):
            conversation._register_response(self.message_id, self.user_id, date, wait)
        return result
