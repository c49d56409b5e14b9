"""What connectors hand to the Odoo side and get from it: plain dataclasses.

Inbound, a connector turns a provider's body into normalized events
(:class:`InboundMessage`, :class:`DeliveryStatus`, ...), so that the journal,
identity rules, conversations and leads are written once for every
provider; the journal stores them with :func:`event_to_dict` and reads them
back with :func:`event_from_dict`.  Outbound, the Odoo side hands an
:class:`OutboundMessage` and the channel's settings (:class:`ChannelConfig`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

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


_NESTED = {"sender": Contact, "shared_contact": Contact, "location": Location}


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
    #: public address of the file, for providers that fetch media by URL (Viber, SMS)
    url: str = ""


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
    # The label of a button that shares the customer's own phone number
    # (Telegram's request_contact keyboard); connectors without one
    # (``supports_request_contact`` false) send the text alone.
    request_contact: str = ""


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
        return (
            f"ChannelConfig(account_ref={self.account_ref!r}, "
            f"base_url={self.base_url!r})"
        )


@dataclass
class HttpAnswer:
    """An answer a connector wants returned to the provider (handshakes)."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"
