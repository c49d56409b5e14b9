from datetime import date, datetime

from odoo import api, fields, models
from odoo.tools.misc import format_date, format_datetime


class OmnichannelWhatsappTemplateVariable(models.Model):
    """What fills one {{variable}} of a WhatsApp template: a field of the
    lead (``partner_id.name``, ``user_id.name``, ``expected_revenue``...),
    with a fixed text when the field is empty (or instead of a field)."""
    _name = 'omnichannel.whatsapp.template.variable'
    _description = 'WhatsApp Template Variable'
    _order = 'template_id, sequence, id'

    template_id = fields.Many2one('omnichannel.whatsapp.template', required=True, ondelete='cascade', index=True)
    sequence = fields.Integer(default=10)
    component = fields.Selection([('header', 'Header'), ('body', 'Body')], required=True, default='body')
    key = fields.Char('Variable', required=True, help='1 for {{1}}, customer_name for {{customer_name}}.')
    lead_model = fields.Char(compute='_compute_lead_model', help='Model the field path starts from.')
    field_path = fields.Char(
        'Lead field', help='The lead field whose value fills the variable, e.g. partner_id.name for the '
                           'customer\'s name or user_id.name for the salesperson\'s.')
    default_value = fields.Char('Fixed text', help='Used when the field is empty, or when no field is chosen.')

    @api.depends('component', 'key')
    def _compute_display_name(self):
        labels = dict(self._fields['component']._description_selection(self.env))
        for variable in self:
            variable.display_name = '%s {{%s}}' % (labels.get(variable.component, ''), variable.key or '')

    def _compute_lead_model(self):
        self.lead_model = 'crm.lead'

    def _value_for(self, lead):
        """The text filling this variable for ``lead``, '' when none."""
        self.ensure_one()
        text = self._field_text(lead, self.field_path) if self.field_path else ''
        return (text or self.default_value or '').strip()

    @api.model
    def _field_text(self, record, path):
        """The value at ``path`` from ``record``, as a person would read it."""
        *relations, name = path.split('.')
        for relation in relations:
            if relation not in record._fields:
                return ''
            record = record[relation][:1]
            if not record:
                return ''
        field = record._fields.get(name)
        if field is None or field.type in ('binary', 'boolean', 'json', 'properties'):
            return ''
        value = record[name]
        if isinstance(value, models.BaseModel):
            return ', '.join(value.mapped('display_name'))
        if field.type == 'selection':
            return dict(field._description_selection(self.env)).get(value) or ''
        if isinstance(value, datetime):
            return format_datetime(self.env, value)
        if isinstance(value, date):
            return format_date(self.env, value)
        if value is False or value is None:
            return ''
        if isinstance(value, float):
            return ('%.2f' % value).rstrip('0').rstrip('.')
        return str(value)
