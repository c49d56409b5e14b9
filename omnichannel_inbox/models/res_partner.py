from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.fields import Domain
from odoo.tools import html2plaintext

from .omnichannel_conversation import ERASED_PAYLOAD

FORGOTTEN_NAME = "Forgotten customer #%s"


class ResPartner(models.Model):
    """The addon's part of a contact: their channel identities and
    conversations, the email exchanged on their card, and their privacy
    requests (export everything the inbox holds of them, or forget them)."""

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
        help="Created automatically for an unknown person who wrote on a channel; "
        "merged into the existing "
        "customer when they turn out to be one.",
    )

    def _compute_omnichannel_conversation_count(self):
        counts = self.env["omnichannel.conversation"]._count_per("partner_id", self)
        for partner in self:
            partner.omnichannel_conversation_count = counts.get(partner, 0)

    def action_view_omnichannel_conversations(self):
        return self.env["omnichannel.conversation"]._action_of("partner_id", self)

    # ------------------------------------------------------------------
    # Email exchanged on a customer's card
    # ------------------------------------------------------------------
    def _message_post_after_hook(self, message, msg_vals):
        # Mail exchanged on a customer's card (replies to an email sent from
        # it) belongs to their history like mail on their leads.
        result = super()._message_post_after_hook(message, msg_vals)
        for partner in self:
            self.env["omnichannel.channel"]._email_capture(partner, message)
        return result

    # ------------------------------------------------------------------
    # Privacy requests: export, forget
    # ------------------------------------------------------------------
    def _omnichannel_family(self):
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("id", "child_of", self.ids)])
        )

    def _omnichannel_check_privacy_right(self, group):
        if not self.env.user.has_group(group):
            raise AccessError(
                self.env._(
                    "Only Omnichannel managers may export or forget a customer's "
                    "conversations."
                )
            )
        # The contact itself must be one the user may open (multi-company).
        self.check_access("read")

    def _omnichannel_privacy_companies(self):
        """The companies whose conversations the current user may export or
        erase: the companies they are allowed in (not just the active one,
        so that a download link works whatever the company switcher shows)."""
        return self.env.user.company_ids

    def _omnichannel_in_companies(self, records):
        """``records`` (conversations, identities, leads) of the user's companies."""
        companies = self._omnichannel_privacy_companies()
        return records.filtered(lambda r: not r.company_id or r.company_id in companies)

    def _omnichannel_export_data(self):
        """Everything the inbox holds of this customer, as a JSON-ready dict."""
        self.ensure_one()
        self._omnichannel_check_privacy_right(
            "omnichannel_inbox.group_omnichannel_manager"
        )
        partners = self._omnichannel_family()
        Conversation = (
            self.env["omnichannel.conversation"].sudo().with_context(active_test=False)
        )
        all_conversations = Conversation.search(
            [("partner_id", "in", partners.ids)], order="id"
        )
        all_identities = (
            self.env["omnichannel.identity"]
            .sudo()
            .search([("partner_id", "in", partners.ids)], order="id")
        )
        # Another company's conversations with the same contact are that
        # company's to export.
        conversations = self._omnichannel_in_companies(all_conversations)
        identities = self._omnichannel_in_companies(all_identities)
        if (all_conversations or all_identities) and not (conversations or identities):
            raise AccessError(
                self.env._(
                    "This customer's conversations belong to companies you do not "
                    "manage."
                )
            )
        Message = self.env["omnichannel.message"].sudo()
        Call = self.env["omnichannel.call"].sudo()

        def when(value):
            return fields.Datetime.to_string(value) if value else None

        data = {
            "customer": {
                "id": self.id,
                "name": self.name,
                "email": self.email or None,
                "phone": self.phone or None,
            },
            "exported_at": when(fields.Datetime.now()),
            "exported_by": self.env.user.name,
            "identities": [
                {
                    "channel": identity.channel_id.name,
                    "channel_type": identity.channel_type,
                    "provider_user_id": identity.provider_user_id,
                    "name": identity.name,
                    "username": identity.username or None,
                    "phone": identity.phone or None,
                    "email": identity.email or None,
                    "last_message": when(identity.last_seen_date),
                }
                for identity in identities
            ],
            "conversations": [],
        }
        for conversation in conversations:
            messages = Message.search(
                [("conversation_id", "=", conversation.id)], order="date, id"
            )
            calls = Call.search(
                [("conversation_id", "=", conversation.id)], order="start_date, id"
            )
            data["conversations"].append(
                {
                    "id": conversation.id,
                    "channel": conversation.channel_id.name,
                    "channel_type": conversation.channel_type,
                    "state": conversation.state,
                    "salesperson": conversation.user_id.name or None,
                    "lead": conversation.lead_id.name or None,
                    "messages": [
                        {
                            "date": when(message.date),
                            "channel": message.channel_id.name,
                            "channel_type": message.channel_type,
                            "direction": message.direction,
                            "author": message.author_kind,
                            "type": message.message_type,
                            "text": html2plaintext(message.body or "").strip(),
                            "status": message.status,
                            "files": message.attachment_ids.mapped("name"),
                        }
                        for message in messages
                        if not message.call_id
                    ],
                    "calls": [
                        {
                            "start": when(call.start_date),
                            "direction": call.direction,
                            "number": call.customer_number,
                            "employee": call.user_id.name or None,
                            "duration_seconds": call.duration,
                            "state": call.state,
                        }
                        for call in calls
                    ],
                }
            )
        self.env["omnichannel.privacy.log"].sudo().create(
            {
                "action": "export",
                "partner_id": self.id,
                "partner_ref": str(self.id),
                "conversation_count": len(conversations),
                "message_count": sum(len(c["messages"]) for c in data["conversations"]),
            }
        )
        return data

    def action_omnichannel_export(self):
        self.ensure_one()
        self._omnichannel_check_privacy_right(
            "omnichannel_inbox.group_omnichannel_manager"
        )
        return {
            "type": "ir.actions.act_url",
            "target": "download",
            "url": f"/omnichannel/privacy/export/{self.id}",
        }

    def action_omnichannel_forget(self):
        """Ask for a confirmation first: forgetting cannot be undone."""
        self.ensure_one()
        self._omnichannel_check_privacy_right(
            "omnichannel_inbox.group_omnichannel_manager"
        )
        # refused before asking when another company's data is involved
        self._omnichannel_forget_scope()
        wizard = self.env["omnichannel.privacy.forget.wizard"].create(
            {"partner_id": self.id}
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Forget this customer"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def _omnichannel_forget_scope(self):
        """What forgetting this customer touches: their contacts, the
        conversations, identities and leads of the inbox."""
        self.ensure_one()
        partners = self._omnichannel_family()
        scope = {
            "partners": partners,
            "conversations": self.env["omnichannel.conversation"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "in", partners.ids)]),
            "identities": self.env["omnichannel.identity"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "in", partners.ids)]),
            "leads": self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "in", partners.ids)]),
        }
        if not self.env.su:
            # Forgetting is all or nothing: a customer who also wrote to a
            # company the user does not manage is forgotten by someone who
            # manages both (their contact is shared).
            for key in ("conversations", "identities", "leads"):
                if scope[key] != self._omnichannel_in_companies(scope[key]):
                    raise AccessError(
                        self.env._(
                            "This customer also has conversations with companies you "
                            "do not manage: "
                            "a manager of all of them must forget them."
                        )
                    )
        return scope

    def _omnichannel_forget(self):
        """Erase what the inbox holds of this customer: message texts, files,
        recordings and channel identities; their contact details too when
        the inbox created the contact (a contact entered by hand is the
        company's own record and keeps them).  Dates, directions and
        response times stay, anonymous, for the reports."""
        # Taken before anything is erased: the identity suggestions and the
        # contact cards are found by the records they still point to.
        scopes = [partner._omnichannel_forget_scope() for partner in self]
        self._omnichannel_check_privacy_right(
            "omnichannel_inbox.group_omnichannel_manager"
        )
        for partner in self:
            scope = partner._omnichannel_forget_scope()
            partners, conversations, leads = (
                scope["partners"],
                scope["conversations"],
                scope["leads"],
            )
            message_count = (
                self.env["omnichannel.message"]
                .sudo()
                .search_count([("conversation_id", "in", conversations.ids)])
            )
            conversations._privacy_erase_content()
            # What the customer wrote on their leads and cards (emails), even
            # where no conversation recorded it.
            authored = (
                self.env["mail.message"]
                .sudo()
                .search(
                    [
                        ("author_id", "in", partners.ids),
                        "|",
                        "&",
                        ("model", "=", "crm.lead"),
                        ("res_id", "in", leads.ids),
                        "&",
                        ("model", "=", "res.partner"),
                        ("res_id", "in", partners.ids),
                    ]
                )
            )
            authored.attachment_ids.unlink()
            authored.write({"body": "", "subject": False, "email_from": False})
            partner._omnichannel_forget_leftovers(scope)
            forgotten_name = FORGOTTEN_NAME % partner.id
            for identity in scope["identities"]:
                # A new provider user id: the same person writing again is a
                # new, unknown customer, as they asked.
                identity.write(
                    {
                        "provider_user_id": f"forgotten-{identity.id}",
                        "chat_id": False,
                        "name": forgotten_name,
                        "username": False,
                        "phone": False,
                        "phone_sanitized": False,
                        "email": False,
                        "email_normalized": False,
                        "language": False,
                        "blocked": True,
                    }
                )
            created = partners.filtered("omnichannel_auto_created")
            # Not tracked: the tracking of this erasure would keep the old
            # email and phone in the chatter (written at commit, after us).
            leads.filtered(
                lambda lead, created=created: (
                    lead.omnichannel_auto_created or lead.partner_id in created
                )
            ).with_context(mail_notrack=True).write(
                {
                    "name": forgotten_name,
                    "contact_name": False,
                    "partner_name": False,
                    "email_from": False,
                    "phone": False,
                    "street": False,
                    "street2": False,
                    "city": False,
                    "zip": False,
                    "website": False,
                    "description": False,
                }
            )
            created.with_context(mail_notrack=True).write(
                {
                    "name": forgotten_name,
                    "email": False,
                    "phone": False,
                    "street": False,
                    "street2": False,
                    "city": False,
                    "zip": False,
                    "website": False,
                    "comment": False,
                    "vat": False,
                    "function": False,
                    "image_1920": False,
                    "active": False,
                }
            )
            partner._omnichannel_forget_trackings(scope)
            self.env["omnichannel.privacy.log"].sudo().create(
                {
                    "action": "forget",
                    "partner_id": partner.id,
                    "partner_ref": str(partner.id),
                    "conversation_count": len(conversations),
                    "message_count": message_count,
                    "note": False
                    if partner in created
                    else self.env._(
                        "Contact entered by hand: its contact details were kept."
                    ),
                }
            )
        self._omnichannel_forget_suggestions(scopes)
        return True

    def _omnichannel_forget_suggestions(self, scopes):
        """Forgetting customers also drops the suggestions about them (they
        hold the phone or email in common) and the contact cards of their
        messages; the links keep only record ids, for the undo."""
        for scope in scopes:
            self.env["omnichannel.identity.suggestion"].sudo().search(
                [
                    "|",
                    ("identity_id", "in", scope["identities"].ids),
                    ("partner_id", "in", scope["partners"].ids),
                ]
            ).unlink()
            self.env["omnichannel.message"].sudo().search(
                [
                    ("conversation_id", "in", scope["conversations"].ids),
                    "|",
                    ("card_phone", "!=", False),
                    ("card_email", "!=", False),
                ]
            ).write({"card_name": False, "card_phone": False, "card_email": False})

    def _omnichannel_forget_leftovers(self, scope):
        """What else holds the customer's identifiers or words outside their
        conversations: the identity lock keys (phone, email, provider user
        id), journal rows no conversation took (ignored, failed, waiting),
        and SMS bodies left in Odoo's SMS table (failed ones are kept there
        for a resend).  Runs before the identities are rewritten: it finds
        these by the identifiers they still hold."""
        partners, identities, conversations = (
            scope["partners"],
            scope["identities"],
            scope["conversations"],
        )
        phones = {
            p
            for p in identities.mapped("phone_sanitized")
            + identities.mapped("phone")
            + partners.mapped("phone_sanitized")
            + partners.mapped("phone")
            if p
        }
        emails = {
            e
            for e in identities.mapped("email_normalized")
            + partners.mapped("email_normalized")
            if e
        }
        # Lock keys are 'omnichannel-<kind>:<company or channel>:<value>'
        # (omnichannel.identity._lock).
        lock_domains = [
            [
                (
                    "key",
                    "=",
                    f"omnichannel-identity:{i.channel_id.id}:{i.provider_user_id}",
                )
            ]
            for i in identities
            if i.provider_user_id
        ]
        lock_domains += [
            [("key", "=like", f"omnichannel-phone:%:{phone}")] for phone in phones
        ]
        lock_domains += [
            [("key", "=like", f"omnichannel-email:%:{email}")] for email in emails
        ]
        if lock_domains:
            self.env["omnichannel.customer.lock"].sudo().search(
                Domain.OR(lock_domains)
            ).unlink()
        # Journal rows of their channels that never became a message of a
        # conversation, found by the identifiers the provider sent.
        # (Not on very short ids, which would match other customers' rows.)
        values = {
            v
            for v in {i.provider_user_id for i in identities if i.provider_user_id}
            | phones
            | emails
            if len(v) >= 4
        }
        if identities and values:
            journal = (
                self.env["omnichannel.inbound.event"]
                .sudo()
                .search(
                    Domain.AND(
                        [
                            [
                                ("channel_id", "in", identities.channel_id.ids),
                                ("payload", "!=", ERASED_PAYLOAD),
                                "|",
                                ("conversation_id", "=", False),
                                ("conversation_id", "in", conversations.ids),
                            ],
                            Domain.OR(
                                [
                                    [("payload", "ilike", f'"{value}"')]
                                    for value in values
                                ]
                            ),
                        ]
                    )
                )
            )
            journal.write(
                {
                    "payload": ERASED_PAYLOAD,
                    "error_traceback": False,
                    "error_message": False,
                }
            )
            journal.filtered(lambda row: row.state in ("pending", "error")).write(
                {
                    "state": "ignored",
                    "note": self.env._("erased (privacy)"),
                    "next_attempt_date": False,
                }
            )
        # SMS to or about them still in Odoo's SMS table.
        sms_domain = [("partner_id", "in", partners.ids)]
        if phones:
            sms_domain = Domain.OR([sms_domain, [("number", "in", list(phones))]])
        sms = self.env["sms.sms"].sudo().search(sms_domain)
        sms.filtered(lambda s: s.state == "outgoing").write({"state": "canceled"})
        sms.write({"body": False})

    def _omnichannel_forget_trackings(self, scope):
        """Tracked field changes (old and new email, phone, names) on their
        conversations, leads and contacts - including those the erasure
        itself just logged.  Runs last."""
        records = [
            ("omnichannel.conversation", scope["conversations"].ids),
            ("crm.lead", scope["leads"].ids),
            ("res.partner", scope["partners"].ids),
        ]
        trackings = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                Domain.OR(
                    [
                        [
                            ("mail_message_id.model", "=", model),
                            ("mail_message_id.res_id", "in", ids),
                        ]
                        for model, ids in records
                    ]
                )
            )
        )
        trackings.write(
            {
                "old_value_char": False,
                "new_value_char": False,
                "old_value_text": False,
                "new_value_text": False,
            }
        )
