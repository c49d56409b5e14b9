import json

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors

WIDGET_SCRIPT = "/omnichannel_inbox/static/src/widget/omnichannel_widget.js"


class OmnichannelChannel(models.Model):
    """Website side of the channel accounts: the public handle each account
    shows in the website widget, and the website form / lead API accounts
    (one per source, each with its API key and contact page).  The links, the
    widget's data and the public routes' limits, which the controllers call,
    are in omnichannel_channel.py."""

    _inherit = "omnichannel.channel"

    public_handle = fields.Char(
        "Public handle",
        help="How visitors reach this account, shown in the website widget: the bot's "
        "@username (Telegram), the phone number (WhatsApp, SMS), the chat URI "
        "(Viber), the community's short name (VK), the page's username "
        "(Messenger), the Instagram username, the address (email) - or a full "
        "link. Leave empty to keep the account out of the widget.",
    )
    public_link = fields.Char("Link for visitors", compute="_compute_public_link")
    contact_form_url = fields.Char(
        "Contact page", compute="_compute_contact_form_url", compute_sudo=True
    )
    widget_url = fields.Char("Widget data", compute="_compute_widget_code")
    widget_embed_code = fields.Text(
        "Code to paste in your website", compute="_compute_widget_code"
    )

    @api.depends("public_handle", "channel_type")
    def _compute_public_link(self):
        for channel in self:
            channel.public_link = channel._deep_link()

    @api.depends("channel_type")
    def _compute_contact_form_url(self):
        base = self._base_url()
        for channel in self:
            channel.contact_form_url = (
                f"{base}/omnichannel/contact/{channel.webhook_key}"
                if channel.channel_type == "website" and channel.webhook_key
                else False
            )

    @api.depends("channel_type", "company_id")
    def _compute_widget_code(self):
        base = self._base_url()
        for channel in self:
            if channel.channel_type != "website":
                channel.widget_url = channel.widget_embed_code = False
                continue
            channel.widget_url = f"{base}/omnichannel/widget/{channel.company_id.id}"
            channel.widget_embed_code = (
                "<!-- {form_label} -->\n"
                '<iframe src="{form}" title="{form_label}" '
                'style="width:100%;min-height:640px;border:0"></iframe>\n'
                "<!-- {widget_label} -->\n"
                '<script src="{base}{script}" data-omnichannel-widget="{data}" '
                "async></script>"
            ).format(
                form_label=self.env._("Contact form"),
                form=channel.contact_form_url,
                widget_label=self.env._("Messenger buttons"),
                base=base,
                script=WIDGET_SCRIPT,
                data=channel.widget_url,
            )

    # ------------------------------------------------------------------
    # Replies
    # ------------------------------------------------------------------
    def _check_reply_allowed(self, conversation, template=None):
        super()._check_reply_allowed(conversation, template=template)
        if self.channel_type == "website":
            raise UserError(
                self.env._(
                    "A website form cannot be answered on the website: reply by email "
                    "or on another of the customer's channels."
                )
            )

    # ------------------------------------------------------------------
    # Lead API answers
    # ------------------------------------------------------------------
    def _webhook_answer(self, connector, events, new_events):
        """The lead API answers what became of the submission: 201 with the
        lead when it was just processed, 200 with the same lead for a replay
        (same submission id), 202 when it is journaled and waits for the
        background processing."""
        # The connector says which provider this is: the channel's own row
        # was dropped from the cache by the commits of the journal and of the
        # processing, and is not read again only to answer.
        if connector.code != "website" or not events:
            return super()._webhook_answer(connector, events, new_events)
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.id),
                    ("provider_event_id", "=", str(events[0].event_id)[:255]),
                ],
                limit=1,
            )
        )
        body = {"submission_id": row.provider_event_id or str(events[0].event_id)}
        if row.state == "done" and row.message_id:
            status = 201 if row in new_events else 200
            body.update(
                status="created" if status == 201 else "duplicate",
                lead_id=row.message_id.lead_id.id or None,
                partner_id=row.message_id.partner_id.id,
            )
        elif row.state == "ignored":
            status = 200
            body.update(status="ignored", lead_id=None)
        else:
            status = 202
            body.update(status="accepted", lead_id=None)
        return connectors.HttpAnswer(status, json.dumps(body), "application/json")
