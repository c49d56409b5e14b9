from odoo.http import request

from odoo.addons.mail.controllers.webclient import WebclientController


class OmnichannelWebclientController(WebclientController):
    @classmethod
    def _process_request_for_internal_user(cls, store, name, params):
        """Odoo's ``::`` suggestions (mail's suggestion service, used by the
        chat panel and Discuss) fetch the user's own canned responses and
        those of their groups: add the ones shared with their sales teams."""
        super()._process_request_for_internal_user(store, name, params)
        if name == "mail.canned.response":
            store.add(request.env["mail.canned.response"]._omnichannel_team_shared())
