from odoo import api, fields, models


class OmnichannelFreemailDomain(models.Model):
    """Email domains anyone can have an address at (gmail.com, mail.ru):
    an address there says nothing of its owner's employer."""

    _name = "omnichannel.freemail.domain"
    _description = "Free email domain"
    _order = "name"

    name = fields.Char("Domain", required=True)
    active = fields.Boolean(default=True)

    _name_unique = models.UniqueIndex("(lower(name))")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name"):
                vals["name"] = vals["name"].strip().lower().lstrip("@")
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("name"):
            vals = dict(vals, name=vals["name"].strip().lower().lstrip("@"))
        return super().write(vals)
