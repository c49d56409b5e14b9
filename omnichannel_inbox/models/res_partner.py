from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    omnichannel_identity_ids = fields.One2many(
        "omnichannel.identity", "partner_id", string="Channel identities"
    )
    omnichannel_conversation_count = fields.Integer(
        compute="_compute_omnichannel_conversation_count"
    )
    omnichannel_auto_created = fields.Boolean(
        "Created from a conversation",
        readonly=True,
        copy=False,
        help="Created automatically for an unknown person who wrote on a channel; merged into the existing "
        "customer when they turn out to be one.",
    )

    def _compute_omnichannel_conversation_count(self):
        counts = dict(
            self.env["omnichannel.conversation"]
            .sudo()
            ._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.omnichannel_conversation_count = counts.get(partner, 0)

    def action_view_omnichannel_conversations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_conversation_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
