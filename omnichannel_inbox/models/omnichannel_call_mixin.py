from odoo import fields, models


class OmnichannelCallMixin(models.AbstractModel):
    """The phone button of the lead, partner and conversation forms: the
    company phone system rings the user's own phone, then the customer."""

    _name = "omnichannel.call.mixin"
    _description = "Click-to-call"

    omnichannel_can_call = fields.Boolean(compute="_compute_omnichannel_can_call")

    def _compute_omnichannel_can_call(self):
        can_call = self.env["omnichannel.call"]._can_click_to_call()
        for record in self:
            record.omnichannel_can_call = can_call

    def action_omnichannel_call(self):
        self.ensure_one()
        return self.env["omnichannel.call"]._click_to_call_action(self)


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "omnichannel.call.mixin"]


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "omnichannel.call.mixin"]


class OmnichannelConversation(models.Model):
    _name = "omnichannel.conversation"
    _inherit = ["omnichannel.conversation", "omnichannel.call.mixin"]
