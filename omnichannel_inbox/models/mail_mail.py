from odoo import api, models

#: Context key of the processing of what customers send: the emails it
#: causes (alerts, "assigned to you") leave through the mail queue.
QUEUE_MAIL = "omnichannel_queue_mail"


class MailMail(models.Model):
    _inherit = "mail.mail"

    @api.model_create_multi
    def create(self, vals_list):
        mails = super().create(vals_list)
        if self.env.context.get(QUEUE_MAIL):
            self._omnichannel_wake_queue()
        return mails

    @api.model
    def _omnichannel_wake_queue(self):
        """Wake the mail queue once per transaction: the emails a customer's
        message causes are queued (``mail_notify_force_send=False``) so that
        no webhook waits for the mail server, and leave at once all the same
        (the queue's own schedule is hourly)."""
        data = self.env.cr.precommit.data
        if data.get("omnichannel.mail_queue_woken"):
            return
        data["omnichannel.mail_queue_woken"] = True
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
        )
        if cron_id:
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()
