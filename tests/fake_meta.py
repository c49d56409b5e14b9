"""A fake Meta Graph API on 127.0.0.1, speaking the real wire format, and
builders of webhook bodies shaped like Meta's documented examples.

Graph API: ``/<version>/<node>[/<edge>]`` with ``Authorization: Bearer
<token>``; answers are JSON, errors ``{"error": {"message", "type", "code",
"error_subcode", "error_data", "fbtrace_id"}}``.  WhatsApp media live behind
``GET /<version>/<media id>`` (a URL) and that URL (token required);
Messenger attachments behind plain CDN URLs.  Setting a WhatsApp number's
callback override makes this fake verify the URL with Meta's GET handshake,
as Meta does."""

import base64
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse

import requests

from .common import FakeProviderServer

VERSION = "v21.0"
#: A 1x1 PNG, for files customers and salespeople send.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def meta_error(
    code, message, subcode=None, details=None, error_type="OAuthException", title=None
):
    error = {
        "message": message,
        "type": error_type,
        "code": code,
        "fbtrace_id": "AbCdEfGh123",
    }
    if subcode:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if title:
        error["error_user_title"] = title
    return {"error": error}


class FakeGraphServer(FakeProviderServer):
    def __init__(self, tokens=("EAAG-TEST",)):
        super().__init__()
        self.tokens = set(tokens)
        self.media = {}  # media id -> (bytes, mimetype)
        self.cdn = {}  # path -> (bytes, mimetype), no token needed
        self.nodes = {}  # id -> dict answered by GET /<id> (numbers, pages, profiles)
        self.templates = {}  # WABA id -> list of templates as Meta lists them
        self.subscriptions = {}  # node -> subscribed fields
        self.failures = {}  # (method, path suffix) -> (status, body)
        self._ids = itertools.count(1)
        self.route("GET", "/", self._dispatch)
        self.route("POST", "/", self._dispatch)

    @property
    def api_url(self):
        return f"{self.url}/{VERSION}"

    # -- test controls -------------------------------------------------------
    def fail(self, method, path_suffix, status, body):
        self.failures[(method, path_suffix)] = (status, body)

    def add_media(self, media_id, data, mimetype):
        self.media[media_id] = (data, mimetype)

    def add_cdn_file(self, name, data, mimetype):
        self.cdn[f"/cdn/{name}"] = (data, mimetype)
        return f"{self.url}/cdn/{name}?_nc_sig=abc&oh=123"

    def api_calls(self, method, path):
        return [
            r
            for r in self.requests
            if r.method == method and r.path == f"/{VERSION}/{path}"
        ]

    def sent(self, node):
        """Bodies POSTed to /<node>/messages (JSON or multipart fields)."""
        return [
            r.json()
            if r.headers.get("Content-Type", "").startswith("application/json")
            else r.fields
            for r in self.api_calls("POST", f"{node}/messages")
        ]

    # -- wire format ---------------------------------------------------------
    def _dispatch(self, request):
        if request.path in self.cdn:
            data, mimetype = self.cdn[request.path]
            return 200, {"Content-Type": mimetype}, data
        if request.path.startswith("/whatsapp_business/attachments/"):
            return self._lookaside(request)
        if not request.path.startswith(f"/{VERSION}/"):
            return 404, {}, {"error": "not found"}
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return (
                401,
                {},
                meta_error(
                    190, "Invalid OAuth access token - Cannot parse access token"
                ),
            )
        parts = request.path[len(VERSION) + 2 :].split("/")
        for (method, suffix), (status, body) in self.failures.items():
            if method == request.method and request.path.endswith(suffix):
                return status, {}, body
        node, edge = parts[0], "/".join(parts[1:])
        handler = getattr(
            self, "_{}_{}".format(request.method.lower(), edge or "node"), None
        )
        if handler is None:
            return (
                400,
                {},
                meta_error(
                    100,
                    f"Unsupported {request.method} request. Object with ID '{node}' "
                    f"does not exist",
                    error_type="GraphMethodException",
                ),
            )
        return handler(request, node)

    def _get_node(self, request, node):
        if node in self.media:
            data, mimetype = self.media[node]
            return (
                200,
                {},
                {
                    "messaging_product": "whatsapp",
                    "id": node,
                    "mime_type": mimetype,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": len(data),
                    "url": f"{self.url}/whatsapp_business/attachments/"
                    f"?mid={node}&ext={int(time.time())}&hash=ARb",
                },
            )
        if node in self.nodes:
            wanted = request.query.get("fields")
            info = self.nodes[node]
            if wanted:
                info = {
                    k: v for k, v in info.items() if k in wanted.split(",") or k == "id"
                }
            return 200, {}, info
        return (
            400,
            {},
            meta_error(
                100,
                f"Unsupported get request. Object with ID '{node}' does not exist",
                subcode=33,
                error_type="GraphMethodException",
            ),
        )

    def _lookaside(self, request):
        if request.headers.get("Authorization", "")[7:] not in self.tokens:
            return 401, {}, b""
        media_id = request.query.get("mid")
        if media_id not in self.media:
            return 404, {}, b""
        data, mimetype = self.media[media_id]
        return 200, {"Content-Type": mimetype}, data

    def _post_messages(self, request, node):
        if node == "me":
            # Messenger / Instagram Send API
            fields = request.fields
            recipient = (
                fields["recipient"]
                if isinstance(fields.get("recipient"), dict)
                else json.loads(fields["recipient"])
            )
            return (
                200,
                {},
                {
                    "recipient_id": recipient["id"],
                    "message_id": f"m_{next(self._ids)}",
                },
            )
        body = request.json()
        if body.get("messaging_product") != "whatsapp":
            return (
                400,
                {},
                meta_error(100, "(#100) The parameter messaging_product is required."),
            )
        # A phone number in "to", or a business-scoped user id in "recipient" ("to"
        # wins).
        to = body.get("to") or body.get("recipient")
        if not to:
            return 400, {}, meta_error(100, "(#100) The parameter to is required.")
        contact = (
            {"input": to, "wa_id": to}
            if body.get("to")
            else {"input": to, "user_id": to}
        )
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": f"wamid.HBgL{to}{next(self._ids):04d}"}],
        }
        if body.get("type") == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return 200, {}, answer

    def _post_media(self, request, node):
        if (
            request.fields.get("messaging_product") != "whatsapp"
            or "file" not in request.files
        ):
            return 400, {}, meta_error(100, "(#100) The parameter file is required.")
        filename, data, mimetype = request.files["file"]
        media_id = str(900000 + next(self._ids))
        self.media[media_id] = (data, request.fields.get("type") or mimetype)
        return 200, {}, {"id": media_id}

    def _post_node(self, request, node):
        """POST /<phone number id>: the webhook override, verified by Meta at once."""
        config = request.json().get("webhook_configuration") or {}
        url = config.get("override_callback_uri")
        if not url:
            return 400, {}, meta_error(100, "(#100) Invalid parameter")
        challenge = f"challenge-{next(self._ids)}"
        query = urllib.parse.urlencode(
            {
                "hub.mode": "subscribe",
                "hub.verify_token": config.get("verify_token", ""),
                "hub.challenge": challenge,
            }
        )
        try:
            answer = requests.get(f"{url}?{query}", timeout=10)
        except requests.RequestException:
            answer = None
        if answer is None or answer.status_code != 200 or answer.text != challenge:
            return (
                400,
                {},
                meta_error(
                    2200,
                    "(#2200) Callback verification failed with the following "
                    "errors: HTTP Status Code = %s"
                    % (answer.status_code if answer is not None else "none"),
                    error_type="OAuthException",
                ),
            )
        self.nodes.setdefault(node, {"id": node})["webhook_configuration"] = {
            "phone_number": url
        }
        return 200, {}, {"success": True}

    def _post_subscribed_apps(self, request, node):
        fields = (
            request.query.get("subscribed_fields")
            or request.fields.get("subscribed_fields")
            or "messages"
        )
        self.subscriptions[node] = fields.split(",")
        return 200, {}, {"success": True}

    def _get_subscribed_apps(self, request, node):
        fields = self.subscriptions.get(node)
        return (
            200,
            {},
            {
                "data": [
                    {"name": "Shop app", "id": "5550001", "subscribed_fields": fields}
                ]
                if fields
                else []
            },
        )

    def _get_message_templates(self, request, node):
        templates = self.templates.get(node, [])
        start = int(request.query.get("after") or 0)
        page = templates[start : start + 2]
        answer = {
            "data": page,
            "paging": {"cursors": {"before": str(start), "after": str(start + 2)}},
        }
        if start + 2 < len(templates):
            answer["paging"]["next"] = (
                f"{self.api_url}/{node}/message_templates?limit=2&after={start + 2}"
            )
        return 200, {}, answer


# ---------------------------------------------------------------------------
# Webhook bodies
# ---------------------------------------------------------------------------


def sign(body, app_secret):
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def wa_value(
    phone_number_id, messages=None, statuses=None, contacts=None, display="15550783881"
):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return value


def wa_body(waba_id, *values, field="messages"):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "changes": [{"value": v, "field": field} for v in values]}
        ],
    }


def wa_message(
    phone_number_id,
    wa_id,
    msg_id,
    kind,
    content,
    name="Anna Smirnova",
    timestamp=None,
    waba_id="1029384756",
    **extra,
):
    """One inbound message as Meta POSTs it."""
    message = {
        "from": wa_id,
        "id": msg_id,
        "timestamp": str(int(timestamp or time.time())),
        "type": kind,
    }
    if content is not None:
        message[kind] = content
    message.update(extra)
    contacts = [{"profile": {"name": name}, "wa_id": wa_id}]
    return wa_body(
        waba_id, wa_value(phone_number_id, messages=[message], contacts=contacts)
    )


def wa_status(
    phone_number_id,
    wamid,
    status,
    recipient,
    timestamp=None,
    errors=None,
    waba_id="1029384756",
):
    item = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(timestamp or time.time())),
        "recipient_id": recipient,
    }
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        item["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "category": "service",
        }
    if errors:
        item["errors"] = errors
    return wa_body(waba_id, wa_value(phone_number_id, statuses=[item]))


def messaging_body(product, account_id, *items):
    """A Messenger (``page``) or Instagram (``instagram``) webhook body."""
    return {
        "object": product,
        "entry": [
            {
                "id": account_id,
                "time": int(time.time() * 1000),
                "messaging": list(items),
            }
        ],
    }


def messaging_item(sender, recipient, timestamp_ms=None, **event):
    item = {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": int(
            timestamp_ms if timestamp_ms is not None else time.time() * 1000
        ),
    }
    item.update(event)
    return item


class MetaWebhookMixin:
    """Posting signed Meta webhooks to a channel (for OmnichannelHttpCase)."""

    def post_meta(self, channel, body, app_secret=None, signature=None):
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        secret = app_secret if app_secret is not None else channel.sudo().app_secret
        headers = {
            "X-Hub-Signature-256": signature
            if signature is not None
            else sign(raw, secret or "")
        }
        if signature == "":
            headers = {}
        return self.post_webhook(channel, raw, headers=headers)

    def handshake(
        self, channel, verify_token, challenge="1158201444", mode="subscribe"
    ):
        query = urllib.parse.urlencode(
            {
                "hub.mode": mode,
                "hub.verify_token": verify_token,
                "hub.challenge": challenge,
            }
        )
        return self.url_open(
            f"/omnichannel/webhook/{channel.sudo().webhook_key}?{query}",
            allow_redirects=False,
        )
