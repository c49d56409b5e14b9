import json

from odoo import http
from odoo.http import request


class BenchBareRoute(http.Controller):
    """The least an Odoo route can do with a webhook: the same kind of route
    as the addon's (public, on the database, no CSRF), parsing the body and
    answering 200.  Everything the webhook does beyond that is our cost."""

    @http.route(
        "/bench/bare",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def bare(self, **kwargs):
        try:
            json.loads(request.httprequest.get_data())
        except ValueError:
            return request.make_response('{"error": "bad json"}', status=400)
        return request.make_response(
            '{"ok": true}', headers=[("Content-Type", "application/json")]
        )
