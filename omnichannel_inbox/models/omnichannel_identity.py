import dataclasses
import logging

from odoo import api, fields, models
from odoo.tools import email_normalize

_logger = logging.getLogger(__name__)


class OmnichannelIdentity(models.Model):
    """A customer as one provider knows them (a Telegram user, a WhatsApp
    number, a Sandbox visitor), linked to the partner they are in Odoo.

    The identity rules live here: who is this person, and which partner do
    they become.  They run under key locks (omnichannel.customer.lock) so that two messages of the
    same new person processed at the same moment (two workers, two channels)
    make one partner, not two."""
    _name = 'omnichannel.identity'
    _description = 'Customer Identity on a Channel'
    _order = 'last_seen_date desc, id desc'
    _rec_names_search = ['name', 'username', 'phone', 'email', 'provider_user_id']

    channel_id = fields.Many2one('omnichannel.channel', required=True, ondelete='cascade', index=True)
    channel_type = fields.Selection(related='channel_id.channel_type', store=True, index=True)
    company_id = fields.Many2one(related='channel_id.company_id', store=True, index=True)
    provider_user_id = fields.Char('Provider user ID', required=True)
    chat_id = fields.Char('Chat ID', help='Where replies are sent; usually the provider user ID.')
    name = fields.Char(required=True)
    username = fields.Char()
    phone = fields.Char()
    phone_sanitized = fields.Char('Phone (E.164)', index='btree_not_null')
    email = fields.Char()
    email_normalized = fields.Char(index='btree_not_null')
    language = fields.Char()
    partner_id = fields.Many2one('res.partner', required=True, ondelete='restrict', index=True)
    blocked = fields.Boolean(
        help='Messages of a blocked identity are journaled but create nothing (spam, abuse).')
    unreachable = fields.Boolean(
        readonly=True, help='The provider refuses to deliver to this person (bot blocked, unsubscribed).')
    unreachable_reason = fields.Char(readonly=True)
    last_seen_date = fields.Datetime('Last message', readonly=True)
    conversation_ids = fields.One2many('omnichannel.conversation', 'identity_id', string='Conversations')

    _provider_user_unique = models.Constraint(
        'UNIQUE(channel_id, provider_user_id)', 'A person appears once per channel account.')

    @api.depends('name', 'channel_id')
    def _compute_display_name(self):
        for identity in self:
            handle = identity.username and '@%s' % identity.username or identity.phone or identity.provider_user_id
            identity.display_name = '%s (%s %s)' % (identity.name, identity.channel_id.name or '', handle or '')

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
        country = company.country_id or self.env.ref('base.us', raise_if_not_found=False)
        number = number.strip()
        if number[:1].isdigit() and len(''.join(c for c in number if c.isdigit())) > 11:
            # An international number without its "+" (WhatsApp sends "79123456789").
            number = '+' + number
        return self.env['res.partner']._phone_format(number=number, country=country, force_format='E164') or False

    @api.model
    def _lock(self, *parts):
        """Serialize on a business key until the end of the transaction, and
        make sure this transaction sees what the previous holder committed
        (see omnichannel.customer.lock)."""
        self.env['omnichannel.customer.lock'].sudo()._acquire(':'.join(str(p) for p in parts))

    def _is_blacklisted(self):
        self.ensure_one()
        numbers = {n for n in (self.phone_sanitized, self.partner_id.phone_sanitized) if n}
        if not numbers:
            return False
        return bool(self.env['phone.blacklist'].sudo().search_count(
            [('number', 'in', list(numbers)), ('active', '=', True)], limit=1))

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
        user_id = (contact.user_id or '').strip()
        if not user_id:
            raise ValueError('a customer identity needs a provider user id')
        self._lock('omnichannel-identity', channel.id, user_id)
        identity = self.search([('channel_id', '=', channel.id), ('provider_user_id', '=', user_id)], limit=1)
        if not identity:
            identity = self._create_for_contact(channel, contact, partner=partner)
        else:
            updates = {}
            if contact.name and contact.name != identity.name and not contact.name.startswith('Sandbox visitor'):
                updates['name'] = contact.name
            if contact.username and contact.username != identity.username:
                updates['username'] = contact.username
            if updates:
                identity.write(updates)
        identity.last_seen_date = date or fields.Datetime.now()
        if (contact.phone or contact.email) and not partner:
            identity._link_contact_details(phone=contact.phone, email=contact.email)
        return identity

    @api.model
    def _create_for_contact(self, channel, contact, partner=None):
        if not contact.name:
            contact = self._complete_contact(channel, contact)
        phone = self._sanitize_phone(contact.phone, channel.company_id)
        email = email_normalize(contact.email) if contact.email else False
        # Lock the contact details too: the same person may be arriving on
        # another channel at this very moment (WhatsApp and Viber, same phone).
        if phone:
            self._lock('omnichannel-phone', channel.company_id.id, phone)
        if email:
            self._lock('omnichannel-email', channel.company_id.id, email)
        partner = partner or self.env['res.partner']
        connector_cls = type(channel._get_connector())
        if not partner and connector_cls.user_ids_are_global:
            # The same Telegram user writing to a second bot is the same person.
            twin = self.search([('channel_type', '=', channel.channel_type),
                                ('provider_user_id', '=', contact.user_id),
                                ('company_id', '=', channel.company_id.id)], limit=1)
            partner = twin.partner_id
        if not partner:
            partner = self._match_partner(phone, email, channel.company_id)
        if not partner:
            partner = self._create_partner(channel, contact, phone, email)
        return self.create({
            'channel_id': channel.id,
            'provider_user_id': contact.user_id,
            'chat_id': contact.user_id,
            'name': contact.name or contact.username or contact.user_id,
            'username': contact.username or False,
            'phone': contact.phone or False,
            'phone_sanitized': phone,
            'email': contact.email or False,
            'email_normalized': email,
            'language': contact.language or False,
            'partner_id': partner.id,
        })

    @api.model
    def _complete_contact(self, channel, contact):
        """Ask the provider who a new person is when its webhook did not say
        (VK sends only a user id).  A provider error keeps the bare id: it
        must not hold the customer's message back."""
        try:
            profile = channel._get_connector().fetch_profile(contact.user_id)
        except Exception:  # noqa: BLE001 - best effort, logged
            _logger.info('Omnichannel: no profile for %s on channel %s', contact.user_id, channel.id, exc_info=True)
            profile = None
        if not profile:
            return contact
        return dataclasses.replace(contact, name=profile.name or contact.name,
                                   username=contact.username or profile.username,
                                   phone=contact.phone or profile.phone, email=contact.email or profile.email)

    @api.model
    def _match_partner(self, phone, email, company):
        """An existing customer with this E.164 phone or this email."""
        Partner = self.env['res.partner'].sudo().with_context(active_test=True)
        company_domain = [('company_id', 'in', [company.id, False])]
        if phone:
            partner = Partner.search([('phone_sanitized', '=', phone)] + company_domain, order='id', limit=1)
            if partner:
                return partner
        if email:
            partner = Partner.search([('email_normalized', '=', email)] + company_domain, order='id', limit=1)
            if partner:
                return partner
        return Partner.browse()

    @api.model
    def _create_partner(self, channel, contact, phone, email):
        vals = {
            'name': contact.name or contact.username or contact.user_id,
            'phone': phone or contact.phone or False,
            'email': contact.email or False,
            'company_id': channel.company_id.id,
            'omnichannel_auto_created': True,
        }
        lang = self._installed_lang(contact.language)
        if lang:
            vals['lang'] = lang
        return self.env['res.partner'].sudo().create(vals)

    @api.model
    def _installed_lang(self, code):
        if not code:
            return False
        code = code.replace('-', '_')
        langs = dict(self.env['res.lang'].get_installed())
        if code in langs:
            return code
        prefix = code.split('_')[0].lower()
        return next((lang for lang in langs if lang.split('_')[0].lower() == prefix), False)

    def _link_contact_details(self, phone=None, email=None):
        """The customer shared a phone or an email (a Telegram contact, a
        form): store it and, when it belongs to another existing customer,
        attach this identity to that customer (merging away what was
        auto-created for it)."""
        self.ensure_one()
        company = self.company_id
        sanitized = self._sanitize_phone(phone, company) if phone else False
        normalized = email_normalize(email) if email else False
        if sanitized:
            self._lock('omnichannel-phone', company.id, sanitized)
        if normalized:
            self._lock('omnichannel-email', company.id, normalized)
        vals = {}
        if sanitized and sanitized != self.phone_sanitized:
            vals.update(phone=phone, phone_sanitized=sanitized)
        if normalized and normalized != self.email_normalized:
            vals.update(email=email, email_normalized=normalized)
        if vals:
            self.write(vals)
        match = self._match_partner(sanitized, normalized, company)
        if match and match != self.partner_id:
            self._move_to_partner(match)
        partner = self.partner_id
        partner_vals = {}
        if sanitized and not partner.phone:
            partner_vals['phone'] = phone
        if normalized and not partner.email:
            partner_vals['email'] = email
        if partner_vals:
            partner.sudo().write(partner_vals)

    def _move_to_partner(self, target):
        """Attach this identity to ``target``.  When the current partner was
        created automatically for this identity, it is merged into ``target``
        (its conversations, messages and leads follow) and its lead is merged
        into the target's open lead, so no duplicate remains."""
        self.ensure_one()
        source = self.partner_id
        if source.omnichannel_auto_created and source.id != target.id and not source.user_ids:
            source_leads = self.env['crm.lead'].sudo().with_context(active_test=False).search(
                [('partner_id', '=', source.id)])
            self.env['base.partner.merge.automatic.wizard'].sudo()._merge(
                [source.id, target.id], target, extra_checks=False)
            self.env['crm.lead'].sudo()._omnichannel_merge_duplicates(target, source_leads.exists())
        else:
            conversations = self.conversation_ids
            self.partner_id = target
            conversations.write({'partner_id': target.id})
            self.env['omnichannel.message'].sudo().search(
                [('conversation_id', 'in', conversations.ids)]).write({'partner_id': target.id})
        self.invalidate_recordset()
        for conversation in self.conversation_ids:
            conversation._message_log(body=self.env._(
                'This customer shared contact details of an existing customer: the conversation now '
                'belongs to %s.', target.display_name))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_block(self):
        self.write({'blocked': True})

    def action_unblock(self):
        self.write({'blocked': False})
