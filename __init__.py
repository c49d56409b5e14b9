# The addon's Odoo-side code lives in the omnichannel_inbox package, provider
# code in connectors (which imports no Odoo).
from . import connectors
from . import omnichannel_inbox
