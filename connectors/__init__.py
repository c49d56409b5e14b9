"""Provider connectors: one module per provider, none of them imports Odoo.

The package is split by concern: :mod:`.errors` (what a connector raises),
:mod:`.events` (the dataclasses it hands to and gets from the Odoo side),
:mod:`.validation` (what makes a parsed body safe to store),
:mod:`.interface` (the :class:`Connector` base class and the registry of
channel types), :mod:`.provider_http` (the one HTTP path to a provider, with
:mod:`.safe_http` for files a payload names) and :mod:`.signing` (the one
HMAC helper).

Code outside the package (the Odoo models, controllers and tests) imports
the names below from the package itself (``connectors.Contact``): they are
the connectors' public interface, re-exported here once so that the Odoo
side never depends on how the package is split.  The connector modules
import them from the module that defines them.  What belongs to one provider
(``twilio_sms.EMPTY_TWIML``) is imported from that provider's module.

Adding a provider means adding a module here whose class subclasses
:class:`Connector` and is decorated with :func:`register`, and importing it
at the end of this file.
"""

from .errors import (
    ConnectorError,
    PayloadError,
    ReplayedRequest,
    SendError,
    SignatureError,
)
from .events import (
    Attachment,
    ChannelConfig,
    Contact,
    HttpAnswer,
    IgnoredEvent,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    event_from_dict,
    event_to_dict,
)
from .interface import Connector, connector_classes, get_connector_class
from .validation import check_event, check_events, clean_name, is_storable_id


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
from . import mango
from . import smsc
from . import avito
from . import waha
