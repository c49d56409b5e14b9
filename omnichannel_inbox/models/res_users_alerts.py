from odoo import fields, models


class ResUsersAlerts(models.Model):
    """Which inbox alerts a salesperson gets about customers' messages (see
    ``omnichannel_conversation_alerts.py``); set by each user in My
    Preferences."""

    _inherit = "res.users"

    omnichannel_alerts = fields.Selection(
        [
            ("all", "My conversations and my team's queue"),
            ("assigned", "Only my conversations"),
            ("none", "No alerts"),
        ],
        string="Chat alerts",
        default="all",
        required=True,
        help="Odoo inbox notifications (and browser push where the browser "
        "allows) about customers' messages: once per wait for an answer, in "
        "conversations you handle and, with the first choice, in your team's "
        "queue while you are available. Response-time escalations are not "
        "affected.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["omnichannel_alerts"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["omnichannel_alerts"]
