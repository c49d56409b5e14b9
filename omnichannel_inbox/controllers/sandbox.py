import json
import uuid

from odoo import fields, http
from odoo.http import request
from odoo.tools import html2plaintext

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.omnichannel_inbox.models.omnichannel_crypto import (
    KeyMissing,
)

from .throttle import max_public_body, too_many_requests
from .webhook import json_answer


class OmnichannelSandbox(http.Controller):
    """The Sandbox channel's customer side: a public page where a person
    writes as a customer.

    The page knows no secret: the server gives each visitor a session id and
    a token (an HMAC of both under the database secret, like live chat's
    guest token), and every post and poll of the page must carry them.  The
    page posts here, not to the webhook: this route checks the token, then
    hands the body to the Sandbox connector and the same journal as any
    provider's webhook (which still accepts the channel secret, for scripts)."""

    def _sandbox_channel(self, key):
        channel = request.env["omnichannel.channel"].sudo()._find_by_webhook_key(key)
        return channel if channel and channel.channel_type == "sandbox" else None

    @http.route(
        "/omnichannel/sandbox/<string:key>", type="http", auth="public", methods=["GET"]
    )
    def sandbox_page(self, key, **kwargs):
        channel = self._sandbox_channel(key)
        if not channel:
            return request.not_found()
        session = uuid.uuid4().hex
        return request.render(
            "omnichannel_inbox.sandbox_page",
            {
                "channel": channel,
                "send_url": f"/omnichannel/sandbox/{key}/send",
                "messages_url": f"/omnichannel/sandbox/{key}/messages",
                "session": session,
                "token": channel._sandbox_visitor_token(session),
            },
        )

    @http.route(
        "/omnichannel/sandbox/<string:key>/send",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=max_public_body,
    )
    def sandbox_send(self, key, **kwargs):
        """One message of the visitor: 403 without a valid token, 429 over
        the rate limit, else journaled and processed like a webhook's."""
        channel = self._sandbox_channel(key)
        if not channel:
            return json_answer(404, "unknown channel")
        httprequest = request.httprequest
        max_bytes = channel._max_webhook_bytes()
        if (httprequest.content_length or 0) > max_bytes:
            return json_answer(413, f"body larger than {max_bytes:d} bytes")
        body = httprequest.get_data(cache=True)
        if len(body) > max_bytes:
            return json_answer(413, f"body larger than {max_bytes:d} bytes")
        try:
            data = json.loads(body)
        except ValueError:
            return json_answer(400, "the body is not JSON")
        if not isinstance(data, dict) or not channel._sandbox_check_visitor(
            data.get("session"), data.get("token")
        ):
            return json_answer(403, "wrong or missing visitor token")
        wait = channel._public_rate_limit(
            f"channel:{channel.id}", httprequest.remote_addr
        )
        if wait:
            return too_many_requests(wait)
        try:
            connector = channel._get_connector()
        except KeyMissing:
            # the channel's secrets cannot be decrypted (README, "Encryption at rest")
            return json_answer(503, "temporarily unavailable")
        try:
            events = connectors.check_events(
                connector.parse(httprequest.headers, body, {})
            )
        except connectors.PayloadError as exc:
            return json_answer(400, str(exc))
        request.env["omnichannel.inbound.event"].sudo()._accept(channel, events)
        return json_answer(200, "ok")

    @http.route(
        "/omnichannel/sandbox/<string:key>/messages",
        type="jsonrpc",
        auth="public",
        methods=["POST"],
    )
    def sandbox_messages(self, key, session="", token="", after_id=0, **kwargs):
        """Messages of this visitor's conversation, after ``after_id``."""
        channel = self._sandbox_channel(key)
        if not channel or not channel._sandbox_check_visitor(session, token):
            return {"messages": []}
        identity = (
            request.env["omnichannel.identity"]
            .sudo()
            .search(
                [("channel_id", "=", channel.id), ("provider_user_id", "=", session)],
                limit=1,
            )
        )
        if not identity:
            return {"messages": []}
        try:
            # Within PostgreSQL's 32-bit ids, or the query fails.
            after_id = min(max(int(after_id or 0), 0), 2**31 - 1)
        except (TypeError, ValueError, OverflowError):
            after_id = 0
        messages = (
            request.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id.identity_id", "=", identity.id),
                    ("id", ">", after_id),
                ],
                order="id",
                limit=200,
            )
        )
        return {
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "author": m.mail_message_id.author_id.name
                    if m.direction == "out"
                    else identity.name,
                    "text": html2plaintext(m.body or ""),
                    "date": fields.Datetime.to_string(m.date),
                    "attachments": [a.name for a in m.attachment_ids],
                }
                for m in messages
            ]
        }
