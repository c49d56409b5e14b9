from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.base.models.res_partner import _tz_get
from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors.calls import PhoneConnector
from odoo.addons.omnichannel_inbox.connectors.safe_http import host_of

from .res_config_settings_calls import DEFAULT_REPLAY_WINDOW, REPLAY_WINDOW_PARAM

ADMIN = "omnichannel_inbox.group_omnichannel_admin"


class OmnichannelChannel(models.Model):
    """Settings and actions of the phone lines (generic webhook, Asterisk,
    Zadarma): connection, call-back delay.  What the calls and call-backs ask
    of a line (business hours, can it dial) is in omnichannel_channel.py
    ("phone lines")."""

    _inherit = "omnichannel.channel"

    phone_originate_context = fields.Char(
        "Originate context",
        default="from-internal",
        groups=ADMIN,
        help="Asterisk dialplan context the customer number is dialled in after your "
        "phone answers.",
    )
    phone_dial_template = fields.Char(
        "Extension dial string",
        default="PJSIP/{extension}",
        groups=ADMIN,
        help="How Asterisk rings an employee's phone; {extension} is replaced by "
        "their extension (e.g. SIP/{extension}, Local/{extension}@from-internal).",
    )
    phone_extension_digits = fields.Integer(
        "Internal numbers up to (digits)",
        default=4,
        help="Numbers this short are extensions of employees; longer ones are "
        "customers.",
    )
    phone_recording_url = fields.Char(
        "Recording address",
        groups=ADMIN,
        help="Asterisk: where the recording of a call can be downloaded once it "
        "ended, with {linkedid} (or {uniqueid}) replaced by the call's id, e.g. "
        "https://pbx.example.com/rec/{linkedid}.wav. Leave empty when calls are "
        "not recorded.",
    )
    phone_ami_ca = fields.Text(
        "AMI certificate",
        groups=ADMIN,
        help="For an AMI address tls://host:5039 whose certificate is self-signed: "
        "the PBX's certificate (or its CA), PEM. Empty: the system's certificate "
        "authorities check it.",
    )
    phone_media_hosts = fields.Char(
        "Recording hosts",
        groups=ADMIN,
        help="Generic PBX: the hosts recordings may be downloaded from "
        "(comma-separated, e.g. pbx.example.com); a recording address on any "
        "other host is refused. Asterisk: the host of the recording address is "
        "allowed by itself.",
    )
    phone_media_private = fields.Boolean(
        "Recordings from the private network",
        groups=ADMIN,
        help="Allow the recording hosts to be on a private or local network address "
        "(a PBX in the office). Off: only public addresses are downloaded from, "
        "so that a forged event cannot make Odoo read its own network.",
    )
    phone_timezone = fields.Selection(
        _tz_get,
        string="Provider time zone",
        default=lambda self: self.env.user.tz or "UTC",
        help="Time zone of the telephony account: Zadarma reports call times in it.",
    )
    phone_callback_minutes = fields.Integer(
        "Call back within (minutes)",
        default=30,
        help="Deadline of the call-back activity of a missed call, counted from the "
        "call (or from the next opening, for calls outside business hours).",
    )

    def _connector_extra(self):
        extra = super()._connector_extra()
        if self.supports_calls:
            channel = self.sudo()
            extra.update(
                {
                    "originate_context": channel.phone_originate_context or "",
                    "dial_template": channel.phone_dial_template or "",
                    "extension_digits": channel.phone_extension_digits or 4,
                    "recording_url": channel.phone_recording_url or "",
                    "timezone": channel.phone_timezone or "UTC",
                    "ami_ca": channel.phone_ami_ca or "",
                    "media_hosts": channel._phone_media_hosts(),
                    "media_private": channel.phone_media_private
                    or channel.channel_type == "asterisk",
                    "replay_window": 60
                    * int(
                        self.env["ir.config_parameter"]
                        .sudo()
                        .get_param(REPLAY_WINDOW_PARAM, DEFAULT_REPLAY_WINDOW)
                        or DEFAULT_REPLAY_WINDOW
                    ),
                }
            )
        return extra

    def _phone_media_hosts(self):
        """Hosts an administrator allowed recordings from: those listed on the
        line, and for Asterisk the host of the recording address template."""
        channel = self.sudo()
        hosts = [
            h.strip().lower()
            for h in (channel.phone_media_hosts or "").replace(";", ",").split(",")
            if h.strip()
        ]
        if channel.channel_type == "asterisk" and channel.phone_recording_url:
            host = host_of(channel.phone_recording_url)
            if host:
                hosts.append(host)
        return hosts

    def _default_source(self):
        if self.supports_calls:
            return self.env.ref("omnichannel_inbox.utm_source_phone")
        return super()._default_source()

    def _check_reply_allowed(self, conversation, template=None):
        if self.supports_calls:
            raise UserError(
                self.env._(
                    "%s is a phone line: it carries calls, not messages. Call the "
                    "customer, or write on another of their channels.",
                    self.name,
                )
            )
        return super()._check_reply_allowed(conversation, template=template)

    # -- actions ----------------------------------------------------------------
    def action_test_connection(self):
        """Ask the provider whether the settings work (AMI Login + Ping, the
        Zadarma API, the PBX's click-to-call address)."""
        self.ensure_one()
        self._check_admin()
        connector = self._get_connector()
        if not isinstance(connector, PhoneConnector):
            raise UserError(self.env._("Test connection is for phone lines."))
        try:
            message = connector.test_connection()
        except connectors.ConnectorError as exc:
            return self._notify(
                self.env._("Connection failed: %s", exc), "danger", sticky=True
            )
        return self._notify(self.env._("Connection works. %s", message), "success")

    def action_view_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_call_action"
        )
        action["domain"] = [("channel_id", "=", self.id)]
        return action

    # -- demo -------------------------------------------------------------------
    def _demo_feed_calls(self):
        """Demo data: the admin (extension 100) answered a call yesterday and
        a call was missed last night, posted as a PBX posts them to the generic
        webhook and processed by the journal like live traffic."""
        import json
        import time

        self.ensure_one()
        self.env.ref("base.user_admin").omnichannel_phone_extension = "100"
        now = time.time()
        events = [
            {
                "event_id": "demo-1-ring",
                "call_id": "demo-1",
                "event": "ringing",
                "direction": "in",
                "customer_number": "8 (912) 345-67-89",
                "customer_name": "Сергей Волков",
                "timestamp": now - 86400,
            },
            {
                "event_id": "demo-1-answer",
                "call_id": "demo-1",
                "event": "answered",
                "extension": "100",
                "timestamp": now - 86400 + 9,
            },
            {
                "event_id": "demo-1-end",
                "call_id": "demo-1",
                "event": "ended",
                "duration": 155,
                "hangup_by": "customer",
                "timestamp": now - 86400 + 164,
            },
            {
                "event_id": "demo-2-ring",
                "call_id": "demo-2",
                "event": "ringing",
                "direction": "in",
                "customer_number": "+7 903 555-01-02",
                "timestamp": now - 9 * 3600,
            },
            {
                "event_id": "demo-2-missed",
                "call_id": "demo-2",
                "event": "missed",
                "timestamp": now - 9 * 3600 + 30,
            },
        ]
        connector = self._get_connector()
        parsed = connector.parse({}, json.dumps({"events": events}).encode(), {})
        self.env["omnichannel.inbound.event"].sudo()._journal(self, parsed)._process()
