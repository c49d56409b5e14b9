from odoo import http
from odoo.http import request

from .throttle import too_many_requests
from .webhook import json_answer

PHONE_MAX = 40


class OmnichannelCallback(http.Controller):
    """Public JSON routes of the website widget: "Call me back" orders and
    the call tracking number reserved for the visitor's session.  Both are
    counted by the public rate limits of the website channel."""

    def _channel(self, key):
        channel = request.env["omnichannel.channel"].sudo()._find_by_webhook_key(key)
        return channel if channel and channel.channel_type == "website" else None

    def _limited(self, channel, scope):
        return request.env["omnichannel.channel"]._public_rate_limit(
            f"{scope}:{channel.id}", request.httprequest.remote_addr
        )

    def _read_request(self, key, scope):
        """(channel, JSON object, None) of a widget request, or a refusal as
        the third item: unknown channel 404, over the rate limit 429,
        anything but a JSON object 400."""
        channel = self._channel(key)
        if not channel:
            return None, None, json_answer(404, "unknown channel")
        wait = self._limited(channel, scope)
        if wait:
            return channel, None, too_many_requests(wait)
        try:
            params = request.get_json_data()
        except ValueError:
            return channel, None, json_answer(400, "malformed JSON")
        if not isinstance(params, dict):
            return channel, None, json_answer(400, "expected a JSON object")
        return channel, params, None

    def _lang(self, params):
        """The visitor's language: what the widget says (the page's lang),
        else the browser's, among the languages installed."""
        installed = [
            code for code, _name in request.env["res.lang"].sudo().get_installed()
        ]
        asked = [str(params.get("lang") or "")] + [
            lang for lang, _q in request.httprequest.accept_languages
        ]
        for code in asked:
            code = code.replace("-", "_")
            match = (
                next(
                    (
                        lang
                        for lang in installed
                        if lang == code or lang.split("_")[0] == code.split("_")[0]
                    ),
                    None,
                )
                if code
                else None
            )
            if match:
                return match
        return None

    @http.route(
        "/omnichannel/callback/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        cors="*",
        csrf=False,
        save_session=False,
    )
    def order_callback(self, key, **_kw):
        channel, params, refusal = self._read_request(key, "callback")
        if refusal:
            return refusal
        if (
            not isinstance(params.get("phone", ""), str)
            or len(params.get("phone") or "") > PHONE_MAX
        ):
            return json_answer(400, 'expected {"phone": "..."}')
        name = params.get("name") if isinstance(params.get("name"), str) else ""
        page_url = (
            params.get("page_url") if isinstance(params.get("page_url"), str) else ""
        )
        ok, message, callback = (
            request.env["omnichannel.callback.request"]
            .sudo()
            ._order_callback(
                channel,
                params.get("phone") or "",
                name=name,
                lang=self._lang(params),
                page_url=page_url,
            )
        )
        return request.make_json_response(
            {"ok": ok, "message": message, "state": callback.state or "refused"},
            status=200 if ok else 400,
        )

    @http.route(
        "/omnichannel/tracking/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        cors="*",
        csrf=False,
        save_session=False,
    )
    def tracking_number(self, key, **_kw):
        channel, params, refusal = self._read_request(key, "tracking")
        if refusal:
            return refusal
        text = {
            name: params.get(name) if isinstance(params.get(name), str) else ""
            for name in (
                "token",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "page_url",
            )
        }
        reservation = (
            request.env["omnichannel.tracking.number"]
            .sudo()
            ._reserve(
                channel,
                session_token=text["token"][:64],
                utm=text,
                page_url=text["page_url"],
            )
        )
        if not reservation:
            return request.make_json_response({"number": ""})
        return request.make_json_response(
            {
                "number": reservation.number_id.name,
                "token": reservation.token,
                "expires": reservation.expires.isoformat() + "Z",
            }
        )
