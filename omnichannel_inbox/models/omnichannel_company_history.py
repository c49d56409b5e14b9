"""Company history: a client company's contacts in one history.

- The chat panel of a company's card, and of a lead whose customer belongs to
  a company, shows the conversations of all the company's contacts (those the
  user may read by the record rules), filterable by contact.
- A contact created by the inbox joins a company when a salesperson says so
  (the conversation's "Works at" field, Odoo's own parent company on the
  contact), or, when the setting is on, by a corporate email domain the
  provider vouches for (free-mail domains excluded).
- A second employee of a client company writing in is offered the company's
  open deal: the deal's team says auto / ask / never.
"""

from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_domain_extract

#: ir.config_parameter of the domain matching (off by default).
DOMAIN_PARAM = "omnichannel_inbox.company_by_email_domain"

JOIN_POLICIES = [
    ("auto", "Join automatically"),
    ("ask", "Ask the salesperson"),
    ("never", "Never"),
]


def _company_family(partner):
    """The company of a contact that belongs to one (itself for a company),
    else an empty recordset."""
    company = partner.commercial_partner_id
    if partner and company.is_company and (partner.is_company or partner.parent_id):
        return company
    return partner.browse()


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    @api.model
    def _panel_scope(self, res_model, res_id):
        """A lead of a company's contact shows the company's history; the
        context key ``omnichannel_panel_contact_id`` narrows any company
        history to one of its contacts (the panel's filter)."""
        record, partners, domain = super()._panel_scope(res_model, res_id)
        if res_model == "crm.lead":
            company = _company_family(record.sudo().partner_id)
            if company:
                partners = (
                    self.env["res.partner"]
                    .sudo()
                    .with_context(active_test=False)
                    .search([("id", "child_of", company.id)])
                )
                domain = [("partner_id", "in", partners.ids)]
                self._panel_check_works_with(record, domain)
        contact_id = self.env.context.get("omnichannel_panel_contact_id")
        if contact_id and res_model in ("crm.lead", "res.partner"):
            contact = partners.filtered(lambda p: p.id == contact_id)
            if not contact:
                raise UserError(
                    self.env._("This contact is not one of this company's.")
                )
            domain = domain + [("partner_id", "=", contact.id)]
            self._panel_check_works_with(record, domain)
        return record, partners, domain

    @api.model
    def _panel_reply_targets(self, res_model, record, partners):
        """The contacts of a company history (for the filter): those with a
        conversation the user may read; each reply target says whose it is."""
        result = super()._panel_reply_targets(res_model, record, partners)
        conversations = self.env["omnichannel.conversation"].sudo()
        # Only real conversations: a reply target may be one the panel opens
        # on sending (a first email, a negative id).
        by_id = {
            c.id: c
            for c in conversations.browse(
                [c["id"] for c in result["conversations"] if c["id"] > 0]
            )
        }
        for values in result["conversations"]:
            if values["id"] in by_id:
                values["partner_id"] = by_id[values["id"]].partner_id.id
        contacts = []
        if len(partners) > 1 and res_model in ("crm.lead", "res.partner"):
            visible = (
                self.env["omnichannel.conversation"]
                .sudo(False)
                ._read_group([("partner_id", "in", partners.ids)], ["partner_id"])
            )
            contacts = sorted(
                ({"id": p.id, "name": p.sudo().name or ""} for (p,) in visible),
                key=lambda c: c["name"].lower(),
            )
            if res_model == "crm.lead":
                # A reply from a lead goes to its own customer first.
                own = [
                    c["id"]
                    for c in result["conversations"]
                    if c["partner_id"] == record.sudo().partner_id.id
                ]
                if own and result["default_conversation_id"] not in own:
                    result["default_conversation_id"] = own[0]
        result["contacts"] = contacts
        return result


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_company_by_email_domain = fields.Boolean(
        "Companies by email domain",
        config_parameter=DOMAIN_PARAM,
        help="A new contact whose provider vouches for their email (mail) joins the "
        "one client company whose website or email is at the same domain. Free email "
        "domains (gmail.com, mail.ru...) never count.",
    )


class CrmTeam(models.Model):
    _inherit = "crm.team"

    omnichannel_company_deal = fields.Selection(
        JOIN_POLICIES,
        string="Colleagues join the company's deal",
        default="ask",
        required=True,
        help="A contact of a client company writes in while the company has an open "
        "deal of this team. Join automatically: their conversation goes to that deal. "
        "Ask the salesperson: they get a deal of their own and the salesperson is "
        "offered to join them to the company's. Never: a deal of their own.",
    )


class OmnichannelConversation(models.Model):
    _inherit = "omnichannel.conversation"

    customer_company_id = fields.Many2one(
        "res.partner",
        string="Works at",
        related="partner_id.parent_id",
        readonly=False,
        domain="[('is_company', '=', True)]",
        help="The client company of this customer: its card and its deals show the "
        "history of all its contacts.",
    )
    company_lead_offer_id = fields.Many2one(
        "crm.lead",
        string="Company's open deal",
        readonly=True,
        index="btree_not_null",
        copy=False,
        help="The open deal of this customer's company the salesperson is offered "
        "to join this conversation to.",
    )

    def _omnichannel_company_deals(self, company):
        """The open deals of a client company and its contacts, in the
        conversation's company; the company's deal first: the company's
        own, else the oldest (the contact who came first opened it)."""
        deals = (
            self.env["crm.lead"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", company.id),
                    ("active", "=", True),
                    ("won_status", "=", "pending"),
                    ("company_id", "in", [self.company_id.id, False]),
                ],
                order="create_date, id",
            )
        )
        return deals.sorted(lambda d: d.partner_id != company)

    def _omnichannel_company_deal_policy(self, deal):
        """auto / ask / never: the team of the company's deal decides."""
        team = deal.team_id or self.team_id or self.channel_id.team_id
        return team.omnichannel_company_deal if team else "ask"

    def _ensure_lead(self):
        """A contact of a client company without a deal of their own: the
        company's open deal (the deal's team says auto / ask / never).  Costs
        nothing more for a customer of no company."""
        self.ensure_one()
        partner = self.partner_id
        if self._lead_is_open() or not partner.parent_id:
            return super()._ensure_lead()
        company = _company_family(partner)
        if not company:
            return super()._ensure_lead()
        self.env["omnichannel.identity"]._lock("omnichannel-lead", company.id)
        deals = self._omnichannel_company_deals(company)
        if not deals or partner in deals.partner_id:
            # No deal of the company, or one of the customer's own.
            return super()._ensure_lead()
        deal = deals[0]
        policy = self._omnichannel_company_deal_policy(deal)
        if policy == "auto":
            self._omnichannel_join_company_deal(deal)
            return deal
        lead = super()._ensure_lead()
        if policy == "ask" and lead and lead != deal:
            self.company_lead_offer_id = deal
        return lead

    def _omnichannel_offer_company_deal(self):
        """The customer was just attached to a company: a conversation on a
        deal opened automatically for them (or on none) is offered the
        company's open deal of another contact, by the same policy."""
        for conversation in self.sudo():
            lead = conversation.lead_id
            company = _company_family(conversation.partner_id)
            if (
                not company
                or conversation.state == "closed"
                or (lead and not lead.omnichannel_auto_created)
                or (lead and not (lead.active and lead.won_status == "pending"))
            ):
                continue
            deal = conversation._omnichannel_company_deals(company)[:1]
            if not deal or deal.partner_id == conversation.partner_id:
                # None, or the customer's own deal is the company's.
                continue
            policy = conversation._omnichannel_company_deal_policy(deal)
            if policy == "auto":
                conversation._omnichannel_join_company_deal(deal)
            elif policy == "ask":
                conversation.company_lead_offer_id = deal

    def _omnichannel_join_company_deal(self, deal):
        """Move this conversation (and its messages) to the company's deal;
        the deal it leaves, opened automatically for it alone, is archived."""
        self.ensure_one()
        conversation = self.sudo()
        old = conversation.lead_id
        conversation.write({"lead_id": deal.id, "company_lead_offer_id": False})
        self.env["omnichannel.message"].sudo().search(
            [("conversation_id", "=", self.id), ("lead_id", "in", [old.id, False])]
        ).write({"lead_id": deal.id})
        lang = self._reader_lang()
        deal = deal.sudo().with_context(lang=lang)
        deal._message_log(
            body=deal.env._(
                "%(customer)s (%(company)s) joined this deal from %(channel)s.",
                customer=self.partner_id.name,
                company=self.partner_id.commercial_partner_id.name,
                channel=self.channel_id.name,
            )
        )
        if (
            old
            and old != deal
            and old.omnichannel_auto_created
            and not old.omnichannel_conversation_ids
        ):
            old = old.sudo().with_context(lang=lang)
            old._message_log(body=old.env._("Joined the company's deal %s.", deal.name))
            old.active = False

    def _omnichannel_check_company_offer(self):
        self.check_access("write")
        if not self.company_lead_offer_id:
            raise UserError(self.env._("There is no company deal to decide on."))

    def action_join_company_deal(self):
        """The offer's "Join the company's deal" button."""
        for conversation in self:
            conversation._omnichannel_check_company_offer()
            deal = conversation.sudo().company_lead_offer_id
            if not (deal.active and deal.won_status == "pending"):
                conversation.sudo().company_lead_offer_id = False
                raise UserError(self.env._("The company's deal is closed already."))
            conversation._omnichannel_join_company_deal(deal)
        return True

    def action_keep_company_deal_separate(self):
        """The offer's "Keep separate" button."""
        for conversation in self:
            conversation._omnichannel_check_company_offer()
            conversation.sudo().company_lead_offer_id = False
        return True


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_company_offer_id = fields.Many2one(
        "crm.lead",
        string="Company's open deal offered",
        compute="_compute_omnichannel_company_offer_id",
    )

    @api.depends("omnichannel_conversation_ids.company_lead_offer_id")
    def _compute_omnichannel_company_offer_id(self):
        for lead in self:
            lead.omnichannel_company_offer_id = (
                lead.sudo().omnichannel_conversation_ids.company_lead_offer_id[:1]
            )

    def _omnichannel_offered_conversations(self):
        self.check_access("write")
        conversations = self.sudo().omnichannel_conversation_ids.filtered(
            "company_lead_offer_id"
        )
        return conversations.sudo(False)

    def action_join_company_deal(self):
        deal = self.omnichannel_company_offer_id
        self._omnichannel_offered_conversations().action_join_company_deal()
        if self.active:
            return True
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": deal.id,
            "views": [[False, "form"]],
        }

    def action_keep_company_deal_separate(self):
        conversations = self._omnichannel_offered_conversations()
        return conversations.action_keep_company_deal_separate()


class OmnichannelIdentity(models.Model):
    _inherit = "omnichannel.identity"

    @api.model
    def _create_partner(self, channel, contact, phone, email):
        """A new contact whose provider vouches for a corporate address joins
        the one company of that domain (setting, off by default)."""
        partner = super()._create_partner(channel, contact, phone, email)
        if (
            contact.email
            and contact.email_verified
            and self.env["ir.config_parameter"].sudo().get_param(DOMAIN_PARAM)
        ):
            company = partner._omnichannel_company_by_domain()
            if company:
                partner.sudo().parent_id = company
        return partner


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        result = super().write(vals)
        if vals.get("parent_id"):
            # "Works at": the customer's conversations may join the
            # company's open deal.
            self.env["omnichannel.conversation"].sudo().search(
                [("partner_id", "in", self.ids), ("state", "!=", "closed")]
            )._omnichannel_offer_company_deal()
        return result

    def _omnichannel_company_by_domain(self):
        """The one company whose website or email is at this contact's email
        domain (none for free-mail domains, or when several match)."""
        self.ensure_one()
        domain = (email_domain_extract(self.email_normalized or "") or "").lower()
        if not domain:
            return self.browse()
        Freemail = self.env["omnichannel.freemail.domain"].sudo()
        if Freemail.search_count([("name", "=", domain)], limit=1):
            return self.browse()
        candidates = self.sudo().search(
            [
                ("is_company", "=", True),
                ("id", "!=", self.id),
                ("company_id", "in", [self.company_id.id, False]),
                "|",
                ("email_normalized", "=like", f"%@{domain}"),
                ("website", "ilike", domain),
            ],
            limit=20,
        )

        def host(url):
            url = url if "//" in url else f"//{url}"
            name = (urlsplit(url).hostname or "").lower()
            return name[4:] if name.startswith("www.") else name

        companies = candidates.filtered(
            lambda c: (
                (c.email_normalized or "").endswith(f"@{domain}")
                or host(c.website or "") == domain
            )
        )
        return companies if len(companies) == 1 else self.browse()
