from odoo import api, fields, models


class OmnichannelPrivacyForgetWizard(models.TransientModel):
    """The confirmation of a "forget this customer" request: it says what
    will be erased and what stays before anything is."""

    _name = "omnichannel.privacy.forget.wizard"
    _description = "Forget a Customer"

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    conversation_count = fields.Integer("Conversations", compute="_compute_scope")
    message_count = fields.Integer("Messages", compute="_compute_scope")
    call_count = fields.Integer("Calls", compute="_compute_scope")
    identity_count = fields.Integer("Channel identities", compute="_compute_scope")
    contact_erased = fields.Boolean(
        "Contact details erased",
        compute="_compute_scope",
        help="The contact was created by the inbox for someone who wrote: its name, "
        "phone, email and address "
        "are erased and it is archived. A contact entered by hand keeps them.",
    )

    @api.depends("partner_id")
    def _compute_scope(self):
        for wizard in self:
            if not wizard.partner_id:
                wizard.update(
                    {
                        "conversation_count": 0,
                        "message_count": 0,
                        "call_count": 0,
                        "identity_count": 0,
                        "contact_erased": False,
                    }
                )
                continue
            scope = wizard.partner_id._omnichannel_forget_scope()
            conversations = scope["conversations"]
            wizard.conversation_count = len(conversations)
            wizard.message_count = (
                self.env["omnichannel.message"]
                .sudo()
                .search_count(
                    [
                        ("conversation_id", "in", conversations.ids),
                        ("call_id", "=", False),
                    ]
                )
            )
            wizard.call_count = (
                self.env["omnichannel.call"]
                .sudo()
                .search_count([("conversation_id", "in", conversations.ids)])
            )
            wizard.identity_count = len(scope["identities"])
            wizard.contact_erased = wizard.partner_id.omnichannel_auto_created

    def action_forget(self):
        self.ensure_one()
        self.partner_id._omnichannel_forget()
        return {"type": "ir.actions.act_window_close"}
