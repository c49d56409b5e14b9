import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

#: A one-time code proves that whoever writes in the chat reads the mailbox of
#: the email they claim: sent to the address, typed back in the chat.
CODE_VALIDITY = timedelta(minutes=30)
CODE_ATTEMPTS = 5
CODE_RESEND_DELAY = timedelta(minutes=2)
#: A code in a customer's message: six digits standing alone.  Only the start
#: of the text is searched (a code is typed, not pasted in a long message).
CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
CODE_SEARCH_LENGTH = 2000


class OmnichannelIdentitySuggestion(models.Model):
    """ "This person may be Ivan Petrov: same email".

    A phone or an email nobody vouched for (typed in a chat, a form, the
    Sandbox, a live chat; a contact card) that belongs to an existing
    customer.  Linking on it would let anyone become that customer and read
    their history in the salesperson's replies, so a person decides: confirm
    links the identity to the customer (undoable by a manager), reject
    forgets the claim.  Until then the history stays apart."""

    _name = "omnichannel.identity.suggestion"
    _description = "Suggested Customer of an Identity"
    _order = "id desc"

    identity_id = fields.Many2one(
        "omnichannel.identity",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        related="identity_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Suggested customer",
        required=True,
        ondelete="cascade",
        readonly=True,
    )
    reason = fields.Selection(
        [("phone", "Same phone"), ("email", "Same email")], required=True, readonly=True
    )
    value = fields.Char(
        readonly=True, help="The phone or email the two have in common."
    )
    state = fields.Selection(
        [
            ("pending", "To confirm"),
            ("confirmed", "Confirmed"),
            ("rejected", "Rejected"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    decided_uid = fields.Many2one("res.users", string="Decided by", readonly=True)
    decided_date = fields.Datetime(readonly=True)
    link_id = fields.Many2one(
        "omnichannel.identity.link", readonly=True, ondelete="set null"
    )
    code_hash = fields.Char(readonly=True, groups="base.group_system", copy=False)
    code_expiry = fields.Datetime(readonly=True, copy=False)
    code_attempts = fields.Integer(readonly=True, copy=False)
    code_sent_date = fields.Datetime(readonly=True, copy=False)

    _identity_partner_unique = models.Constraint(
        "UNIQUE(identity_id, partner_id)", "A customer is suggested once per identity."
    )

    @api.model
    def _propose(self, identity, partner, reason, value):
        """A pending suggestion, unless this pair was suggested before (a
        rejected one stays rejected)."""
        if self.search_count(
            [("identity_id", "=", identity.id), ("partner_id", "=", partner.id)],
            limit=1,
        ):
            return self.browse()
        suggestion = self.create(
            {
                "identity_id": identity.id,
                "partner_id": partner.id,
                "reason": reason,
                "value": value,
            }
        )
        for conversation in identity.conversation_ids:
            # Found by the webhook: in the language of who reads the conversation.
            lang = conversation._reader_lang()
            conversation._message_log(body=suggestion.with_context(lang=lang)._label())
        return suggestion

    def _label(self):
        self.ensure_one()
        if self.reason == "phone":
            return self.env._(
                "May be %(customer)s: same phone %(value)s.",
                customer=self.partner_id.name,
                value=self.value,
            )
        return self.env._(
            "May be %(customer)s: same email %(value)s.",
            customer=self.partner_id.name,
            value=self.value,
        )

    def _check_decider(self):
        """A salesperson who may read one of the identity's conversations
        (record rules) and the suggested customer decides."""
        if not self.env.user.has_group("omnichannel_inbox.group_omnichannel_user"):
            raise AccessError(
                self.env._(
                    "Only Inbox users can confirm or reject a suggested customer."
                )
            )
        for suggestion in self:
            conversations = suggestion.identity_id.sudo().conversation_ids
            if not self.env["omnichannel.conversation"].search_count(
                [("id", "in", conversations.ids)], limit=1
            ):
                raise AccessError(
                    self.env._(
                        "This conversation is not yours to decide who the customer is."
                    )
                )
            suggestion.partner_id.check_access("read")
            if suggestion.state != "pending":
                raise UserError(self.env._("This suggestion was already decided."))

    def action_confirm(self):
        """The salesperson recognised the customer: link (undoable)."""
        self._check_decider()
        for suggestion in self.sudo():
            identity = suggestion.identity_id
            identity._lock(
                "omnichannel-identity",
                identity.channel_id.id,
                identity.provider_user_id,
            )
            link = identity._move_to_partner(
                suggestion.partner_id, reason=suggestion.reason, automatic=False
            )
            suggestion.write(
                {
                    "state": "confirmed",
                    "decided_uid": self.env.uid,
                    "decided_date": fields.Datetime.now(),
                    "link_id": link.id,
                }
            )
            link.suggestion_id = suggestion
            identity.conversation_ids._notify_panel()
        return True

    def action_reject(self):
        """Not the same person: nothing is linked, and the claimed phone or
        email is forgotten on the identity (and on the customer created for
        it alone), so it is not suggested again."""
        self._check_decider()
        for suggestion in self.sudo():
            identity = suggestion.identity_id
            field, flag, raw = (
                ("phone_sanitized", "phone_verified", "phone")
                if suggestion.reason == "phone"
                else ("email_normalized", "email_verified", "email")
            )
            if identity[field] == suggestion.value and not identity[flag]:
                identity.write({field: False, raw: False})
                partner = identity.partner_id
                if (
                    partner.omnichannel_auto_created
                    and partner.omnichannel_identity_ids == identity
                    and partner[field] == suggestion.value
                ):
                    partner.write({raw: False})
            suggestion.write(
                {
                    "state": "rejected",
                    "decided_uid": self.env.uid,
                    "decided_date": fields.Datetime.now(),
                }
            )
            for conversation in identity.conversation_ids:
                conversation._message_log(
                    body=self.env._(
                        "%(user)s rejected the suggestion: this is not %(customer)s.",
                        user=self.env.user.name,
                        customer=suggestion.partner_id.name,
                    )
                )
            identity.conversation_ids._notify_panel()
        return True

    def panel_decide(self, confirm):
        """Confirm or reject from the chat panel; say which lead the
        person's conversation is on now (their own was archived when the
        other customer had an open one)."""
        self.ensure_one()
        if confirm:
            self.action_confirm()
        else:
            self.action_reject()
        return {
            "lead_id": self.sudo().identity_id.conversation_ids[:1].lead_id.id or False
        }

    # ------------------------------------------------------------------
    # Proof of an email: a one-time code sent to it, typed back in the chat
    # ------------------------------------------------------------------
    def _code_digest(self, code):
        secret = (
            self.env["ir.config_parameter"].sudo().get_param("database.secret") or ""
        )
        return hmac.new(
            secret.encode(), (f"{self.id}:{code}").encode(), hashlib.sha256
        ).hexdigest()

    def action_send_code(self):
        """Email a one-time code to the claimed address.  Typed back in
        the chat within CODE_VALIDITY, it proves that the person writing
        reads that mailbox: the identity is then linked as on any proof
        (see _check_code).  Someone who only knows the address never sees
        the code; its owner is told not to pass it on."""
        self._check_decider()
        now = fields.Datetime.now()
        for suggestion in self.sudo():
            if suggestion.reason != "email":
                raise UserError(
                    self.env._("Only an email can be verified with a code.")
                )
            if (
                suggestion.code_sent_date
                and suggestion.code_sent_date > now - CODE_RESEND_DELAY
            ):
                raise UserError(
                    self.env._(
                        "A code was sent less than two minutes ago: wait before "
                        "sending another."
                    )
                )
            code = f"{secrets.randbelow(10**6):06d}"
            suggestion.write(
                {
                    "code_hash": suggestion._code_digest(code),
                    "code_expiry": now + CODE_VALIDITY,
                    "code_attempts": 0,
                    "code_sent_date": now,
                }
            )
            identity = suggestion.identity_id
            company = identity.company_id
            body = Markup(
                "<p>%s</p><p "
                'style="font-size:24px;letter-spacing:4px"><b>%s</b></p><p>%s</p>'
            ) % (
                self.env._(
                    "Someone writing to %(company)s on %(channel)s says this email "
                    "address is theirs. "
                    "If it is you, type this code in that chat within 30 minutes:",
                    company=company.name,
                    channel=identity.channel_id.name,
                ),
                code,
                self.env._(
                    "If it is not you, ignore this email and never give this code to "
                    "anyone."
                ),
            )
            self.env["mail.mail"].sudo().create(
                {
                    "subject": self.env._("Your code for %s", company.name),
                    "body_html": body,
                    "email_to": suggestion.value,
                    "email_from": company.email_formatted
                    or self.env.user.email_formatted,
                    "auto_delete": True,
                }
            )
            for conversation in identity.conversation_ids:
                conversation._message_log(
                    body=self.env._(
                        "%(user)s sent a one-time code to %(email)s: typed back in "
                        "this chat, it links the customer.",
                        user=self.env.user.name,
                        email=suggestion.value,
                    )
                )
        return True

    @api.model
    def _check_code(self, identity, text):
        """A customer's message of ``identity``: the code of one of its
        pending email suggestions proves the email (linked at once); a wrong
        six-digit number counts as an attempt, and after CODE_ATTEMPTS the
        code is void."""
        candidates = CODE_RE.findall((text or "")[:CODE_SEARCH_LENGTH])
        if not candidates:
            return self.browse()
        now = fields.Datetime.now()
        pending = self.sudo().search(
            [
                ("identity_id", "=", identity.id),
                ("state", "=", "pending"),
                ("code_expiry", ">", now),
            ]
        )
        for suggestion in pending:
            if not suggestion.code_hash:
                continue
            if any(
                hmac.compare_digest(suggestion.code_hash, suggestion._code_digest(c))
                for c in candidates[:3]
            ):
                suggestion._confirm_by_code()
                return suggestion
            attempts = suggestion.code_attempts + 1
            suggestion.write(
                {"code_attempts": attempts}
                if attempts < CODE_ATTEMPTS
                else {
                    "code_attempts": attempts,
                    "code_hash": False,
                    "code_expiry": False,
                }
            )
        return self.browse()

    def _confirm_by_code(self):
        self.ensure_one()
        identity = self.identity_id
        identity.write(
            {
                "email": self.value,
                "email_normalized": self.value,
                "email_verified": True,
            }
        )
        link = identity._move_to_partner(
            self.partner_id, reason="email", automatic=True
        )
        self.write(
            {
                "state": "confirmed",
                "decided_date": fields.Datetime.now(),
                "link_id": link.id,
                "code_hash": False,
                "code_expiry": False,
            }
        )
        link.suggestion_id = self
        for conversation in identity.conversation_ids:
            conversation = conversation.with_context(lang=conversation._reader_lang())
            conversation._message_log(
                body=conversation.env._(
                    "The customer typed the code sent to %s: the email is verified.",
                    self.value,
                )
            )

    @api.model
    def panel_send_code(self, suggestion_id):
        self.browse(int(suggestion_id)).action_send_code()
        return True

    @api.model
    def panel_suggestions(self, res_model, res_id):
        """The pending suggestions of the customer a chat panel shows (its
        own access check is the panel's)."""
        _record, partners, _domain = self.env["omnichannel.message"]._panel_scope(
            res_model, res_id
        )
        Conversation = self.env["omnichannel.conversation"]
        if res_model == "omnichannel.conversation":
            identities = Conversation.browse(int(res_id)).sudo().identity_id
        else:
            identities = (
                self.env["omnichannel.identity"]
                .sudo()
                .search([("partner_id", "in", partners.ids)])
            )
        suggestions = self.sudo().search(
            [("identity_id", "in", identities.ids), ("state", "=", "pending")]
        )
        # Only those whose conversation the user may read decide (and see them).
        readable = Conversation.search(
            [("identity_id", "in", suggestions.identity_id.ids)]
        ).identity_id
        return [
            {
                "id": s.id,
                "label": s._label(),
                "customer_name": s.partner_id.name,
                "identity": s.identity_id.display_name,
                "reason": s.reason,
                "code_sent": bool(
                    s.code_expiry and s.code_expiry > fields.Datetime.now()
                ),
            }
            for s in suggestions
            if s.identity_id in readable
        ]


class OmnichannelIdentityLink(models.Model):
    """One time a person (an identity) was attached to an existing customer:
    automatically on a proof, or by a salesperson confirming a suggestion.
    Holds what moved, so that a manager can split the customers back."""

    _name = "omnichannel.identity.link"
    _description = "Identity Linked to a Customer"
    _order = "id desc"

    identity_id = fields.Many2one(
        "omnichannel.identity",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        related="identity_id.company_id", store=True, index=True
    )
    from_partner_id = fields.Many2one(
        "res.partner",
        string="Customer before",
        readonly=True,
        ondelete="set null",
        help="Empty when the person was recognised on their first message.",
    )
    to_partner_id = fields.Many2one(
        "res.partner",
        string="Linked to",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    reason = fields.Selection(
        [
            ("user_id", "Same provider user"),
            ("phone", "Same phone"),
            ("email", "Same email"),
        ],
        required=True,
        readonly=True,
    )
    automatic = fields.Boolean(
        readonly=True, help="Linked on a proof, without a person deciding."
    )
    suggestion_id = fields.Many2one(
        "omnichannel.identity.suggestion", readonly=True, ondelete="set null"
    )
    conversation_leads = fields.Text(
        readonly=True, help="Lead of each conversation before the link (JSON)."
    )
    archived_lead_ids = fields.Many2many(
        "crm.lead",
        "omnichannel_identity_link_archived_lead_rel",
        string="Leads archived",
        readonly=True,
    )
    moved_lead_ids = fields.Many2many(
        "crm.lead",
        "omnichannel_identity_link_moved_lead_rel",
        string="Leads moved",
        readonly=True,
    )
    archived_partner = fields.Boolean(readonly=True)
    state = fields.Selection(
        [("done", "Linked"), ("undone", "Undone")],
        default="done",
        required=True,
        readonly=True,
    )
    undone_uid = fields.Many2one("res.users", string="Undone by", readonly=True)
    undone_date = fields.Datetime(readonly=True)

    def action_undo(self):
        """Split the person back off the customer they were linked to: the
        identity, its conversations and their messages return to the
        customer they had (re-created when they had none), archived leads
        come back, and no automatic link to that customer happens again."""
        if not self.env.user.has_group("omnichannel_inbox.group_omnichannel_manager"):
            raise AccessError(
                self.env._("Only Inbox managers can undo a link between customers.")
            )
        self.check_access("read")
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        for link in self.sudo():
            if link.state != "done":
                raise UserError(self.env._("This link was already undone."))
            identity = link.identity_id
            if identity.partner_id != link.to_partner_id:
                raise UserError(
                    self.env._(
                        "%s is no longer linked to this customer.",
                        identity.display_name,
                    )
                )
            identity._lock(
                "omnichannel-identity",
                identity.channel_id.id,
                identity.provider_user_id,
            )
            source = link.from_partner_id.with_context(active_test=False).exists()
            if not source:
                source = identity._create_partner(
                    identity.channel_id,
                    identity._as_contact(),
                    identity.phone_sanitized,
                    identity.email_normalized,
                )
            if not source.active:
                source.active = True
            before = {
                int(k): v
                for k, v in json.loads(link.conversation_leads or "{}").items()
            }
            # Archived leads are not in the x2many unless asked for.
            link.with_context(active_test=False).archived_lead_ids.write(
                {"active": True}
            )
            link.with_context(active_test=False).moved_lead_ids.write(
                {"partner_id": source.id}
            )
            identity.partner_id = source
            for conversation in identity.conversation_ids:
                lead = Lead.browse(before.get(conversation.id) or []).exists()
                if lead.partner_id != source:
                    lead = Lead.browse()
                # The messages return with the conversation, off the other customer's
                # leads.
                messages = conversation.omnichannel_message_ids.filtered(
                    lambda m, link=link: (
                        m.lead_id and m.lead_id.partner_id == link.to_partner_id
                    )
                )
                conversation.write({"partner_id": source.id, "lead_id": lead.id})
                if not conversation.lead_id:
                    conversation._ensure_lead()
                messages.write({"lead_id": conversation.lead_id.id})
                conversation._message_log(
                    body=self.env._(
                        "%(user)s split this conversation off %(customer)s: it belongs "
                        "to %(back)s again.",
                        user=self.env.user.name,
                        customer=link.to_partner_id.name,
                        back=source.name,
                    )
                )
            link.write(
                {
                    "state": "undone",
                    "undone_uid": self.env.uid,
                    "undone_date": fields.Datetime.now(),
                }
            )
            identity.conversation_ids._notify_panel()
        return True
