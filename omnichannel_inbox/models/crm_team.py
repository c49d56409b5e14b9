from odoo import fields, models


class CrmTeam(models.Model):
    _inherit = "crm.team"

    omnichannel_on_duty_user_id = fields.Many2one(
        "res.users",
        string="On-duty substitute",
        domain="[('share', '=', False)]",
        help="Gets the new conversations no routing rule could give to an available "
        "salesperson "
        "(outside working hours, everyone busy). Empty: they wait in the team queue.",
    )
