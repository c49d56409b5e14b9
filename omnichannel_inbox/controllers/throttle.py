import json

from odoo.http import request


def too_many_requests(wait):
    """The answer to a public request over its rate limit (see
    omnichannel.channel._public_rate_limit): 429 with Retry-After, after
    which nothing of the request is stored."""
    return request.make_response(
        json.dumps({"error": f"too many requests: try again in {int(wait)} seconds"}),
        headers=[("Content-Type", "application/json"), ("Retry-After", str(wait))],
        status=429,
    )


def max_public_body(controller):
    """The largest body a public route takes (the webhooks' limit), for
    http.route's max_content_length: a larger one is refused with 413 before
    Odoo parses it into the route's parameters."""
    return request.env["omnichannel.channel"].sudo()._max_webhook_bytes()
