from .common import OmnichannelHttpCase


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
