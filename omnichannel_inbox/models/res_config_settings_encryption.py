from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    omnichannel_encrypt_files = fields.Boolean(
        "Encrypt conversation files",
        help="Files of conversations and call recordings of this company are written "
        "encrypted in the "
        "filestore, with the encryption key of the Odoo configuration (see README).",
    )


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omnichannel_encrypt_files = fields.Boolean(
        related="company_id.omnichannel_encrypt_files", readonly=False
    )

    def action_omnichannel_encrypt_existing_files(self):
        self.execute()
        count = self.env["ir.attachment"]._omnichannel_encrypt_existing_files()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("%s files encrypted.", count),
            },
        }
