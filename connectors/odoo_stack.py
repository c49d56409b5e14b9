"""Channels whose traffic goes through Odoo's own stacks: email and live chat.

There is no provider webhook: mail arrives through Odoo's mail gateway
(aliases, replies routed by ``message_update``) and leaves through its mail
queue; live chat sessions are Odoo's ``im_livechat`` channels.  The Odoo side
mirrors that traffic into the histories and sends the replies
(``omnichannel.channel._send_outbound``).  These connectors only declare the
channel types and refuse the webhook, so nothing can be injected through it.
"""

from .interface import Connector, register


class OdooStackConnector(Connector):
    #: an email address, a visitor ("partner-7", "guest-12") is the same
    #: person whatever account of the company they reached
    user_ids_are_global = True
    #: Odoo sends at its own pace, with no provider settings to enter
    supports_send_budget = False
    supports_connection_settings = False


@register
class EmailConnector(OdooStackConnector):
    code = "email"
    label = "Email"
    sequence = 90
    kind = "email"
    icon = "fa-envelope-o"
    color = "#6C757D"
    deep_link = "mailto:%s"
    handle_format = "email"


@register
class LivechatConnector(OdooStackConnector):
    code = "livechat"
    label = "Website live chat"
    sequence = 110
    kind = "livechat"
    icon = "fa-comments-o"
