from odoo import fields, http
from odoo.http import request
from odoo.tools import html2plaintext

from odoo.addons.omnichannel_inbox import connectors


class OmnichannelSandbox(http.Controller):
    """The Sandbox channel's customer side: a public page where a person
    writes as a customer.  The page posts to the channel's webhook like a
    provider (see connectors/sandbox.py) and reads the replies back here."""

    def _sandbox_channel(self, key):
        channel = request.env['omnichannel.channel'].sudo()._find_by_webhook_key(key)
        return channel if channel and channel.channel_type == 'sandbox' else None

    @http.route('/omnichannel/sandbox/<string:key>', type='http', auth='public', methods=['GET'])
    def sandbox_page(self, key, **kwargs):
        channel = self._sandbox_channel(key)
        if not channel:
            return request.not_found()
        return request.render('omnichannel_inbox.sandbox_page', {
            'channel': channel,
            'webhook_url': '/omnichannel/webhook/%s' % key,
            'messages_url': '/omnichannel/sandbox/%s/messages' % key,
            # The Sandbox page is the provider: it signs its posts like one.
            'secret': channel.webhook_secret,
        })

    @http.route('/omnichannel/sandbox/<string:key>/messages', type='jsonrpc', auth='public', methods=['POST'])
    def sandbox_messages(self, key, session='', after_id=0, **kwargs):
        """Messages of this visitor's conversation, after ``after_id``."""
        channel = self._sandbox_channel(key)
        if not channel or not connectors.is_storable_id(session) or len(session) > 100:
            return {'messages': []}
        identity = request.env['omnichannel.identity'].sudo().search(
            [('channel_id', '=', channel.id), ('provider_user_id', '=', session)], limit=1)
        if not identity:
            return {'messages': []}
        try:
            # Within PostgreSQL's 32-bit ids, or the query fails.
            after_id = min(max(int(after_id or 0), 0), 2 ** 31 - 1)
        except (TypeError, ValueError, OverflowError):
            after_id = 0
        messages = request.env['omnichannel.message'].sudo().search([
            ('conversation_id.identity_id', '=', identity.id), ('id', '>', after_id),
        ], order='id', limit=200)
        return {'messages': [{
            'id': m.id,
            'direction': m.direction,
            'author': m.mail_message_id.author_id.name if m.direction == 'out' else identity.name,
            'text': html2plaintext(m.body or ''),
            'date': fields.Datetime.to_string(m.date),
            'attachments': [a.name for a in m.attachment_ids],
        } for m in messages]}
