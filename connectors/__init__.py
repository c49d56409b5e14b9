"""Provider connectors: one module per provider, none of them imports Odoo.

Adding a provider means adding a module here that subclasses
:class:`connectors.base.Connector` and decorates it with :func:`register`;
Odoo's channel account offers every registered code as a channel type.
"""
from .base import (  # noqa: F401 - the public interface of the package
    Attachment, ChannelConfig, Connector, ConnectorError, Contact, ContactUpdate, DeliveryStatus, HttpAnswer,
    IgnoredEvent, InboundMessage, Location, OutboundAttachment, OutboundMessage, PayloadError,
    ReplayedRequest, SendError, SendResult, SignatureError, SubscriptionEvent, event_from_dict, event_to_dict,
    register_event_class,
)
from .base import MessageRevoked, Referral, utm_from_payload  # noqa: F401 - what providers say beyond messages
from .base import check_event, check_events, clean_name, is_storable_id, provider_id  # noqa: F401 - the shared input checks

_REGISTRY = {}


def register(cls):
    """Class decorator: make a connector available as a channel type."""
    if not cls.code:
        raise ValueError('a connector needs a code')
    _REGISTRY[cls.code] = cls
    return cls


def get_connector_class(code):
    try:
        return _REGISTRY[code]
    except KeyError:
        raise ConnectorError('no connector for channel type %r' % code) from None


def registered_codes():
    return list(_REGISTRY)


# Providers register themselves on import.
from . import sandbox  # noqa: E402,F401
from . import telegram  # noqa: E402,F401
from . import viber  # noqa: E402,F401
from . import vk  # noqa: E402,F401
from . import twilio_sms  # noqa: E402,F401
from . import calls  # noqa: E402,F401 - registers the call event kind
from . import phone_webhook  # noqa: E402,F401
from . import asterisk  # noqa: E402,F401
from . import zadarma  # noqa: E402,F401
from . import odoo_stack  # noqa: E402,F401
from . import website  # noqa: E402,F401
from . import whatsapp  # noqa: E402,F401
from . import messenger  # noqa: E402,F401
