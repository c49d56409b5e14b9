from odoo import models
from odoo.tools import plaintext2html

from .omnichannel_inbound_event import UTM_FIELDS


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    def _process_form(self, event, final_attempt=False):
        """A website form or API submission: a customer's message like any
        other (identity rules, their open lead or a new one), whose new lead
        takes the submission's UTM parameters (they say more than "Website"
        about where the customer came from) and its message as description."""
        event.note = (
            self.env._("Sent from the website form on %s", event.page_url)
            if event.page_url
            else self.env._("Sent from the website form")
        )
        lead_values = {}
        for key, (field, model) in UTM_FIELDS.items():
            name = getattr(event, key)
            if name:
                # Odoo's own website tracking creates unknown UTM records the same way.
                lead_values[field] = (
                    self.env["utm.mixin"].sudo()._find_or_create_record(model, name).id
                )
        if event.text:
            lead_values["description"] = plaintext2html(event.text)
        return self.with_context(
            omnichannel_form_lead_values=lead_values
        )._process_message(event, final_attempt=final_attempt)
