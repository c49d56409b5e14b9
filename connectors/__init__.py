"""Provider connectors: one module per provider, none of them imports Odoo.

Adding a provider means adding a module here that subclasses
:class:`connectors.base.Connector` and decorates it with :func:`register`;
Odoo's channel account offers every registered code as a channel type.
"""

from .base import (
    Attachment,
    ChannelConfig,
    Connector,
    ConnectorError,
    Contact,
    ContactUpdate,
    DeliveryStatus,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    Location,
    OutboundAttachment,
    OutboundMessage,
    PayloadError,
    ReplayedRequest,
    SendError,
    SendResult,
    SignatureError,
    SubscriptionEvent,
    event_from_dict,
    event_to_dict,
    register_event_class,
)
from .base import MessageRevoked, Referral, utm_from_payload
from .base import check_event, check_events, clean_name, is_storable_id, provider_id

_REGISTRY = {}


def register(cls):
    """Class decorator: make a connector available as a channel type."""
    if not cls.code:
        raise ValueError("a connector needs a code")
    _REGISTRY[cls.code] = cls
    return cls


def get_connector_class(code):
    try:
        return _REGISTRY[code]
    except KeyError:
        raise ConnectorError(
            f"no connector for channel type {code!r}"
        ) from None


def registered_codes():
    return list(_REGISTRY)


def connector_classes():
    """The registered connectors in the order their channel types are listed."""
    return sorted(_REGISTRY.values(), key=lambda cls: (cls.sequence, cls.code))


# Providers register themselves on import.
from . import sandbox
from . import telegram
from . import viber
from . import vk
from . import twilio_sms
from . import calls
from . import phone_webhook
from . import asterisk
from . import zadarma
from . import odoo_stack
from . import website
from . import whatsapp
from . import messenger
