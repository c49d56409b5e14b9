import base64
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors import waha

from .omnichannel_inbound_event import _event_datetime

_logger = logging.getLogger(__name__)

ADMIN = "omnichannel_inbox.group_omnichannel_admin"
WAHA = waha.WahaConnector.code
#: the alert of a WhatsApp number that stopped working on its gateway
ALERT_KIND = "whatsapp_session"


class OmnichannelChannel(models.Model):
    """WhatsApp through a WAHA gateway: its session (the paired number), its
    pairing QR code, and the watch on its connection (cron and webhook)."""

    _inherit = "omnichannel.channel"

    waha_status = fields.Char(
        "Session status",
        readonly=True,
        copy=False,
        help="State of the gateway's session as last reported: WORKING (the number "
        "receives and sends), SCAN_QR_CODE (logged out: pair it again), STOPPED, "
        "FAILED (disconnected or banned).",
    )
    waha_status_date = fields.Datetime("Status since", readonly=True, copy=False)
    waha_me = fields.Char(
        "Paired number",
        readonly=True,
        copy=False,
        help="The WhatsApp number the session is paired with.",
    )

    def _default_source(self):
        # The customer wrote on WhatsApp: the gateway is how, not where.
        if self.channel_type == WAHA:
            source = self.env.ref(
                "omnichannel_inbox.utm_source_whatsapp", raise_if_not_found=False
            )
            return (
                source
                or self.env["utm.source"]
                .sudo()
                .search([("name", "=", "WhatsApp")], limit=1)
                or self.env["utm.source"].sudo().create({"name": "WhatsApp"})
            )
        return super()._default_source()

    # -- session status ---------------------------------------------------------
    def _waha_apply_status(self, status, me="", date=None):
        """Record what the gateway says of the session and tell the
        administrators when the number stops working (resolved once it works
        again).  ``date``: when the gateway saw it; an older report than the
        one recorded changes nothing (webhooks may arrive out of order)."""
        self.ensure_one()
        channel = self.sudo()
        date = date or fields.Datetime.now()
        if channel.waha_status_date and date < channel.waha_status_date:
            return False
        vals = {"waha_status": status, "waha_status_date": date}
        if me:
            vals["waha_me"] = me.split("@")[0]
        channel.write(vals)
        Alert = self.env["omnichannel.alert"]
        if status == waha.WORKING:
            Alert._resolve(channel, ALERT_KIND)
        elif status in waha.DOWN_STATUSES or status not in waha.SESSION_STATUSES:
            Alert._raise(
                channel, ALERT_KIND, channel._waha_status_text(status), signature=status
            )
        return True

    def _waha_status_text(self, status):
        session = self._get_connector().session()
        if status in (
            "SCAN_QR_CODE",
            "PASSKEY_REQUIRED",
            "PASSKEY_CONFIRMATION_REQUIRED",
        ):
            return self.env._(
                "The WhatsApp number is logged out of the WAHA session %(session)s: "
                "nothing is received or sent. Open the channel, press Show QR code "
                "and scan it with WhatsApp on the phone (Linked devices).",
                session=session,
            )
        if status == "STOPPED":
            return self.env._(
                "The WAHA session %(session)s is stopped: nothing is received or "
                "sent. Start it on the gateway.",
                session=session,
            )
        if status == "FAILED":
            return self.env._(
                "The WAHA session %(session)s failed: the phone was disconnected, or "
                "WhatsApp banned the number. Restart the session on the gateway; if it "
                "fails again, open WhatsApp on the phone and check the number.",
                session=session,
            )
        return self.env._(
            "The WAHA session %(session)s reports the status %(status)s.",
            session=session,
            status=status,
        )

    @api.model
    def _cron_waha_check_sessions(self):
        """Ask each WAHA gateway about its session (the webhook may be the
        very thing that stopped): a number logged out, stopped, failed or
        banned, or a gateway that does not answer, alerts the administrators."""
        for channel in self.sudo().search([("channel_type", "=", WAHA)]):
            if not channel.token or not channel.api_base_url:
                # Not connected yet: nothing to ask.
                continue
            try:
                with self.env.cr.savepoint():
                    channel._waha_check_session()
            except Exception:
                _logger.exception(
                    "Omnichannel: WAHA session check of channel %s failed", channel.id
                )
        return True

    def _waha_check_session(self):
        """Ask the gateway; returns its answer (``session_info``), None when it
        could not be asked (the alert says why)."""
        self.ensure_one()
        try:
            info = self._get_connector().session_info()
        except connectors.ConnectorError as exc:
            self.env["omnichannel.alert"]._raise(
                self,
                ALERT_KIND,
                self.env._(
                    "The WAHA gateway could not be asked about the WhatsApp "
                    "session: %s",
                    exc,
                ),
                signature="unreachable",
            )
            return None
        self._waha_apply_status(info["status"], me=info["me"])
        return info

    # -- buttons ----------------------------------------------------------------
    def action_waha_check_connection(self):
        """Ask the gateway about the session and its webhook to this channel."""
        self.ensure_one()
        self._check_admin()
        info = self._waha_check_session()
        if info is None:
            raise UserError(
                self.env._(
                    "Could not reach the WAHA gateway: %s", self._waha_alert_detail()
                )
            )
        ours = self.webhook_url in info["webhooks"]
        lines = [
            self.env._("Session status: %s", info["status"]),
            self.env._("Paired number: %s", info["me"].split("@")[0] or "-"),
            self.env._(
                "Webhook to this channel: %s",
                (
                    self.env._("yes, signed")
                    if self.webhook_url in info["signed"]
                    else self.env._("yes, NOT signed")
                )
                if ours
                else self.env._("not in the session's configuration (maybe global)"),
            ),
        ]
        status = "\n".join(lines)
        self.sudo().webhook_status = status
        working = info["status"] == waha.WORKING
        return self._notify(status, "success" if working else "warning", sticky=True)

    def _waha_alert_detail(self):
        alert = (
            self.env["omnichannel.alert"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.id),
                    ("kind", "=", ALERT_KIND),
                    ("state", "=", "open"),
                ],
                limit=1,
            )
        )
        return alert.detail or "?"

    def action_waha_pair(self):
        """Show the QR code the phone scans to pair the number with the
        gateway (WhatsApp > Linked devices)."""
        self.ensure_one()
        self._check_admin()
        wizard = self.env["omnichannel.waha.pair"].create({"channel_id": self.id})
        wizard.action_refresh()
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.waha.pair",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Pair the WhatsApp number"),
        }


class OmnichannelWahaPair(models.TransientModel):
    """The pairing QR code of a WAHA session, fetched from the gateway when
    asked (it changes every few seconds while the session waits)."""

    _name = "omnichannel.waha.pair"
    _description = "Pair a WhatsApp number with its WAHA gateway"

    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="cascade", readonly=True
    )
    status = fields.Char("Session status", readonly=True)
    qr_image = fields.Binary("QR code", readonly=True, attachment=False)
    message = fields.Text(readonly=True)

    def action_refresh(self):
        self.ensure_one()
        channel = self.channel_id
        channel._check_admin()
        info = channel._waha_check_session()
        if info is None:
            self.write(
                {
                    "status": False,
                    "qr_image": False,
                    "message": channel._waha_alert_detail(),
                }
            )
        elif info["status"] == waha.WORKING:
            self.write(
                {
                    "status": info["status"],
                    "qr_image": False,
                    "message": self.env._(
                        "The session works: the number %s is paired. Nothing to scan.",
                        info["me"].split("@")[0] or "?",
                    ),
                }
            )
        else:
            try:
                image, _mimetype = channel._get_connector().qr_image()
            except connectors.ConnectorError as exc:
                self.write(
                    {
                        "status": info["status"],
                        "qr_image": False,
                        "message": self.env._(
                            "The gateway gave no QR code: %s (a stopped session must "
                            "be started on the gateway first).",
                            exc,
                        ),
                    }
                )
            else:
                self.write(
                    {
                        "status": info["status"],
                        "qr_image": base64.b64encode(image),
                        "message": self.env._(
                            "On the phone: WhatsApp > Settings > Linked devices > Link "
                            "a device, and scan this code. It changes every few "
                            "seconds: press Refresh if the phone refuses it."
                        ),
                    }
                )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Pair the WhatsApp number"),
        }


class OmnichannelAlert(models.Model):
    _inherit = "omnichannel.alert"

    kind = fields.Selection(
        selection_add=[(ALERT_KIND, "WhatsApp number disconnected from its gateway")],
        ondelete={ALERT_KIND: "cascade"},
    )


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    def _process_session_status(self, event, final_attempt=False):
        """The gateway's session changed state (``session.status`` webhook)."""
        applied = self.channel_id._waha_apply_status(
            event.status, me=event.me, date=_event_datetime(event.date)
        )
        if not applied:
            return {
                "state": "ignored",
                "note": self.env._("older than the session status recorded"),
            }
        return {}
