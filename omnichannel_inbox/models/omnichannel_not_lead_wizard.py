from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from .omnichannel_conversation_qualification import NOT_LEAD_REASONS


class OmnichannelNotLeadWizard(models.TransientModel):
    """Close a conversation waiting for qualification without a deal,
    saying why (a supplier, a job seeker...)."""

    _name = "omnichannel.not.lead.wizard"
    _description = "Not a lead"

    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade"
    )
    reason = fields.Selection(NOT_LEAD_REASONS, required=True, default="other")
    note = fields.Text(
        help="What the next person reading the conversation should know."
    )

    def action_confirm(self):
        self.ensure_one()
        if self.env.user.share:
            raise AccessError(self.env._("Only employees may qualify conversations."))
        conversation = self.conversation_id
        conversation.check_access("write")
        conversation = conversation.sudo()
        if conversation.qualification_state not in (False, "to_qualify"):
            raise UserError(self.env._("%s is already qualified.", conversation.name))
        if conversation.lead_id:
            raise UserError(
                self.env._(
                    "This conversation has a lead: mark the lead as lost instead."
                )
            )
        conversation = conversation.with_context(lang=conversation._reader_lang())
        conversation.write(
            {
                "qualification_state": "not_lead",
                "not_lead_reason": self.reason,
                "qualification_note": self.note or False,
                "qualification_user_id": self.env.user.id,
                "qualification_date": fields.Datetime.now(),
                "state": "closed",
                "waiting_since": False,
                "sla_deadline": False,
            }
        )
        reason = dict(
            self.with_context(lang=conversation.env.lang)
            ._fields["reason"]
            ._description_selection(conversation.env)
        )[self.reason]
        body = conversation.env._(
            "Not a lead (%(reason)s), says %(user)s.",
            reason=reason,
            user=self.env.user.name,
        )
        conversation._message_log(body=f"{body} {self.note}" if self.note else body)
        conversation._notify_panel()
        return {"type": "ir.actions.act_window_close"}
