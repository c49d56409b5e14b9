import json

from odoo import http
from odoo.http import request


class OmnichannelPrivacy(http.Controller):
    @http.route(
        "/omnichannel/privacy/export/<int:partner_id>",
        type="http",
        auth="user",
        methods=["GET"],
    )
    def export(self, partner_id):
        """A customer's conversations as a JSON file (Omnichannel managers)."""
        partner = request.env["res.partner"].browse(partner_id).exists()
        if not partner:
            raise request.not_found()
        data = partner._omnichannel_export_data()
        body = json.dumps(data, ensure_ascii=False, indent=2)
        filename = f"customer-{partner.id}-conversations.json"
        return request.make_response(
            body,
            headers=[
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Disposition", f'attachment; filename="{filename}"'),
                ("Cache-Control", "no-store"),
            ],
        )
