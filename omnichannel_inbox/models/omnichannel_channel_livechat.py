from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_channel import SENDING_LIVECHAT


class OmnichannelChannel(models.Model):
    """A live chat account mirrors the sessions of one Odoo live chat
    channel (``im_livechat.channel``) into the visitors' histories.

    Odoo keeps the session (``discuss.channel`` of type livechat, answered by
    the operators in Discuss); once the visitor has written, every message of
    the session - theirs, the operators' and the chatbot's - is mirrored on
    the visitor's conversation.  The visitor is recognised by their partner
    when logged in, else as a guest matched to an existing customer by the
    email or phone they type in the chat.  The mirroring, which the session
    calls, is in omnichannel_channel.py ("live chat capture")."""

    _inherit = "omnichannel.channel"

    livechat_channel_id = fields.Many2one(
        "im_livechat.channel",
        string="Odoo live chat channel",
        ondelete="set null",
        tracking=True,
        help="Sessions of this live chat channel are added to the visitors' histories.",
    )

    _livechat_channel_unique = models.UniqueIndex(
        "(livechat_channel_id) WHERE livechat_channel_id IS NOT NULL",
        "A live chat channel is mirrored by one channel account.",
    )

    @api.model
    def _create_livechat_accounts(self):
        """Install: one account per existing Odoo live chat channel."""
        for livechat in self.env["im_livechat.channel"].sudo().search([]):
            if (
                self.sudo()
                .with_context(active_test=False)
                .search_count([("livechat_channel_id", "=", livechat.id)], limit=1)
            ):
                continue
            team = (
                self.env["crm.team"]
                .sudo()
                .search([("company_id", "in", [self.env.company.id, False])], limit=1)
            )
            self.sudo().create(
                {
                    "name": self.env._("Live chat: %s", livechat.name),
                    "channel_type": "livechat",
                    "livechat_channel_id": livechat.id,
                    "team_id": team.id,
                    "webhook_secret": False,
                }
            )

    # ------------------------------------------------------------------
    # Replies from the chat panel
    # ------------------------------------------------------------------
    def _livechat_session(self, conversation):
        session = (
            self.env["discuss.channel"]
            .sudo()
            .browse(int(conversation.identity_id.chat_id or 0))
            .exists()
        )
        return (
            session
            if session and session.channel_type == "livechat"
            else session.browse()
        )

    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        if self.channel_type == "livechat":
            session = self._livechat_session(conversation)
            if not session or session.livechat_end_dt:
                raise UserError(
                    self.env._(
                        "The visitor has closed the live chat: an answer there would "
                        "not reach them. Reply on another of their channels."
                    )
                )

    def _send_outbound(self, message):
        """Post the reply into the visitor's live chat session, as the
        salesperson (who joins the session like an operator)."""
        if self.channel_type != "livechat":
            return super()._send_outbound(message)
        session = self._livechat_session(message.conversation_id)
        if not session or session.livechat_end_dt:
            raise connectors.SendError(
                self.env._("The visitor has closed the live chat."),
                code="session_closed",
            )
        user = message.author_user_id
        if user and user.partner_id not in session.channel_member_ids.partner_id:
            session._add_members(users=user)
        author = user.partner_id if user else self.env.ref("base.partner_root")
        mail_message = session.with_context(**{SENDING_LIVECHAT: True}).message_post(
            body=message.body,
            author_id=author.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachments=[(a.name, a.raw) for a in message.attachment_ids.sudo()],
        )
        return connectors.SendResult(f"mail-{mail_message.id}", "sent")
