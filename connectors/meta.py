"""What every Meta webhook and Graph API call has in common (WhatsApp Cloud
API, Messenger, Instagram Direct).

* The subscription handshake: Meta GETs the callback URL with
  ``hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`` and expects the
  challenge back, only when the verify token is the one we gave it.
* The signature: every POST carries ``X-Hub-Signature-256: sha256=<hex>``, the
  HMAC-SHA256 of the raw body keyed with the app secret.  Compared in constant
  time; a channel without an app secret accepts nothing.
* The Graph API: ``<base>/<node>/<edge>`` with the access token as a Bearer
  header, errors as ``{"error": {"message", "type", "code", "error_subcode",
  "error_data", "is_transient", "fbtrace_id"}}``.  ``config.base_url`` (the
  channel's API address) replaces https://graph.facebook.com/v21.0, which is
  how tests talk to a fake Graph API on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import HttpAnswer, IgnoredEvent, utm_from_payload
from .interface import Connector
from .signing import hmac_hex, secrets_equal

DEFAULT_GRAPH_API = "https://graph.facebook.com/v21.0"
#: what an id of the Graph API looks like (digits, or letters and digits for media)
GRAPH_NODE = re.compile(r"[A-Za-z0-9_.:-]{1,255}")
SIGNATURE_HEADER = "X-Hub-Signature-256"
TIMEOUT = 30
#: Meta's own ceiling for a media file (WhatsApp documents); a bigger body is refused.
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024

#: Graph error codes worth trying again later: temporary faults and rate limits.
RETRYABLE_CODES = {
    1,
    2,
    4,
    17,
    32,
    341,
    613,
    80007,
    130429,
    131000,
    131016,
    131048,
    131056,
    133004,
}
#: Codes meaning the person cannot be reached on this account any more
#: (Messenger: "This person isn't available right now").
UNREACHABLE_CODES = {551}
#: rate limits (seconds the whole account waits): 130429 WhatsApp throughput,
#: 131056 pair rate limit, 80007 / 4 / 17 / 32 / 613 Graph call limits
RATE_LIMIT_CODES = {130429: 1, 131056: 6, 80007: 60, 4: 60, 17: 60, 32: 60, 613: 60}
UNREACHABLE_SUBCODES = {1545041, 2018001}


def _lt(text):
    """Mark a fixed English note for Odoo's translation extractor; Odoo
    translates it when it shows the message (connectors import no Odoo)."""
    return text


#: Meta's names of where a referral came from -> the lead's UTM medium.
REFERRAL_MEDIUMS = {
    "ad": "Ad",
    "ads": "Ad",
    "post": "Post",
    "shortlink": "Link",
    "customer_chat_plugin": "Website",
    "messenger_code": "QR code",
    "discover_tab": "Discover",
}


def referral_utm(referral):
    """(source, medium, campaign, description) of a Meta ``referral``
    (Click-to-WhatsApp / Click-to-Messenger ads, m.me links, opt-ins).

    A ``ref`` written as ``source__medium__campaign`` (the convention of
    Telegram deep links) says it all; otherwise an ad gives medium "Ad" and
    its title (or id) as campaign, and the ad's address tells whether it ran
    on Instagram or Facebook.  Empty parts leave the channel's defaults."""
    if not isinstance(referral, dict):
        return "", "", "", ""

    def text(key):
        value = referral.get(key)
        return (
            value.strip()
            if isinstance(value, str)
            else str(value)
            if isinstance(value, int)
            else ""
        )

    source, medium, campaign = utm_from_payload(text("ref"))
    kind = (text("source_type") or text("source") or text("type")).lower()
    context = (
        referral.get("ads_context_data")
        if isinstance(referral.get("ads_context_data"), dict)
        else {}
    )
    title = text("headline") or (
        context.get("ad_title") if isinstance(context.get("ad_title"), str) else ""
    )
    ad_id = text("ad_id") or (text("source_id") if kind in ("ad", "ads") else "")
    url = text("source_url").lower()
    is_ad = kind in ("ad", "ads") or bool(ad_id) or bool(text("ctwa_clid"))
    if not source and url:
        source = (
            "Instagram"
            if "instagram." in url
            else "Facebook"
            if ("facebook." in url or "fb." in url)
            else ""
        )
    medium = medium or ("Ad" if is_ad else REFERRAL_MEDIUMS.get(kind, ""))
    if is_ad:
        campaign = campaign or title or (f"Ad {ad_id}" if ad_id else "")
    description = " ".join(p for p in (title, text("body"), text("source_url")) if p)
    return source[:100], medium[:100], campaign[:100], description[:500]


def signature_of(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac_hex(app_secret, body)


def event_id_of(data) -> str:
    """A stable id for a webhook item that has none of its own, so that
    Meta's redelivery of it is recognised."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str).encode()
    ).hexdigest()[:32]


class MetaConnector(Connector):
    """Base of the Meta connectors; not a channel type by itself."""

    common_settings = ("account_ref", "app_secret", "verify_token")

    #: Meta's CDNs (WhatsApp media links, Messenger and Instagram attachments)
    media_hosts = (
        "fbcdn.net",
        "fbsbx.com",
        "facebook.com",
        "whatsapp.net",
        "cdninstagram.com",
        "instagram.com",
    )

    #: value of the ``object`` key of this product's webhook bodies
    webhook_object = ""

    # -- inbound ------------------------------------------------------------
    def handshake(self, method, headers, query, body):
        if method != "GET" or "hub.mode" not in query:
            return None
        if query.get("hub.mode") != "subscribe" or not secrets_equal(
            self.config.verify_token, query.get("hub.verify_token")
        ):
            raise SignatureError(
                "wrong hub.verify_token (or no verify token set on this channel)"
            )
        challenge = query.get("hub.challenge") or ""
        if not challenge or len(challenge) > 200:
            raise PayloadError("hub.challenge is missing")
        return HttpAnswer(200, challenge, "text/plain")

    def verify(self, headers, body, query):
        given = self.header(headers, SIGNATURE_HEADER)
        if not self.config.app_secret:
            raise SignatureError("no app secret is set on this channel")
        if not secrets_equal(signature_of(self.config.app_secret, body), given):
            raise SignatureError(f"wrong or missing {SIGNATURE_HEADER} header")

    def check_format(self, headers, body, query):
        # One app may deliver several products to one address: a body of
        # another product is not this channel's at all.
        data = self.load_json(body)
        if not isinstance(data, dict) or data.get("object") != self.webhook_object:
            raise PayloadError(
                f'expected a JSON object of object "{self.webhook_object}"'
            )

    def load_entries(self, body):
        """The ``entry`` list of a webhook body of this product."""
        data = self.load_json(body)
        if not isinstance(data, dict):
            raise PayloadError("a Meta webhook body is a JSON object")
        if data.get("object") != self.webhook_object:
            raise PayloadError(
                'expected object "{}", got {!r}'.format(
                    self.webhook_object, data.get("object")
                )
            )
        entries = data.get("entry")
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) for e in entries
        ):
            raise PayloadError("entry must be a list of objects")
        return entries

    @staticmethod
    def ignored(item, reason, account_ref=""):
        return IgnoredEvent(
            f"ignored:{event_id_of(item)}",
            reason=reason,
            account_ref=account_ref,
        )

    # -- Graph API ------------------------------------------------------------
    default_api_root = DEFAULT_GRAPH_API

    def graph(
        self, method, path, *, params=None, json_body=None, data=None, files=None
    ):
        """One Graph API call; returns the decoded JSON answer or raises
        :class:`SendError` carrying Meta's code and message."""
        if not self.config.token:
            raise SendError(
                "The access token is not set on this channel.", code="no_token"
            )
        url = self._graph_url(path)
        # The token travels in a header, never in the URL (error texts show the URL).
        response = self.http(
            method,
            url,
            timeout=TIMEOUT,
            params=params,
            json=json_body,
            data=data,
            files=files,
            headers={"Authorization": f"Bearer {self.config.token}"},
        )
        payload = self.json_answer(response, "Meta")
        if response.status_code >= 400 or (
            isinstance(payload, dict) and isinstance(payload.get("error"), dict)
        ):
            raise self.graph_error(response.status_code, payload)
        return payload

    def _graph_url(self, path):
        """The address of a Graph call.  Absolute addresses are only Graph's
        own paging links (same scheme and host as the API root): an address
        taken from a payload would receive the access token."""
        root = self.api_root()
        if "://" in path:
            if urllib.parse.urlsplit(path)[:2] != urllib.parse.urlsplit(root)[:2]:
                raise SendError(
                    "refused to call %s with the access token: not the Graph API"
                    % (urllib.parse.urlsplit(path).hostname or "?"),
                    code="bad_address",
                )
            return path
        return "{}/{}".format(root, path.lstrip("/"))

    @staticmethod
    def graph_node(value):
        """``value`` (an id read from a payload: a media id, a user id) as
        one node of a Graph path; anything that could change the path is refused."""
        if (
            not isinstance(value, str)
            or not GRAPH_NODE.fullmatch(value)
            or ".." in value
        ):
            raise ConnectorError(f"{str(value)[:40]!r} is not a Graph API id")
        return value

    @staticmethod
    def graph_error(status, payload):
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            return SendError(
                f"Meta answered HTTP {status}.",
                code=str(status),
                retryable=status >= 500 or status == 429,
                retry_after=1.0 if status == 429 else None,
            )
        code = error.get("code")
        subcode = error.get("error_subcode")
        message = (
            error.get("error_user_msg")
            or error.get("message")
            or "Meta refused the request."
        )
        details = (
            (error.get("error_data") or {}).get("details")
            if isinstance(error.get("error_data"), dict)
            else ""
        )
        if details and details not in message:
            message = f"{message}: {details}"
        retryable = (
            bool(error.get("is_transient")) or code in RETRYABLE_CODES or status >= 500
        )
        return SendError(
            message,
            code=f"{code}/{subcode}" if subcode else str(code or status),
            retryable=retryable,
            blocks_recipient=code in UNREACHABLE_CODES
            or subcode in UNREACHABLE_SUBCODES,
            retry_after=RATE_LIMIT_CODES.get(code),
        )

    def download_media(self, url, with_token=False):
        """Fetch a file: (bytes, content type).  WhatsApp media URLs need the
        token; Messenger attachment URLs are signed CDN links and get none."""
        headers = {"Authorization": f"Bearer {self.config.token}"} if with_token else {}
        return self.download(url, max_bytes=MAX_DOWNLOAD_BYTES, headers=headers)

    # -- administration -------------------------------------------------------
    def account_info(self, fields):
        """GET the channel's own node (phone number, page, Instagram account)."""
        if not self.config.account_ref:
            raise ConnectorError("the provider account ID is not set on this channel")
        return self.graph("GET", self.config.account_ref, params={"fields": fields})
