from odoo import fields, models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    omnichannel_message_id = fields.Many2one(
        "omnichannel.message",
        string="From message",
        index="btree_not_null",
        ondelete="set null",
        help="The chat message this follow-up was taken from.",
    )
    omnichannel_followup_kind = fields.Selection(
        [
            ("customer_date", "Date the customer named"),
            ("own_promise", "Promise to the customer"),
            ("question", "Unanswered question"),
            ("silence", "Customer silent"),
            ("checkin", "Periodic check-in"),
        ],
        string="Follow-up rule",
        readonly=True,
    )
