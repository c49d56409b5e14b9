from odoo import fields, models


class OmnichannelTransferWizard(models.TransientModel):
    """Hand a conversation (and its lead) to a person or a team, with a note."""

    _name = "omnichannel.transfer.wizard"
    _description = "Transfer a conversation"

    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users",
        string="To a person",
        domain="[('share', '=', False)]",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="To a team",
        help="Without a person: the conversation waits in this team's queue.",
    )
    note = fields.Text(help="What the new owner should know.")

    def action_confirm(self):
        self.ensure_one()
        self.env["omnichannel.conversation.transfer"]._transfer(
            self.conversation_id, self.user_id, self.team_id, self.note
        )
        return {"type": "ir.actions.act_window_close"}
