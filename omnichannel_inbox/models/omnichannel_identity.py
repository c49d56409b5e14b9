import dataclasses
import json
import logging

from odoo import api, fields, models
from odoo.tools import email_normalize

from odoo.addons.omnichannel_inbox import connectors

_logger = logging.getLogger(__name__)


class OmnichannelIdentity(models.Model):
    """A customer as one provider knows them (a Telegram user, a WhatsApp
    number, a Sandbox visitor), linked to the partner they are in Odoo.

    The identity rules live here: who is this person, and which partner do
    they become.  They run under key locks (omnichannel.customer.lock) so that two
    messages of the
    same new person processed at the same moment (two workers, two channels)
    make one partner, not two."""

    _name = "omnichannel.identity"
    _description = "Customer Identity on a Channel"
    _order = "last_seen_date desc, id desc"
    _rec_names_search = ["name", "username", "phone", "email", "provider_user_id"]

    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="cascade", index=True
    )
    # Precomputed: in the INSERT of a new identity, not an UPDATE after it.
    channel_type = fields.Selection(
        related="channel_id.channel_type", store=True, index=True, precompute=True
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True, precompute=True
    )
    provider_user_id = fields.Char("Provider user ID", required=True)
    chat_id = fields.Char(
        "Chat ID", help="Where replies are sent; usually the provider user ID."
    )
    name = fields.Char(required=True)
    username = fields.Char()
    phone = fields.Char()
    phone_sanitized = fields.Char("Phone (E.164)", index="btree_not_null")
    phone_verified = fields.Boolean(
        "Phone proven",
        readonly=True,
        help="The provider vouches that this phone is the person's own (WhatsApp "
        "number, SMS sender, caller id, "
        "Telegram contact of the sender); otherwise the phone is only what someone "
        "claimed.",
    )
    email = fields.Char()
    email_normalized = fields.Char(index="btree_not_null")
    email_verified = fields.Boolean(
        "Email proven",
        readonly=True,
        help="The address this person writes from, or one they proved by typing back a "
        "one-time code sent to "
        "it; otherwise the email is only what someone claimed.",
    )
    language = fields.Char()
    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="restrict", index=True
    )
    blocked = fields.Boolean(
        help="Messages of a blocked identity are journaled but create nothing (spam, "
        "abuse)."
    )
    unreachable = fields.Boolean(
        readonly=True,
        help="The provider refuses to deliver to this person (bot blocked, "
        "unsubscribed).",
    )
    unreachable_reason = fields.Char(readonly=True)
    last_seen_date = fields.Datetime("Last message", readonly=True)
    conversation_ids = fields.One2many(
        "omnichannel.conversation", "identity_id", string="Conversations"
    )
    suggestion_ids = fields.One2many(
        "omnichannel.identity.suggestion", "identity_id", string="Suggested customers"
    )
    link_ids = fields.One2many(
        "omnichannel.identity.link", "identity_id", string="Links to customers"
    )

    _provider_user_unique = models.Constraint(
        "UNIQUE(channel_id, provider_user_id)",
        "A person appears once per channel account.",
    )

    @api.depends("name", "channel_id")
    def _compute_display_name(self):
        for identity in self:
            handle = (
                identity.username
                and f"@{identity.username}"
                or identity.phone
                or identity.provider_user_id
            )
            identity.display_name = "{} ({} {})".format(
                identity.name,
                identity.channel_id.name or "",
                handle or "",
            )

    # ------------------------------------------------------------------
    # Normalization helpers
    # ------------------------------------------------------------------
    @api.model
    def _sanitize_phone(self, number, company=None):
        """E.164 through phone_validation, with the company's country for
        national numbers ("8 (912) 345-67-89" in Russia)."""
        if not number:
            return False
        company = company or self.env.company
        country = company.country_id or self.env.ref(
            "base.us", raise_if_not_found=False
        )
        number = number.strip()
        if number[:1].isdigit() and len("".join(c for c in number if c.isdigit())) > 11:
            # An international number without its "+" (WhatsApp sends "79123456789").
            number = "+" + number
        return (
            self.env["res.partner"]._phone_format(
                number=number, country=country, force_format="E164"
            )
            or False
        )

    @api.model
    def _lock(self, *parts):
        """Serialize on a business key until the end of the transaction, and
        make sure this transaction sees what the previous holder committed
        (see omnichannel.customer.lock)."""
        self._lock_keys([parts])

    @api.model
    def _lock_keys(self, keys):
        """:meth:`_lock` on several keys (tuples of parts) at once."""
        self.env["omnichannel.customer.lock"].sudo()._acquire(
            *(":".join(str(p) for p in parts) for parts in keys)
        )

    def _is_blacklisted(self):
        self.ensure_one()
        numbers = {
            n for n in (self.phone_sanitized, self.partner_id.phone_sanitized) if n
        }
        if not numbers:
            return False
        return bool(
            self.env["phone.blacklist"]
            .sudo()
            .search_count(
                [("number", "in", list(numbers)), ("active", "=", True)], limit=1
            )
        )

    # ------------------------------------------------------------------
    # Resolution
    # ------------------------------------------------------------------
    @api.model
    def _resolve(self, channel, contact, date=None, partner=None):
        """Return the identity of ``contact`` on ``channel``, creating it (and
        its partner) on first contact.  Phone and email given with the
        message are linked through :meth:`_link_contact_details`.

        ``partner``: who the person is when Odoo already knows it (the author
        the mail gateway found, a logged-in website visitor): a new identity
        is attached to them rather than matched by phone and email."""
        self = self.sudo()
        user_id = (contact.user_id or "").strip()
        if not user_id:
            raise ValueError("a customer identity needs a provider user id")
        keys = [("omnichannel-identity", channel.id, user_id)]
        if type(channel._get_connector()).user_ids_are_global:
            # The same person writing to two accounts of the company at the
            # same moment (two bots) must find the identity the other made.
            keys.append(
                (
                    "omnichannel-user",
                    channel.company_id.id,
                    channel.channel_type,
                    user_id,
                )
            )
        self._lock_keys(keys)
        # Found and read in one query (what follows reads it).
        identity = self.search_fetch(
            [("channel_id", "=", channel.id), ("provider_user_id", "=", user_id)],
            limit=1,
        )
        if not identity:
            identity = self._create_for_contact(
                channel, contact, partner=partner, date=date
            )
        else:
            updates = {}
            if (
                contact.name
                and contact.name != identity.name
                and not contact.name.startswith("Sandbox visitor")
            ):
                updates["name"] = contact.name
            if contact.username and contact.username != identity.username:
                updates["username"] = contact.username
            if updates:
                identity.write(updates)
        seen = date or fields.Datetime.now()
        if identity.last_seen_date != seen:
            # Not rewritten when unchanged (a burst within the same second).
            identity.last_seen_date = seen
        if (contact.phone or contact.email) and not partner:
            identity._link_contact_details(
                phone=contact.phone,
                email=contact.email,
                phone_verified=contact.phone_verified,
                email_verified=contact.email_verified,
            )
        return identity

    @api.model
    def _create_for_contact(self, channel, contact, partner=None, date=None):
        if not contact.name:
            contact = self._complete_contact(channel, contact)
        phone = self._sanitize_phone(contact.phone, channel.company_id)
        email = email_normalize(contact.email) if contact.email else False
        # Lock the contact details too: the same person may be arriving on
        # another channel at this very moment (WhatsApp and Viber, same phone).
        if phone:
            self._lock("omnichannel-phone", channel.company_id.id, phone)
        if email:
            self._lock("omnichannel-email", channel.company_id.id, email)
        partner = partner or self.env["res.partner"]
        connector_cls = type(channel._get_connector())
        proof = False
        if not partner and connector_cls.user_ids_are_global:
            # The same Telegram user writing to a second bot is the same person.
            twin = self.search(
                [
                    ("channel_type", "=", channel.channel_type),
                    ("provider_user_id", "=", contact.user_id),
                    ("company_id", "=", channel.company_id.id),
                ],
                limit=1,
            )
            partner = twin.partner_id
            proof = partner and "user_id"
        if not partner:
            # Only what the provider vouches for links to an existing
            # customer; a claim becomes a suggestion (_link_contact_details).
            proven_phone = phone if contact.phone_verified else False
            proven_email = email if contact.email_verified else False
            partner = self._match_partner(
                proven_phone, proven_email, channel.company_id, proven=True
            )
            proof = partner and (
                "phone"
                if proven_phone and partner.phone_sanitized == proven_phone
                else "email"
            )
        if not partner:
            partner = self._create_partner(channel, contact, phone, email)
        identity = self.create(
            {
                "channel_id": channel.id,
                "provider_user_id": contact.user_id,
                "chat_id": contact.user_id,
                "name": contact.name or contact.username or contact.user_id,
                "username": contact.username or False,
                "phone": contact.phone or False,
                "phone_sanitized": phone,
                "email": contact.email or False,
                "email_normalized": email,
                "phone_verified": bool(phone and contact.phone_verified),
                "email_verified": bool(email and contact.email_verified),
                "language": contact.language or False,
                "partner_id": partner.id,
                "last_seen_date": date or fields.Datetime.now(),
            }
        )
        if proof:
            # Kept so that a manager can split this person off again.
            self.env["omnichannel.identity.link"].sudo().create(
                {
                    "identity_id": identity.id,
                    "to_partner_id": partner.id,
                    "reason": proof,
                    "automatic": True,
                }
            )
        return identity

    def _as_contact(self):
        self.ensure_one()
        return connectors.Contact(
            user_id=self.provider_user_id,
            name=self.name,
            username=self.username or "",
            phone=self.phone or "",
            email=self.email or "",
            language=self.language or "",
        )

    @api.model
    def _complete_contact(self, channel, contact):
        """Ask the provider who a new person is when its webhook did not say
        (VK sends only a user id).  A provider error keeps the bare id: it
        must not hold the customer's message back."""
        try:
            profile = channel._get_connector().fetch_profile(contact.user_id)
        except Exception:
            _logger.info(
                "Omnichannel: no profile for %s on channel %s",
                contact.user_id,
                channel.id,
                exc_info=True,
            )
            profile = None
        if not profile:
            return contact
        return dataclasses.replace(
            contact,
            name=profile.name or contact.name,
            username=contact.username or profile.username,
            phone=contact.phone or profile.phone,
            email=contact.email or profile.email,
        )

    @api.model
    def _match_partner(self, phone, email, company, proven=False, exclude=None):
        """An existing customer with this E.164 phone or this email.

        ``proven``: the customer an automatic link may join.  A customer
        created automatically from someone's unproven claim (a Sandbox visitor
        who typed a phone) is not one: otherwise whoever claims a phone first
        would receive the real owner's messages when they write later."""
        Partner = self.env["res.partner"].sudo().with_context(active_test=True)
        domain = [("company_id", "in", [company.id, False])]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        for field, flag, value in (
            ("phone_sanitized", "phone_verified", phone),
            ("email_normalized", "email_verified", email),
        ):
            if not value:
                continue
            candidates = Partner.search(
                [(field, "=", value)] + domain, order="id", limit=20
            )
            if proven:
                candidates = candidates.filtered(
                    lambda p, field=field, value=value, flag=flag: (
                        not p.omnichannel_auto_created
                        or self.search_count(
                            [
                                ("partner_id", "=", p.id),
                                (field, "=", value),
                                (flag, "=", True),
                            ],
                            limit=1,
                        )
                    )
                )
            if candidates:
                return candidates[0]
        return Partner.browse()

    @api.model
    def _create_partner(self, channel, contact, phone, email):
        vals = {
            "name": contact.name or contact.username or contact.user_id,
            "phone": phone or contact.phone or False,
            "email": contact.email or False,
            "company_id": channel.company_id.id,
            "omnichannel_auto_created": True,
        }
        lang = self._installed_lang(contact.language)
        if lang:
            vals["lang"] = lang
        return self.env["res.partner"].sudo().create(vals)

    @api.model
    def _installed_lang(self, code):
        if not code:
            return False
        code = code.replace("-", "_")
        langs = dict(self.env["res.lang"].get_installed())
        if code in langs:
            return code
        prefix = code.split("_")[0].lower()
        return next(
            (lang for lang in langs if lang.split("_")[0].lower() == prefix), False
        )

    def _link_contact_details(
        self, phone=None, email=None, phone_verified=False, email_verified=False
    ):
        """The person gave a phone or an email (with their message, a form,
        their own contact card): store it on the identity and, when it
        belongs to another existing customer, attach this identity to that
        customer - only when the provider vouches for it (``*_verified``).
        An unproven phone or email matching another customer becomes a
        suggestion a salesperson confirms or rejects
        (omnichannel.identity.suggestion): until then, nobody's history is
        shown to someone who merely typed their email."""
        self.ensure_one()
        company = self.company_id
        sanitized = self._sanitize_phone(phone, company) if phone else False
        normalized = email_normalize(email) if email else False
        phone_verified, email_verified = (
            bool(sanitized and phone_verified),
            bool(normalized and email_verified),
        )
        if sanitized:
            self._lock("omnichannel-phone", company.id, sanitized)
        if normalized:
            self._lock("omnichannel-email", company.id, normalized)
        vals = {}
        # A claim never replaces what the provider vouched for.
        if sanitized and (phone_verified or not self.phone_verified):
            if sanitized != self.phone_sanitized:
                vals.update(
                    phone=phone,
                    phone_sanitized=sanitized,
                    phone_verified=phone_verified,
                )
            elif phone_verified and not self.phone_verified:
                vals["phone_verified"] = True
        if normalized and (email_verified or not self.email_verified):
            if normalized != self.email_normalized:
                vals.update(
                    email=email,
                    email_normalized=normalized,
                    email_verified=email_verified,
                )
            elif email_verified and not self.email_verified:
                vals["email_verified"] = True
        if vals:
            self.write(vals)
        proven_phone = sanitized if phone_verified else False
        proven_email = normalized if email_verified else False
        if proven_phone or proven_email:
            match = self._match_partner(
                proven_phone, proven_email, company, proven=True
            )
            if match and match != self.partner_id and not self._link_undone(match):
                self._move_to_partner(
                    match,
                    reason="phone"
                    if proven_phone and match.phone_sanitized == proven_phone
                    else "email",
                )
        partner = self.partner_id
        # The customer's empty phone/email is filled from a proof, or when the
        # customer was created for this very person.
        own = (
            partner.omnichannel_auto_created
            and partner.omnichannel_identity_ids == self
        )
        partner_vals = {}
        if sanitized and not partner.phone and (phone_verified or own):
            partner_vals["phone"] = phone
        if normalized and not partner.email and (email_verified or own):
            partner_vals["email"] = email
        if partner_vals:
            partner.sudo().write(partner_vals)
        self._suggest(phone=sanitized, email=normalized)

    def _suggest(self, phone=False, email=False):
        """Suggest the other existing customer who has this E.164 ``phone``
        or normalized ``email`` (a claim, or a proof that could not be linked
        automatically: the other customer was created from a claim)."""
        self.ensure_one()
        Suggestion = self.env["omnichannel.identity.suggestion"].sudo()
        for reason, value in (("phone", phone), ("email", email)):
            if not value:
                continue
            candidate = self._match_partner(
                value if reason == "phone" else False,
                value if reason == "email" else False,
                self.company_id,
                exclude=self.partner_id,
            )
            if candidate and not candidate.user_ids.filtered(lambda u: not u.share):
                Suggestion._propose(self, candidate, reason, value)

    def _link_undone(self, partner):
        """A manager split this person off ``partner``: never again automatically."""
        return bool(
            self.env["omnichannel.identity.link"]
            .sudo()
            .search_count(
                [
                    ("identity_id", "=", self.id),
                    ("to_partner_id", "=", partner.id),
                    ("state", "=", "undone"),
                ],
                limit=1,
            )
        )

    def _move_to_partner(self, target, reason="phone", automatic=True):
        """Attach this identity, its conversations and their messages to
        ``target``.  Leads opened automatically for this person before they
        were recognised are archived when ``target`` has an open lead (the
        conversations and messages move to it), else they follow the person.
        A partner created automatically for this person alone is archived.
        Nothing is deleted, and what moved is kept on an
        omnichannel.identity.link so that a manager can undo it."""
        self.ensure_one()
        source = self.partner_id
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        Conversation = self.env["omnichannel.conversation"].sudo()
        conversations = self.conversation_ids
        shared = Conversation.search(
            [("partner_id", "=", source.id), ("id", "not in", conversations.ids)]
        ).lead_id
        candidates = (
            conversations.lead_id.filtered(
                lambda lead: (
                    lead.omnichannel_auto_created
                    and lead.active
                    and lead.won_status == "pending"
                    and lead.partner_id == source
                )
            )
            - shared
        )
        keeper = Lead.search(
            [
                ("partner_id", "=", target.id),
                ("active", "=", True),
                ("won_status", "=", "pending"),
                ("id", "not in", candidates.ids),
            ],
            order="create_date, id",
            limit=1,
        )
        link = (
            self.env["omnichannel.identity.link"]
            .sudo()
            .create(
                {
                    "identity_id": self.id,
                    "from_partner_id": source.id,
                    "to_partner_id": target.id,
                    "reason": reason,
                    "automatic": automatic,
                    "conversation_leads": json.dumps(
                        {str(c.id): c.lead_id.id for c in conversations}
                    ),
                }
            )
        )
        self.partner_id = target
        conversations.write({"partner_id": target.id})
        if candidates and keeper:
            conversations.filtered(lambda c: c.lead_id in candidates).write(
                {"lead_id": keeper.id}
            )
            self.env["omnichannel.message"].sudo().search(
                [("lead_id", "in", candidates.ids)]
            ).write({"lead_id": keeper.id})
            candidates.write({"active": False})
            link.archived_lead_ids = candidates
            keeper._message_log(
                body=self.env._(
                    "Lead(s) opened automatically for this customer before they were "
                    "recognised were archived, "
                    "their messages are here: %s",
                    ", ".join(candidates.mapped("name")),
                )
            )
        elif candidates:
            candidates.write({"partner_id": target.id})
            link.moved_lead_ids = candidates
        if (
            source.omnichannel_auto_created
            and source.active
            and not source.user_ids
            and not source.omnichannel_identity_ids
            and not Lead.search_count(
                [("partner_id", "=", source.id), ("active", "=", True)], limit=1
            )
        ):
            source.active = False
            link.archived_partner = True
        self.invalidate_recordset()
        for conversation in self.conversation_ids:
            if automatic:
                # Recognised by the webhook: in the conversation's reader's language.
                conversation = conversation.with_context(
                    lang=conversation._reader_lang()
                )
                body = conversation.env._(
                    "Recognised as %s: the conversation now belongs to this customer.",
                    target.display_name,
                )
            else:
                body = self.env._(
                    "%(user)s confirmed that this is %(customer)s: the conversation "
                    "now belongs to this customer.",
                    user=self.env.user.name,
                    customer=target.display_name,
                )
            conversation._message_log(body=body)
        return link

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_block(self):
        self.write({"blocked": True})

    def action_unblock(self):
        self.write({"blocked": False})
