"""The connector interface: what every provider module implements.

A connector knows one provider's wire format and nothing of Odoo.  Odoo-side
code hands it the channel account's settings (:class:`ChannelConfig`) and gets
back plain dataclasses (:class:`InboundMessage`, :class:`DeliveryStatus`, ...),
so that the journal, identity rules, conversations and leads are written once
for every provider.

Errors are raised as the exceptions below; the webhook controller turns them
into HTTP answers (403, 400, ...) without storing anything.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import ClassVar

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base class of the errors a connector raises."""


class SignatureError(ConnectorError):
    """The request is not from the provider (forged or missing signature)."""


class ReplayedRequest(ConnectorError):
    """The request is authentic (its signature checks out) but was sent
    outside the replay window, by a provider that signs no sending time of
    its own (Zadarma, a PBX script signing the body alone).  It is journaled
    as ignored with this reason and acknowledged, never applied: refusing it
    would make the provider retry a late but real delivery for hours."""


class PayloadError(ConnectorError):
    """The request body is not what the provider sends (malformed)."""


class SendError(ConnectorError):
    """The provider refused or failed to deliver an outbound message.

    ``retryable`` tells whether trying again later may succeed (provider down,
    rate limit) or not (the user blocked the bot, invalid recipient).
    ``blocks_recipient`` tells that the recipient can no longer be reached on
    this channel at all (blocked bot, unsubscribed) until they write again.
    ``retry_after`` (seconds) marks the provider's rate limit (a 429, a
    flood-control code): the whole channel waits that long, not only this
    message (see ``omnichannel.send.budget``).
    """

    def __init__(
        self,
        message,
        code=None,
        retryable=False,
        blocks_recipient=False,
        retry_after=None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable or bool(retry_after)
        self.blocks_recipient = blocks_recipient
        self.retry_after = retry_after


# ---------------------------------------------------------------------------
# Normalized events
# ---------------------------------------------------------------------------


@dataclass
class Contact:
    """A person as the provider describes them.

    ``phone_verified`` / ``email_verified``: the provider vouches that this
    phone (email) belongs to the person of ``user_id`` (a WhatsApp wa_id, an
    SMS sender, a caller id, a Telegram contact whose user_id is the sender).
    Anything else is only a claim: the identity rules never link a person to
    an existing customer on a claim, they suggest it to a salesperson."""

    user_id: str = ""
    name: str = ""
    username: str = ""
    phone: str = ""
    email: str = ""
    language: str = ""
    phone_verified: bool = False
    email_verified: bool = False


@dataclass
class Attachment:
    """A file the customer sent; either inline ``data`` (base64) or a
    provider reference (``file_id`` / ``url``) fetched later by
    :meth:`Connector.fetch_media`, during processing and not in the webhook."""

    kind: str = "document"  # image, document, audio, voice, video, sticker
    file_id: str = ""
    url: str = ""
    filename: str = ""
    mimetype: str = ""
    size: int = 0
    data: str = ""  # base64, for providers that send the bytes inline


@dataclass
class Location:
    latitude: float = 0.0
    longitude: float = 0.0
    title: str = ""


@dataclass
class InboundMessage:
    """A message a customer sent (or edited)."""

    event_id: str
    message_id: str
    sender: Contact
    chat_id: str = ""  # where replies go; defaults to sender.user_id
    date: float = 0.0  # provider timestamp (epoch seconds)
    text: str = ""
    message_type: str = (
        "text"  # text, image, document, audio, voice, video, location, contact, sticker
    )
    attachments: list = field(default_factory=list)
    location: Location | None = None
    shared_contact: Contact | None = None
    is_edit: bool = False
    command: str = ""  # bot command such as "start"
    note: str = ""  # provider-specific remark shown with the message
    account_ref: str = (
        ""  # provider account addressed, when one webhook serves several (Meta apps)
    )
    # Where the customer came from, when the provider says it (Telegram
    # /start payload, Meta ad referral): the UTM of the lead they open.
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""

    kind: ClassVar[str] = "message"


@dataclass
class DeliveryStatus:
    """The provider tells what happened to a message we sent."""

    event_id: str
    message_id: str
    status: str  # sent, delivered, read, failed
    date: float = 0.0
    error_code: str = ""
    error_text: str = ""
    recipient_id: str = ""
    account_ref: str = ""  # see InboundMessage.account_ref

    kind: ClassVar[str] = "status"


@dataclass
class IgnoredEvent:
    """A provider event we accept but do not act on (journaled as ignored)."""

    event_id: str
    reason: str = ""
    sender: Contact | None = None
    account_ref: str = ""  # see InboundMessage.account_ref

    kind: ClassVar[str] = "ignored"


@dataclass
class SubscriptionEvent:
    """The customer (un)subscribed from the channel (Viber, bots blocked)."""

    event_id: str
    sender: Contact
    subscribed: bool = True
    date: float = 0.0

    kind: ClassVar[str] = "subscription"


@dataclass
class ContactUpdate:
    """The provider tells of a person who sent no message (Viber
    conversation_started, subscribed): their identity is created or
    refreshed; ``reachable`` True clears an unreachable mark."""

    event_id: str
    sender: Contact
    date: float = 0.0
    reachable: bool | None = None
    note: str = ""

    kind: ClassVar[str] = "contact_update"


@dataclass
class MessageRevoked:
    """The customer deleted ("unsent", revoked) one of their messages:
    it is marked deleted, its text kept for the record."""

    event_id: str
    message_id: str  # the provider id of the deleted message
    sender: Contact
    date: float = 0.0
    account_ref: str = ""  # see InboundMessage.account_ref

    kind: ClassVar[str] = "revoke"


@dataclass
class Referral:
    """The customer came through an ad, a link or an opt-in without
    writing (Messenger ``referral``/``optin``): where they came from
    describes their lead."""

    event_id: str
    sender: Contact
    date: float = 0.0
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    note: str = ""  # what the provider said, for the history
    account_ref: str = ""  # see InboundMessage.account_ref

    kind: ClassVar[str] = "referral"


EVENT_CLASSES = {
    cls.kind: cls
    for cls in (
        InboundMessage,
        DeliveryStatus,
        IgnoredEvent,
        SubscriptionEvent,
        ContactUpdate,
        MessageRevoked,
        Referral,
    )
}


#: Parts of a link payload, in order: "<source>__<medium>__<campaign>".
UTM_SEPARATOR = "__"


def utm_from_payload(payload):
    """(source, medium, campaign) written in a link's payload (Telegram
    ``?start=``, Meta ``ref``) as ``source__medium__campaign``; missing
    parts are empty.  Each part is cut at 100 characters."""
    if not isinstance(payload, str):
        return "", "", ""
    parts = [p.strip(" _-")[:100] for p in payload.strip().split(UTM_SEPARATOR)]
    return tuple((parts + ["", "", ""])[:3])


#: Deeper bodies are refused: no provider sends more than a dozen levels,
#: and deep nesting is a way to exhaust the parser's recursion.
MAX_NESTING = 64


def clean_input(value, depth=0):
    """``value`` (decoded JSON or a form field) as PostgreSQL can store it:
    no NUL characters, no lone surrogates (which JSON's ``\\ud800`` escapes
    allow, and UTF-8 cannot encode).  Refuses nesting deeper than
    :data:`MAX_NESTING`."""
    if depth > MAX_NESTING:
        raise PayloadError("the body is nested more than %d levels deep" % MAX_NESTING)
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [clean_input(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            clean_input(key, depth + 1): clean_input(item, depth + 1)
            for key, item in value.items()
        }
    return value


_NESTED = {"sender": Contact, "shared_contact": Contact, "location": Location}
_NESTED_TYPES = {"Contact", "Location", "Attachment"}

#: Longest accepted values of the normalized events' text fields, so that a
#: hostile body cannot put a megabyte into a partner's name or an index.
#: Ids: no provider's id is longer than a hundred characters, and PostgreSQL
#: btree indexes refuse very long keys.  Over a limit the request is a 400.
MAX_ID_LENGTH = 255
MAX_URL_LENGTH = 4096
MAX_TEXT_LENGTH = 65536
MAX_SHORT_LENGTH = 1024
#: Fields holding a provider id (or what serves as one: a phone number, a
#: session): limited to MAX_ID_LENGTH and free of control characters, which
#: would otherwise reach log lines as they are.
ID_FIELDS = frozenset(
    {
        "event_id",
        "message_id",
        "chat_id",
        "user_id",
        "call_id",
        "recipient_id",
        "account_ref",
        "file_id",
        "recording_ref",
    }
)
URL_FIELDS = frozenset({"url", "recording_url", "page_url"})
#: What the customer wrote: long, but bounded.
TEXT_FIELDS = frozenset({"text", "transcript"})
#: Inline base64 file data: bounded by the webhook's body size only.
UNBOUNDED_FIELDS = frozenset({"data"})
#: Descriptions our connectors compose (reasons, notes, provider error
#: texts): cut rather than refused, the event itself being fine.
CUT_FIELDS = frozenset({"reason", "note", "error_text"})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
#: Names (of people, files, places) are shown in lists, chat headers and
#: download dialogs: control characters there break lines and logs, and
#: bidirectional overrides make "gpj.exe" read as "exe.jpg".
NAME_FIELDS = frozenset({"name", "username", "filename", "title"})
_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def clean_name(value):
    """``value`` without control or bidirectional-override characters
    (controls become a space, overrides are dropped), in linear time."""
    if not value:
        return value or ""
    value = _BIDI_CONTROLS.sub("", _NAME_CONTROLS.sub(" ", value))
    return value.strip()


def provider_id(value, name="id"):
    """A provider id read from a decoded body, as text: strings and integers
    are ids, anything else (a list, an object, a float, a boolean) makes the
    body malformed, where ``str()`` would turn it into an id like "[[0]]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"{name} must be a string or an integer")


def is_storable_id(value) -> bool:
    """Whether ``value`` can be a provider id as :func:`check_event` accepts
    one; for entry points that look an id up rather than journal it."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and not _CONTROL_CHARACTERS.search(value)
        and not any("\ud800" <= c <= "\udfff" for c in value)
    )


def _check_text(owner, name, value):
    where = f"{owner}.{name}"
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PayloadError(
            f"{where} must be text, not {type(value).__name__}"
        )
    value = clean_input(value)
    if name in NAME_FIELDS:
        value = clean_name(value)
    if name in ID_FIELDS:
        if len(value) > MAX_ID_LENGTH:
            raise PayloadError(
                "%s is longer than %d characters" % (where, MAX_ID_LENGTH)
            )
        if _CONTROL_CHARACTERS.search(value):
            raise PayloadError(f"{where} contains control characters")
    elif name in CUT_FIELDS:
        value = value[:MAX_SHORT_LENGTH]
    elif name not in UNBOUNDED_FIELDS:
        limit = (
            MAX_TEXT_LENGTH
            if name in TEXT_FIELDS
            else MAX_URL_LENGTH
            if name in URL_FIELDS
            else MAX_SHORT_LENGTH
        )
        if len(value) > limit:
            raise PayloadError("%s is longer than %d characters" % (where, limit))
    return value


def _check_number(owner, name, value, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{owner}.{name} must be a number")
    if not math.isfinite(value) or abs(value) > 1e15:
        raise PayloadError(f"{owner}.{name} is out of range")
    return int(value) if integer else float(value)


def check_event(event):
    """Check the fields of a normalized event (and of what it nests) against
    their declared types and the length limits above; strings are made safe
    to store (see :func:`clean_input`).  Every entry point calls this on what
    a connector parsed, before anything is journaled: whatever a connector
    let through, a wrong type or an oversized field is a :class:`PayloadError`
    (a 400) here rather than a failure when the journal row is processed."""
    owner = type(event).__name__
    for spec in dataclasses.fields(event):
        name, declared, value = spec.name, str(spec.type), getattr(event, spec.name)
        optional = declared.endswith("| None")
        base_type = declared.split("|")[0].strip()
        if value is None and optional:
            continue
        if base_type == "str":
            value = _check_text(owner, name, value)
            if name == "event_id" and not value.strip():
                raise PayloadError(f"{owner} has no event id")
        elif base_type in ("float", "int"):
            value = _check_number(owner, name, value, integer=base_type == "int")
        elif base_type == "bool":
            if not isinstance(value, bool):
                raise PayloadError(f"{owner}.{name} must be true or false")
        elif base_type == "list":
            if not isinstance(value, list):
                raise PayloadError(f"{owner}.{name} must be a list")
            for item in value:
                if not dataclasses.is_dataclass(item):
                    raise PayloadError(
                        f"{owner}.{name} holds {type(item).__name__}"
                    )
                check_event(item)
        elif dataclasses.is_dataclass(value):
            check_event(value)
        elif base_type in _NESTED_TYPES:
            raise PayloadError(f"{owner}.{name} must be an object")
        setattr(event, name, value)
    return event


def check_events(events):
    """:func:`check_event` on each of ``events``; returns them."""
    if not isinstance(events, list):
        raise PayloadError("the connector found no event list")
    for event in events:
        check_event(event)
    return events


def register_event_class(cls):
    """Let another family of events (calls, forms) be journaled the same way."""
    EVENT_CLASSES[cls.kind] = cls
    return cls


def event_to_dict(event) -> dict:
    data = dataclasses.asdict(event)
    data["kind"] = event.kind
    return data


def event_from_dict(data: dict):
    data = dict(data)
    cls = EVENT_CLASSES[data.pop("kind")]
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in names:
            continue
        if key in _NESTED and isinstance(value, dict):
            value = _NESTED[key](**value)
        elif key == "attachments":
            value = [Attachment(**a) if isinstance(a, dict) else a for a in value or []]
        values[key] = value
    return cls(**values)


# ---------------------------------------------------------------------------
# Outbound
# ---------------------------------------------------------------------------


@dataclass
class OutboundAttachment:
    filename: str
    mimetype: str
    data: bytes
    url: str = ""  # public address of the file, for providers that fetch media by URL (Viber, SMS)


@dataclass
class OutboundMessage:
    recipient_id: str  # provider chat / user id
    text: str = ""
    attachments: list = field(default_factory=list)
    idempotency_key: str = (
        ""  # stable per message: providers that dedupe (VK random_id) use it
    )
    template: dict | None = (
        None  # provider message template (WhatsApp), when free text is not allowed
    )
    tag: str = ""  # provider message tag outside the standard window (Meta HUMAN_AGENT)
    # Answers the customer can pick (a satisfaction score): providers with
    # buttons show them, the others send the text alone, which lists them.
    choices: list = field(default_factory=list)


@dataclass
class SendResult:
    message_id: str
    status: str = "sent"


# ---------------------------------------------------------------------------
# Channel settings handed to the connector
# ---------------------------------------------------------------------------


@dataclass
class ChannelConfig:
    """What a connector may know of a channel account.  Secrets live here only
    for the time of a call; connectors never log them."""

    token: str = ""  # bot token / access token
    secret: str = ""  # webhook secret (Telegram secret token, VK secret, ...)
    app_secret: str = ""  # signing key of webhook bodies (Meta app secret, Viber token)
    verify_token: str = (
        ""  # handshake token (Meta hub.verify_token, VK confirmation code)
    )
    account_ref: str = (
        ""  # provider-side account id: phone number id, page id, group id
    )
    base_url: str = ""  # provider API root; overridable so tests talk to a fake server
    webhook_url: str = ""  # our public URL for this account
    extra: dict = field(default_factory=dict)

    def __repr__(self):
        # Never let a secret reach a log line through repr().
        return f"ChannelConfig(account_ref={self.account_ref!r}, base_url={self.base_url!r})"


@dataclass
class HttpAnswer:
    """An answer a connector wants returned to the provider (handshakes)."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


# ---------------------------------------------------------------------------
# The interface
# ---------------------------------------------------------------------------


class Connector:
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
    #: the type carries calls (a phone line: calls, click-to-call, recordings)
    supports_calls: ClassVar[bool] = False
    #: a satisfaction survey can reach the customer as a message
    supports_survey: ClassVar[bool] = True
    #: messages leave through the provider under a sending budget
    supports_send_budget: ClassVar[bool] = True
    #: the account answers a bot start command with its greeting
    supports_greeting: ClassVar[bool] = False
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
        providers whose webhooks carry no name (VK, Messenger, Instagram).  None: nothing known."""
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
                "the body is nested more than %d levels deep" % MAX_NESTING
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
    def secrets_equal(expected: str, given: str) -> bool:
        """Constant-time comparison that refuses an empty expected secret:
        a channel without a secret accepts nothing."""
        if not expected or given is None:
            return False
        return hmac.compare_digest(expected.encode(), str(given).encode())

    @staticmethod
    def header(headers, name: str) -> str:
        value = headers.get(name) if headers is not None else None
        return value or ""

    @staticmethod
    def http(method: str, url: str, timeout: float = 15, **kwargs):
        """One HTTP exchange with the provider (``requests``).  A network
        failure becomes a retryable :class:`SendError`; callers never put a
        secret in ``url`` (tokens travel in headers or bodies), so the error
        text is safe to show and log."""
        import requests

        try:
            return requests.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise SendError(
                f"could not reach the provider ({exc.__class__.__name__})",
                code="network",
                retryable=True,
            ) from None

    @staticmethod
    def json_answer(response, provider: str):
        """The JSON body of a provider's answer.  Unavailability (5xx, 429)
        and an answer that is not JSON are retryable SendErrors; the caller
        reads the provider's own error format from what is returned."""
        status = response.status_code
        if status == 429:
            # Too Many Requests: the whole channel waits what the provider asks (Retry-After)
            raise SendError(
                f"{provider} limits the sending rate (HTTP 429)",
                code="http_429",
                retryable=True,
                retry_after=Connector.retry_after_header(response),
            )
        if status >= 500:
            raise SendError(
                f"{provider} is unavailable (HTTP {status})",
                code=f"http_{status}",
                retryable=True,
            )
        try:
            return response.json()
        except ValueError:
            raise SendError(
                f"{provider} answered HTTP {status} without JSON",
                code=f"http_{status}",
                retryable=True,
            ) from None

    @staticmethod
    def retry_after_header(response, default: float = 1.0) -> float:
        """Seconds of an HTTP Retry-After header (the seconds form; a date or
        nothing gives ``default``)."""
        try:
            return max(float(response.headers.get("Retry-After")), default)
        except (TypeError, ValueError):
            return default

    def download_hosts(self):
        """(allowed, trusted) hosts a file named by a payload may be fetched
        from (see :mod:`.safe_http`): the provider's :attr:`media_hosts` and
        the hosts an administrator listed on the channel; trusted, that is
        also on a private network, are the channel's API address (the API
        calls go there already; tests point it at their fake server) and the
        listed hosts when the channel allows its private network (a PBX)."""
        from .safe_http import host_of

        listed = [h for h in (self.config.extra.get("media_hosts") or []) if h]
        trusted = [host for host in [host_of(self.config.base_url)] if host]
        if self.config.extra.get("media_private"):
            trusted += listed
        return list(self.media_hosts) + listed, trusted

    def download(
        self,
        url: str,
        max_bytes: int = 25 * 1024 * 1024,
        headers=None,
        auth=None,
        **_kwargs,
    ) -> tuple[bytes, str]:
        """Fetch a media file by URL: (data, content type), through the one
        checked path of :func:`.safe_http.fetch` (allowed hosts only, no
        private addresses, size and time caps)."""
        from .safe_http import fetch

        allowed, trusted = self.download_hosts()
        data, content_type, _url = fetch(
            url, allowed, trusted, max_bytes=max_bytes, headers=headers, auth=auth
        )
        return data, content_type
