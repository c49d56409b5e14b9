from .common import OmnichannelHttpCase
from .panel_uploads import pending_uploads


class ProviderCase(OmnichannelHttpCase):
    """Webhook tests of one channel account (``self.channel``, set by the
    subclass's setUp): what its journal and its history hold."""

    def setUp(self):
        super().setUp()
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def messages(self):
        return self.Message.search([("channel_id", "=", self.channel.id)])

    def last_message(self):
        return self.messages()[:1]

    def remember_conversation(self):
        """Keep the channel's conversation (the customer's first message opened
        it) as ``self.conversation``, and its lead as ``self.lead``."""
        self.conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        self.lead = self.conversation.lead_id

    def reply(self, text, *files):
        """The salesperson replies ``text`` to ``self.conversation`` from the
        chat panel of ``self.lead``, with ``files`` ((name, bytes) pairs)
        uploaded as the panel uploads them; returns the panel's answer."""
        extra = {}
        if files:
            extra["attachment_ids"] = pending_uploads(self.env, *files).ids
        return self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text=text, **extra
        )
