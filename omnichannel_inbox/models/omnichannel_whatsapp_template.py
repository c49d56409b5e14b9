import re

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors

VARIABLE = re.compile(r"{{\s*([A-Za-z0-9_]+)\s*}}")
STATUSES = [
    ("approved", "Approved"),
    ("pending", "Pending review"),
    ("rejected", "Rejected"),
    ("paused", "Paused"),
    ("disabled", "Disabled"),
    ("in_appeal", "In appeal"),
    ("pending_deletion", "Pending deletion"),
    ("deleted", "Deleted"),
    ("limit_exceeded", "Limit exceeded"),
    ("archived", "Archived"),
]


class OmnichannelWhatsappTemplate(models.Model):
    """An approved WhatsApp message template: the only thing WhatsApp lets a
    business send outside the 24-hour customer-service window.  Read from
    the WhatsApp Business Account (Sync templates) or entered by an admin
    exactly as approved at Meta; its variables are filled from the lead (and
    its customer) when a salesperson sends it."""

    _name = "omnichannel.whatsapp.template"
    _description = "WhatsApp Message Template"
    _order = "channel_id, name, language"

    name = fields.Char(
        "Template name",
        required=True,
        help="The name approved at Meta (lowercase, underscores), "
        "e.g. order_follow_up.",
    )
    active = fields.Boolean(default=True)
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="WhatsApp account",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("channel_type", "=", "whatsapp")],
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True
    )
    language = fields.Char(
        required=True,
        default="en_US",
        help="The template language code at Meta: ru, en_US...",
    )
    category = fields.Selection(
        [
            ("marketing", "Marketing"),
            ("utility", "Utility"),
            ("authentication", "Authentication"),
        ],
        default="utility",
    )
    status = fields.Selection(
        STATUSES,
        default="approved",
        required=True,
        help="Only approved templates can be sent.",
    )
    parameter_format = fields.Selection(
        [
            ("positional", "Numbered: {{1}}, {{2}}"),
            ("named", "Named: {{customer_name}}"),
        ],
        default="positional",
        required=True,
    )
    meta_template_id = fields.Char("Meta template ID", readonly=True, copy=False)
    header_text = fields.Char("Header")
    body = fields.Text(
        required=True, help="The approved wording, with its variables: Hello {{1}}, ..."
    )
    footer_text = fields.Char("Footer")
    variable_ids = fields.One2many(
        "omnichannel.whatsapp.template.variable",
        "template_id",
        string="Variables",
        copy=True,
    )
    unsupported_reason = fields.Char(
        "Cannot be sent from Odoo",
        readonly=True,
        help="Templates with a media header or buttons needing values are sent from "
        "WhatsApp Manager.",
    )

    _name_language_unique = models.Constraint(
        "UNIQUE(channel_id, name, language)",
        "A template exists once per account, name and language.",
    )

    @api.depends("name", "language")
    def _compute_display_name(self):
        for template in self:
            template.display_name = "{} ({})".format(
                template.name or "",
                template.language or "",
            )

    # ------------------------------------------------------------------
    # Variables
    # ------------------------------------------------------------------
    def _variables_in_text(self):
        """[(component, key)] in the order WhatsApp expects them."""
        self.ensure_one()
        found = []
        for component, text in (("header", self.header_text), ("body", self.body)):
            keys = list(dict.fromkeys(VARIABLE.findall(text or "")))
            if self.parameter_format == "positional":
                keys.sort(key=lambda k: int(k) if k.isdigit() else 0)
            found += [(component, key) for key in keys]
        return found

    def _sync_variables(self):
        """One variable line per {{...}} of the wording: new ones added,
        vanished ones removed, existing mappings kept."""
        for template in self:
            wanted = template._variables_in_text()
            existing = {(v.component, v.key): v for v in template.variable_ids}
            (
                template.variable_ids
                - template.variable_ids.filtered(
                    lambda v, wanted=wanted: (v.component, v.key) in wanted
                )
            ).unlink()
            for sequence, (component, key) in enumerate(wanted):
                line = existing.get((component, key))
                if line:
                    line.sequence = sequence
                else:
                    self.env["omnichannel.whatsapp.template.variable"].create(
                        {
                            "template_id": template.id,
                            "component": component,
                            "key": key,
                            "sequence": sequence,
                        }
                    )

    @api.model_create_multi
    def create(self, vals_list):
        templates = super().create(vals_list)
        templates._sync_variables()
        return templates

    def write(self, vals):
        result = super().write(vals)
        if {"header_text", "body", "parameter_format"} & set(vals):
            self._sync_variables()
        return result

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def _render_for(self, conversation):
        """The template filled for ``conversation``'s lead (or customer):
        {'text': wording for the history, 'payload': WhatsApp template
        object, 'missing': labels of variables without a value}."""
        self.ensure_one()
        lead = conversation.lead_id.with_env(self.env) or self.env["crm.lead"].new(
            {"partner_id": conversation.partner_id.id}
        )
        values, texts, missing = [], {}, []
        for variable in self.variable_ids.sorted("sequence"):
            text = variable._value_for(lead)
            if not text:
                missing.append(variable.display_name)
            values.append((variable.component, variable.key, text))
            texts[(variable.component, variable.key)] = (
                text or f"{{{{{variable.key}}}}}"
            )

        def fill(component, wording):
            return VARIABLE.sub(
                lambda m: texts.get((component, m.group(1)), m.group(0)), wording or ""
            )

        parts = [
            fill("header", self.header_text),
            fill("body", self.body),
            self.footer_text or "",
        ]
        connector = connectors.get_connector_class("whatsapp")
        return {
            "text": "\n\n".join(p for p in parts if p),
            "payload": connector.template_payload(
                self.name, self.language, self.parameter_format, values
            ),
            "missing": missing,
        }

    def _check_sendable(self):
        self.ensure_one()
        if self.status != "approved":
            raise UserError(
                self.env._(
                    "The template %s is not approved by WhatsApp yet.",
                    self.display_name,
                )
            )
        if self.unsupported_reason:
            raise UserError(
                self.env._(
                    "The template %(template)s cannot be sent from Odoo: %(reason)s.",
                    template=self.display_name,
                    reason=self.unsupported_reason,
                )
            )

    # ------------------------------------------------------------------
    # Reading templates from Meta
    # ------------------------------------------------------------------
    @api.model
    def _sync_from_meta(self, channel, templates):
        """Create or update the templates Meta listed for ``channel``;
        those Meta no longer lists are archived.  Returns how many were read."""
        known = {
            (t.name, t.language): t
            for t in self.with_context(active_test=False).search(
                [("channel_id", "=", channel.id)]
            )
        }
        seen = self.browse()
        statuses = dict(STATUSES)
        for data in templates:
            vals = {
                "name": data["name"],
                "language": data["language"],
                "status": data["status"] if data["status"] in statuses else "pending",
                "category": data["category"]
                if data["category"] in ("marketing", "utility", "authentication")
                else False,
                "parameter_format": "named"
                if data["parameter_format"] == "named"
                else "positional",
                "meta_template_id": data["id"] or False,
                "header_text": data["header"] or False,
                "body": data["body"] or data["name"],
                "footer_text": data["footer"] or False,
                "unsupported_reason": data["unsupported"] or False,
                "active": True,
            }
            template = known.get((data["name"], data["language"]))
            if template:
                template.write(vals)
            else:
                template = self.create(dict(vals, channel_id=channel.id))
            seen |= template
        (self.browse([t.id for t in known.values()]) - seen).filtered(
            "meta_template_id"
        ).write({"active": False})
        return len(seen)
