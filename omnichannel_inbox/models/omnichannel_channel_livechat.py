import logging
import re

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

from odoo.addons.omnichannel_inbox import connectors

from .omnichannel_inbound_event import CONTACT_SCAN_CHARS, _emails_in_text

_logger = logging.getLogger(__name__)

#: Context key set while we post a reply into a live chat session ourselves,
#: so that the session's post hook does not record it a second time.
SENDING_LIVECHAT = "omnichannel_sending_livechat"
#: Phone numbers a visitor types in the chat ("+7 912 345-67-89", "8 (912) 3456789").
PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{7,18}\d(?!\w)")


class OmnichannelChannel(models.Model):
    """A live chat account mirrors the sessions of one Odoo live chat
    channel (``im_livechat.channel``) into the visitors' histories.

    Odoo keeps the session (``discuss.channel`` of type livechat, answered by
    the operators in Discuss); once the visitor has written, every message of
    the session - theirs, the operators' and the chatbot's - is mirrored on
    the visitor's conversation.  The visitor is recognised by their partner
    when logged in, else as a guest matched to an existing customer by the
    email or phone they type in the chat."""

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
    # Mirroring the sessions
    # ------------------------------------------------------------------
    @api.model
    def _livechat_capture(self, session, message):
        """Called after each message posted in a live chat session."""
        if self.env.context.get(SENDING_LIVECHAT) or message.message_type != "comment":
            return
        session = session.sudo()
        account = (
            self.sudo().search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_channel_id", "=", session.livechat_channel_id.id),
                ],
                limit=1,
            )
            if session.livechat_channel_id
            else None
        )
        if not account:
            return
        try:
            with self.env.cr.savepoint():
                account._livechat_sync(session)
        except Exception:
            _logger.exception(
                "Omnichannel: could not add live chat session %s to the history",
                session.id,
            )

    def _livechat_sync(self, session):
        """Mirror the messages of ``session`` not mirrored yet, in order;
        nothing until the visitor has written (a visitor who only opened the
        chat window is nobody's customer yet)."""
        self.ensure_one()
        visitor = session.livechat_customer_history_ids[:1]
        if not visitor:
            return
        messages = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", "discuss.channel"),
                    ("res_id", "=", session.id),
                    ("message_type", "=", "comment"),
                ],
                order="id",
            )
        )
        kinds = {
            message: self._livechat_author_kind(session, message)
            for message in messages
        }
        if "visitor" not in kinds.values():
            return
        Message = self.env["omnichannel.message"].sudo()
        done = set(
            Message.search(
                [
                    ("channel_id", "=", self.id),
                    ("provider_message_id", "in", [f"mail-{m.id}" for m in messages]),
                ]
            ).mapped("provider_message_id")
        )
        pending = messages.filtered(lambda m: f"mail-{m.id}" not in done)
        if not pending:
            return
        identity = self._livechat_identity(
            visitor, pending.filtered(lambda m: kinds[m] == "visitor")
        )
        identity.chat_id = str(session.id)
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            self, identity
        )
        for message in pending:
            kind = kinds[message]
            values = {
                "conversation_id": conversation.id,
                "mail_message_id": message.id,
                "message_type": "document"
                if message.attachment_ids
                and not html2plaintext(message.body or "").strip()
                else "text",
                "provider_message_id": f"mail-{message.id}",
                "date": message.date or fields.Datetime.now(),
            }
            if kind == "visitor":
                mirror = Message.create(
                    dict(
                        values,
                        direction="in",
                        author_kind="customer",
                        status="received",
                    )
                )
                conversation._register_inbound(mirror)
            else:
                user = (
                    message.author_id.user_ids.filtered(lambda u: not u.share)[:1]
                    if kind == "agent"
                    else None
                )
                mirror = Message.create(
                    dict(
                        values,
                        direction="out",
                        author_kind="employee" if kind == "agent" else "auto",
                        author_user_id=user.id if user else False,
                        status="sent",
                        sent_date=values["date"],
                        lead_id=conversation.lead_id.id,
                    )
                )
                conversation._register_outbound(mirror)
                conversation._after_outbound(mirror)
        conversation._notify_panel()

    @api.model
    def _livechat_author_kind(self, session, message):
        """visitor, agent or bot - as im_livechat recorded the author's role."""
        history = session.livechat_channel_member_history_ids.filtered(
            lambda h: (
                (message.author_id and h.partner_id == message.author_id)
                or (message.author_guest_id and h.guest_id == message.author_guest_id)
            )
        )[:1]
        if history.livechat_member_type:
            return history.livechat_member_type
        return (
            "agent"
            if message.author_id and not message.author_id.partner_share
            else "visitor"
        )

    def _livechat_identity(self, visitor, visitor_messages):
        """The visitor's identity: a logged-in visitor is their partner; a
        guest is recognised by the email or phone they typed, if any."""
        self.ensure_one()
        Identity = self.env["omnichannel.identity"]
        public_partners = (
            self.env.ref("base.public_user")
            .sudo()
            .with_context(active_test=False)
            .partner_id
        )
        if visitor.partner_id and visitor.partner_id not in public_partners:
            partner = visitor.partner_id
            contact = connectors.Contact(
                user_id=f"partner-{partner.id}", name=partner.name
            )
            return Identity._resolve(self, contact, partner=partner)
        # Bounded, and scanned without backtracking: a guest's message is
        # customer text like any other (see _emails_in_text).
        text = "\n".join(html2plaintext(m.body or "") for m in visitor_messages)[
            :CONTACT_SCAN_CHARS
        ]
        emails = _emails_in_text(text)
        phones = [
            p
            for p in (
                Identity._sanitize_phone(m.group(0), self.company_id)
                for m in PHONE_IN_TEXT.finditer(text)
                if sum(c.isdigit() for c in m.group(0)) >= 9
            )
            if p
        ]
        guest = visitor.guest_id
        contact = connectors.Contact(
            user_id=f"guest-{guest.id}",
            name=connectors.clean_name(guest.name or "")[:200]
            or self.env._("Website visitor"),
            email=emails[0] if emails else "",
            phone=phones[0] if phones else "",
        )
        return Identity._resolve(self, contact)

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
