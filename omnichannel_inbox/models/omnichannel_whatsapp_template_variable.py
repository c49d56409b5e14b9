from datetime import date, datetime

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import format_date, format_datetime

#: The lead fields a template may show a customer.  A template goes to
#: whatever number the sender picks and is filled with the sender's rights
#: (or the inbox's), so an arbitrary path would let whoever edits templates
#: read any field - a user's API keys, the company's Twilio token - by sending
#: it to their own phone: only names, contacts of the people involved and
#: the deal's own figures are offered.
ALLOWED_FIELD_PATHS = frozenset(
    {
        "name",
        "contact_name",
        "partner_name",
        "email_from",
        "phone",
        "city",
        "expected_revenue",
        "date_deadline",
        "stage_id.name",
        "team_id.name",
        "source_id.name",
        "medium_id.name",
        "campaign_id.name",
        "partner_id.name",
        "partner_id.display_name",
        "partner_id.commercial_company_name",
        "partner_id.email",
        "partner_id.phone",
        "partner_id.city",
        "partner_id.website",
        "partner_id.title.name",
        "user_id.name",
        "user_id.email",
        "user_id.phone",
        "user_id.partner_id.name",
        "company_id.name",
        "company_id.email",
        "company_id.phone",
        "company_id.website",
        "company_id.city",
    }
)


class OmnichannelWhatsappTemplateVariable(models.Model):
    """What fills one {{variable}} of a WhatsApp template: a field of the
    lead (``partner_id.name``, ``user_id.name``, ``expected_revenue``...),
    with a fixed text when the field is empty (or instead of a field)."""

    _name = "omnichannel.whatsapp.template.variable"
    _description = "WhatsApp Template Variable"
    _order = "template_id, sequence, id"

    template_id = fields.Many2one(
        "omnichannel.whatsapp.template", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    component = fields.Selection(
        [("header", "Header"), ("body", "Body")], required=True, default="body"
    )
    key = fields.Char(
        "Variable",
        required=True,
        help="1 for {{1}}, customer_name for {{customer_name}}.",
    )
    lead_model = fields.Char(
        compute="_compute_lead_model", help="Model the field path starts from."
    )
    field_path = fields.Char(
        "Lead field",
        help="The lead field whose value fills the variable, e.g. partner_id.name for "
        "the "
        "customer's name or user_id.name for the salesperson's.",
    )
    default_value = fields.Char(
        "Fixed text", help="Used when the field is empty, or when no field is chosen."
    )

    @api.constrains("field_path")
    def _check_field_path(self):
        for variable in self:
            if variable.field_path and variable.field_path not in ALLOWED_FIELD_PATHS:
                raise ValidationError(
                    self.env._(
                        "%(path)s cannot fill a template variable. Choose one of: "
                        "%(allowed)s.",
                        path=variable.field_path,
                        allowed=", ".join(sorted(ALLOWED_FIELD_PATHS)),
                    )
                )

    @api.depends("component", "key")
    def _compute_display_name(self):
        labels = dict(self._fields["component"]._description_selection(self.env))
        for variable in self:
            variable.display_name = "{} {{{{{}}}}}".format(
                labels.get(variable.component, ""),
                variable.key or "",
            )

    def _compute_lead_model(self):
        self.lead_model = "crm.lead"

    def _value_for(self, lead):
        """The text filling this variable for ``lead``, '' when none."""
        self.ensure_one()
        # Checked again here: a path stored before the allow-list existed
        # fills nothing.
        path = self.field_path if self.field_path in ALLOWED_FIELD_PATHS else False
        text = self._field_text(lead, path) if path else ""
        return (text or self.default_value or "").strip()

    @api.model
    def _field_text(self, record, path):
        """The value at ``path`` from ``record``, as a person would read it."""
        *relations, name = path.split(".")
        for relation in relations:
            if relation not in record._fields:
                return ""
            record = record[relation][:1]
            if not record:
                return ""
        field = record._fields.get(name)
        if field is None or field.type in ("binary", "boolean", "json", "properties"):
            return ""
        value = record[name]
        if isinstance(value, models.BaseModel):
            return ", ".join(value.mapped("display_name"))
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value) or ""
        if isinstance(value, datetime):
            return format_datetime(self.env, value)
        if isinstance(value, date):
            return format_date(self.env, value)
        if value is False or value is None:
            return ""
        if isinstance(value, float):
            return (f"{value:.2f}").rstrip("0").rstrip(".")
        return str(value)
