"""The connector interface: what every provider module implements, and the
registry of channel types.

A connector knows one provider's wire format and nothing of Odoo.  Odoo-side
code hands it the channel account's settings (:class:`.events.ChannelConfig`)
and gets back the dataclasses of :mod:`.events`.  Errors are the exceptions
of :mod:`.errors`.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import ClassVar

from .errors import ConnectorError, PayloadError, SendError, SignatureError
from .events import (
    Attachment,
    ChannelConfig,
    Contact,
    HttpAnswer,
    OutboundMessage,
    SendResult,
)
from .provider_http import ProviderHttp
from .validation import MAX_NESTING, clean_input


class Connector(ProviderHttp):
    """One provider.  Subclasses set ``code``/``label`` and implement what
    their provider supports; the defaults refuse clearly."""

    code: ClassVar[str] = ""
    label: ClassVar[str] = ""
    #: provider user ids are the same person across accounts of this type
    #: (Telegram, WhatsApp, VK) - unlike page-scoped ids (Messenger).
    user_ids_are_global: ClassVar[bool] = False
    #: webhook_info() says when the provider last failed to deliver to us
    #: (``last_error_message``/``last_error_date``): the health check asks.
    reports_delivery_errors: ClassVar[bool] = False
    #: what the webhook answers once the body is journaled, whatever became
    #: of it (read, Unreadable, a retry): the answer that stops the provider's
    #: retries
    ack: ClassVar[HttpAnswer] = HttpAnswer(200, "ok")
    #: domains the provider serves the files its payloads name (a domain
    #: covers its subdomains); nothing else is downloaded (see download())
    media_hosts: ClassVar[tuple] = ()
    #: what every webhook body of this provider is: ``'json'`` (an object)
    #: or ``'form'`` (url-encoded fields); see :meth:`check_format`
    body_format: ClassVar[str] = "json"
    #: the provider's published sending limits, the defaults of a new
    #: channel's budget (messages per second for the whole account, and to
    #: one chat); 0 means the provider publishes none
    send_rate: ClassVar[float] = 0
    send_chat_rate: ClassVar[float] = 0

    # -- what the Odoo side knows of the channel type: the channel account's
    #    selection, its channel_kind/channel_icon/channel_color and supports_*
    #    fields (omnichannel_channel.py), which the views and the inbox read.
    #: position of the type in the list of channel types
    sequence: ClassVar[int] = 100
    #: family of the type: messenger, sms, email, website, livechat, phone, sandbox
    kind: ClassVar[str] = "messenger"
    #: Font Awesome icon of the type in the inbox and the chat panel
    icon: ClassVar[str] = "fa-comment-o"
    #: brand colour of the type's button in the website widget
    color: ClassVar[str] = "#714B67"
    #: link that opens a chat with the account from its public handle
    #: (``%s``); empty: the type is not offered in the website widget
    deep_link: ClassVar[str] = ""
    #: how the public handle fills :attr:`deep_link`: ``'name'`` (a
    #: @username, quoted), ``'digits'`` (a phone number) or ``'email'``
    handle_format: ClassVar[str] = "name"
    #: the deep link takes a start payload (``?start=<payload>``) that comes
    #: back with the customer's first message (visitor UTM, tracked links)
    deep_link_payload: ClassVar[bool] = False
    #: the type carries calls (a phone line: calls, click-to-call, recordings)
    supports_calls: ClassVar[bool] = False
    #: a satisfaction survey can reach the customer as a message
    supports_survey: ClassVar[bool] = True
    #: messages leave through the provider under a sending budget
    supports_send_budget: ClassVar[bool] = True
    #: messages can carry answer buttons (``OutboundMessage.choices``): a
    #: press comes back as a message whose text is the choice; without them
    #: the Odoo side lists the choices, numbered, in the text
    supports_buttons: ClassVar[bool] = False
    #: a button can ask for the customer's own phone number
    #: (``OutboundMessage.request_contact``), which comes back as their
    #: shared contact card
    supports_request_contact: ClassVar[bool] = False
    #: the account answers a bot start command with its greeting
    supports_greeting: ClassVar[bool] = False
    #: a referral (an ad click, an opt-in) can come before the customer's
    #: first message, as an event of its own: the lead of their next message
    #: takes its campaign (other types carry their UTM in the message)
    sends_referrals: ClassVar[bool] = False
    #: the common connection settings (token, secrets, API address) apply
    supports_connection_settings: ClassVar[bool] = True
    #: which of them the channel form shows under their common names
    #: (account_ref, token, webhook_secret, app_secret, verify_token,
    #: api_base_url); the provider's settings view shows the others it needs
    #: under its own names
    common_settings: ClassVar[tuple] = ()
    #: a silence of the account's webhook is worth an alert
    supports_silence_alert: ClassVar[bool] = True

    def __init__(self, config: ChannelConfig):
        self.config = config

    # -- inbound ----------------------------------------------------------
    def handshake(
        self, method: str, headers, query: dict, body: bytes
    ) -> HttpAnswer | None:
        """Answer a provider's verification request (Meta GET challenge, VK
        confirmation).  None means: not a handshake, continue normally."""
        return None

    def verify(self, headers, body: bytes, query: dict) -> None:
        """Raise :class:`SignatureError` unless the request is the provider's."""
        raise SignatureError("this channel cannot verify requests")

    def check_format(self, headers, body: bytes, query: dict) -> None:
        """Raise :class:`PayloadError` (a 400) when a verified body is not
        this provider's format at all (not JSON for a JSON provider).  Kept
        minimal on purpose: whatever passes is journaled before :meth:`parse`
        runs, and kept as Unreadable when no parser understands it, since a
        4xx after a valid signature makes providers retry for days and then
        disable the webhook."""
        if self.body_format == "form":
            self.load_form(body)
        elif not isinstance(self.load_json(body), dict):
            raise PayloadError("the body is not a JSON object")

    def journal_body(self, body: bytes) -> bytes:
        """The verified body as the journal keeps it.  Providers that carry a
        credential inside the body (VK's secret key) leave it out: what
        :meth:`parse` reads is the rest."""
        return body

    def parse(self, headers, body: bytes, query: dict) -> list:
        """Return the normalized events of a verified request, or raise
        :class:`PayloadError`.  Reads the body alone (headers and query serve
        :meth:`verify`): a journaled body is read again the same way."""
        raise PayloadError("this channel does not accept webhooks")

    def fetch_media(self, attachment: Attachment) -> tuple[bytes, str, str]:
        """Download an attachment: (data, mimetype, filename)."""
        raise ConnectorError("this channel cannot download media")

    def fetch_profile(self, user_id: str) -> Contact | None:
        """The person behind ``user_id`` as the provider describes them, for
        providers whose webhooks carry no name (VK, Messenger, Instagram).
        None: nothing known."""
        return None

    # -- outbound ---------------------------------------------------------
    def send(self, message: OutboundMessage) -> SendResult:
        raise SendError("this channel cannot send messages")

    # -- administration ---------------------------------------------------
    def register_webhook(self) -> str:
        raise ConnectorError("this channel has no webhook to register")

    def webhook_info(self) -> dict:
        raise ConnectorError("this channel cannot report its webhook status")

    # -- helpers shared by connectors -------------------------------------
    @staticmethod
    def load_json(body: bytes):
        """The JSON of a request body, made safe to store (see
        :func:`clean_input`); :class:`PayloadError` when it is not JSON."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PayloadError(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise PayloadError(
                f"the body is nested more than {MAX_NESTING} levels deep"
            ) from None
        return clean_input(data)

    @staticmethod
    def load_form(body: bytes) -> list:
        """The (name, value) pairs of a form-encoded body, made safe to store."""
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise PayloadError(f"the body is not a valid form: {exc}") from None
        return [(clean_input(k), clean_input(v)) for k, v in pairs]

    @staticmethod
    def header(headers, name: str) -> str:
        value = headers.get(name) if headers is not None else None
        return value or ""


_REGISTRY = {}


def register(cls):
    """Class decorator: make a connector available as a channel type."""
    if not cls.code:
        raise ValueError("a connector needs a code")
    _REGISTRY[cls.code] = cls
    return cls


def get_connector_class(code):
    """The connector class of channel type ``code``."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise ConnectorError(f"no connector for channel type {code!r}") from None


def connector_classes():
    """The registered connectors in the order their channel types are listed."""
    return sorted(_REGISTRY.values(), key=lambda cls: (cls.sequence, cls.code))
