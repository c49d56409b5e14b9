from odoo import api, fields, models

from .omnichannel_message import PANEL_PAGE


class OmnichannelConversationSeen(models.Model):
    """How far each user has read each conversation: the newest channel
    message id they were shown.  The inbox counts as unread the customer
    messages after it that no reply of a person followed yet."""

    _name = "omnichannel.conversation.seen"
    _description = "Conversation Read Marker"
    _log_access = False

    conversation_id = fields.Many2one(
        "omnichannel.conversation", required=True, ondelete="cascade", index=True
    )
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    message_id = fields.Integer("Last message seen", required=True, default=0)

    _conversation_user_unique = models.UniqueIndex("(conversation_id, user_id)")


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    @api.model
    def panel_fetch(self, res_model, res_id, before_id=None, limit=PANEL_PAGE):
        result = super().panel_fetch(
            res_model, res_id, before_id=before_id, limit=limit
        )
        if not before_id and result.get("conversations"):
            # What a chat panel shows is read: the inbox's unread counters drop.
            self.env["omnichannel.conversation"].browse(
                [c["id"] for c in result["conversations"]]
            )._mark_seen()
        return result
