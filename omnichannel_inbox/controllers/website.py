import uuid

from odoo import http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.website import FIELDS, WebsiteConnector

from .throttle import max_public_body, too_many_requests
from .webhook import json_answer

#: Hidden field people never fill and form robots do.
HONEYPOT = "website"
PASSED_ON = ("page_url", "utm_source", "utm_medium", "utm_campaign")


class OmnichannelWebsite(http.Controller):
    """The public side of the website channel: a contact page (standalone or
    in an iframe of any site) whose submissions go through the same checks,
    journal and identity rules as the lead API, and the data of the
    messenger widget."""

    def _website_channel(self, key):
        channel = request.env["omnichannel.channel"].sudo()._find_by_webhook_key(key)
        return channel if channel and channel.channel_type == "website" else None

    def _render_form(self, channel, values, error=None, status=200):
        return request.render(
            "omnichannel_inbox.contact_page",
            {
                "channel": channel,
                "values": values,
                "error": error,
                # A new id per displayed form: submitting it twice stores it once.
                "submission_id": values.get("submission_id") or uuid.uuid4().hex,
                "widget_url": f"/omnichannel/widget/{channel.company_id.id}",
            },
            status=status,
        )

    @http.route(
        "/omnichannel/contact/<string:key>", type="http", auth="public", methods=["GET"]
    )
    def contact_page(self, key, **params):
        channel = self._website_channel(key)
        if not channel:
            return request.not_found()
        values = {name: (params.get(name) or "")[: FIELDS[name]] for name in PASSED_ON}
        if not values["page_url"] and request.httprequest.referrer:
            values["page_url"] = request.httprequest.referrer[: FIELDS["page_url"]]
        return self._render_form(channel, values)

    # No CSRF token: the form is anonymous and is meant to be embedded in
    # other sites, where Odoo's session cookie is not sent.
    @http.route(
        "/omnichannel/contact/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=max_public_body,
    )
    def contact_submit(self, key, **post):
        channel = self._website_channel(key)
        if not channel:
            return request.not_found()
        # A file posted in place of a text field is kept as it is, for the
        # submission check to refuse by name.
        values = {name: post.get(name) or "" for name in FIELDS}
        wait = channel._public_rate_limit(
            f"channel:{channel.id}", request.httprequest.remote_addr
        )
        if wait:
            # A person sees the form again, with what they typed (nothing stored).
            values = {
                name: value if isinstance(value, str) else ""
                for name, value in values.items()
            }
            response = self._render_form(
                channel,
                values,
                status=429,
                error=request.env._(
                    "Too many messages were sent from your address: please try again "
                    "in %s seconds.",
                    wait,
                ),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        if post.get(HONEYPOT):
            # A robot: thank it and store nothing.
            return request.render(
                "omnichannel_inbox.contact_thanks", {"channel": channel}
            )
        try:
            # Odoo's reCAPTCHA (google_recaptcha, Community) when it is
            # installed and has keys; a no-op otherwise.  The form carries
            # data-captcha, so the module's script adds the token.
            request.env["ir.http"]._verify_request_recaptcha_token(
                "omnichannel_contact"
            )
        except (UserError, ValidationError) as exc:
            values = {
                name: value if isinstance(value, str) else ""
                for name, value in values.items()
            }
            return self._render_form(
                channel, values, error=exc.args[0] if exc.args else str(exc), status=403
            )
        try:
            event = connectors.check_event(WebsiteConnector.parse_submission(values))
        except connectors.PayloadError as exc:
            values = {
                name: value if isinstance(value, str) else ""
                for name, value in values.items()
            }
            if not values["email"].strip() and not values["phone"].strip():
                error = request.env._(
                    "Leave an email address or a phone number so that we can answer "
                    "you."
                )
            else:
                error = request.env._("Please check the form: %s", exc)
            return self._render_form(channel, values, error=error, status=400)
        Callback = request.env["omnichannel.callback.request"].sudo()
        callback = post.get("callback") and Callback._callback_line(channel.company_id)
        if callback and not (
            isinstance(values["phone"], str)
            and Callback._valid_number(values["phone"], channel.company_id)
        ):
            # "Call me back" with a number nobody can call: said before anything is
            # stored.
            values = {
                name: value if isinstance(value, str) else ""
                for name, value in values.items()
            }
            return self._render_form(
                channel,
                values,
                status=400,
                error=request.env._(
                    "Please check the phone number we should call you back on, with "
                    "the country code."
                ),
            )
        request.env["omnichannel.inbound.event"].sudo()._accept(channel, [event])
        callback_message = (
            callback
            and Callback._order_callback(
                channel,
                values["phone"],
                name=values["name"],
                lang=request.env.lang,
                page_url=values["page_url"],
            )[1]
        )
        return request.render(
            "omnichannel_inbox.contact_thanks",
            {"channel": channel, "callback_message": callback_message or ""},
        )

    @http.route(
        "/omnichannel/widget/<int:company_id>",
        type="http",
        auth="public",
        methods=["GET"],
        cors="*",
        save_session=False,
    )
    def widget_data(self, company_id, **params):
        """The channels the website widget offers (public: deep links only).
        The visitor's utm_source/utm_medium/utm_campaign, when the widget
        passes them, go into the Telegram link (existing utm records only)."""
        # PostgreSQL ids are 32-bit: a larger number would fail the query.
        company = (
            request.env["res.company"].sudo().browse(company_id).exists()
            if 0 < company_id < 2**31
            else None
        )
        if not company:
            return json_answer(404, "unknown company")
        wait = request.env["omnichannel.channel"]._public_rate_limit(
            f"company:{company.id}", request.httprequest.remote_addr
        )
        if wait:
            return too_many_requests(wait)
        utm = {
            key: params[key][:100]
            for key in PASSED_ON[1:]
            if isinstance(params.get(key), str)
        }
        data = (
            request.env["omnichannel.channel"]
            .sudo()
            .with_context(omnichannel_visitor_utm=utm)
            ._widget_data(company)
        )
        return request.make_json_response(
            data, headers={"Cache-Control": "public, max-age=300"}
        )
