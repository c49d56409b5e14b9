import json
import logging
import urllib.parse

from odoo import http
from odoo.http import request

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.omnichannel_inbox.models.omnichannel_crypto import (
    KeyMissing,
)

from .throttle import too_many_requests

_logger = logging.getLogger(__name__)


def json_answer(status, message, **extra):
    body = dict(extra, error=message) if status >= 400 else dict(extra, status=message)
    return request.make_response(
        json.dumps(body), headers=[("Content-Type", "application/json")], status=status
    )


class OmnichannelWebhook(http.Controller):
    """The one entry point of every provider.

    1. find the channel account by its unguessable key     -> 404
    2. refuse oversized bodies                               -> 413
    3. connector.verify (signature, secret header)           -> 403, nothing stored
       (authentic but outside the replay window: journaled as
       ignored, acknowledged, never applied)
    4. connector.check_format: the provider's format at all? -> 400, nothing stored
    5. journal the raw body, commit
    6. read it into events (dedup on provider event id; what
       no parser reads stays as Unreadable), process them now
       or wake the cron                                      -> the provider's ack

    Steps 1-4 store nothing; once step 5 committed, nothing the customer sent
    can be lost whatever happens to reading or processing, and the answer is
    the one that stops the provider's retries."""

    def _limited_body(self, channel):
        """(the body, None), or (None, the answer) for a visitor over the rate
        limit of a public channel (lead API) or a body over the size limit."""
        httprequest = request.httprequest
        wait = channel._webhook_rate_limit(httprequest.remote_addr)
        if wait:
            return None, too_many_requests(wait)
        max_bytes = channel._max_webhook_bytes()
        if (httprequest.content_length or 0) > max_bytes:
            return None, json_answer(413, f"body larger than {max_bytes:d} bytes")
        body = httprequest.get_data(cache=True)
        if not body and httprequest.form:
            # Odoo parsed a form body (Twilio) before this route ran, and
            # werkzeug keeps no raw copy of it: hand the connector the same
            # fields, encoded again (form signatures cover fields, not bytes).
            body = urllib.parse.urlencode(
                list(httprequest.form.items(multi=True))
            ).encode()
        if len(body) > max_bytes:
            return None, json_answer(413, f"body larger than {max_bytes:d} bytes")
        return body, None

    @http.route(
        [
            "/omnichannel/webhook/<string:key>",
            # Mango Office posts to <the address it is given>/events/<name>.
            "/omnichannel/webhook/<string:key>/events/<path:mango_event>",
        ],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def webhook(self, key, **query):
        channel = request.env["omnichannel.channel"].sudo()._find_by_webhook_key(key)
        if not channel:
            return json_answer(404, "unknown channel")
        body, refused = self._limited_body(channel)
        if refused is not None:
            return refused
        httprequest = request.httprequest
        try:
            connector = channel._get_connector()
        except KeyMissing as exc:
            # Without the key the signature cannot be checked: the body is
            # kept as unverified (never applied) and the provider told to
            # retry later, when the key is back and the retry is verified.
            _logger.warning(
                "Omnichannel: webhook of channel %s held: its secrets cannot be "
                "decrypted",
                channel.id,
            )
            request.env["omnichannel.inbound.event"].sudo()._receive_unverified(
                channel, body, str(exc.args[0])
            )
            return request.make_response(
                json.dumps({"error": "temporarily unavailable"}),
                status=503,
                headers=[("Content-Type", "application/json"), ("Retry-After", "300")],
            )
        headers = httprequest.headers
        query = httprequest.args.to_dict()
        try:
            answer = connector.handshake(httprequest.method, headers, query, body)
        except connectors.SignatureError as exc:
            return json_answer(403, str(exc))
        except connectors.PayloadError as exc:
            return json_answer(400, str(exc))
        except Exception:
            _logger.info(
                "Omnichannel: unreadable handshake for channel %s",
                channel.id,
                exc_info=True,
            )
            return json_answer(400, "unreadable request")
        if answer is not None:
            return request.make_response(
                answer.body,
                headers=[("Content-Type", answer.content_type)],
                status=answer.status,
            )
        if httprequest.method != "POST":
            return json_answer(405, "POST only")
        try:
            connector.verify(headers, body, query)
        except connectors.ReplayedRequest as exc:
            # Authentic but sent outside the replay window by a provider that
            # signs no sending time: kept as ignored, acknowledged, not applied.
            ack = (
                request.env["omnichannel.inbound.event"]
                .sudo()
                ._receive_replayed(channel, connector, body, str(exc))
            )
            return request.make_response(
                ack.body,
                headers=[("Content-Type", ack.content_type)],
                status=ack.status,
            )
        except connectors.SignatureError as exc:
            _logger.info(
                "Omnichannel: refused a webhook of channel %s: %s", channel.id, exc
            )
            return json_answer(403, str(exc))
        except connectors.PayloadError as exc:
            # Providers that sign fields rather than bytes (Twilio, Zadarma)
            # must read the body to check it: one they cannot read is malformed.
            return json_answer(400, str(exc))
        except Exception:
            _logger.info(
                "Omnichannel: unverifiable webhook body for channel %s",
                channel.id,
                exc_info=True,
            )
            return json_answer(400, "unreadable body")
        try:
            # Only what is not this provider's format at all is refused:
            # whatever passes is journaled before any parser runs.
            connector.check_format(headers, body, query)
        except connectors.PayloadError as exc:
            return json_answer(400, str(exc))
        except Exception:
            _logger.info(
                "Omnichannel: unreadable webhook body for channel %s",
                channel.id,
                exc_info=True,
            )
            return json_answer(400, "unreadable body")
        ack = (
            request.env["omnichannel.inbound.event"]
            .sudo()
            ._receive(channel, connector, body)
        )
        return request.make_response(
            ack.body, headers=[("Content-Type", ack.content_type)], status=ack.status
        )
