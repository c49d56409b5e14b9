import logging
from datetime import datetime, timedelta, timezone

from psycopg2 import errors as pg_errors

from odoo import api, fields, models

from odoo.addons.omnichannel_inbox import connectors

_logger = logging.getLogger(__name__)

ADMIN = "omnichannel_inbox.group_omnichannel_admin"
#: A channel "usually has many" events when it received at least this many
#: in the week before its quiet time (ir.config_parameter
#: omnichannel_inbox.silence_min_events).
SILENCE_MIN_EVENTS = 20
SILENCE_HISTORY = timedelta(days=7)
#: A delivery error the provider reports is current when it is younger than this
#: (Telegram keeps the last error in getWebhookInfo after deliveries recover).
PROVIDER_ERROR_RECENT = timedelta(hours=24)


class OmnichannelAlert(models.Model):
    """Stuck work an administrator must see: journal entries out of retries,
    replies that could not go out, a channel that stopped receiving, delivery
    errors the provider reports.

    One open alert per (channel, kind): the administrators get one inbox
    notification when the condition appears (and again only when what the
    provider says changes), not one per journal row or message; rows that
    follow only update the count.  The health cron closes the alert when the
    condition is gone, so the next occurrence notifies again."""

    _name = "omnichannel.alert"
    _description = "Omnichannel alert"
    _inherit = ["mail.thread"]
    _order = "state, last_date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Channel account",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True
    )
    kind = fields.Selection(
        [
            ("journal_stuck", "Journal entries out of retries"),
            ("send_failed", "Replies that could not be sent"),
            ("silent", "Channel stopped receiving"),
            ("provider_error", "Provider reports delivery errors"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved")],
        default="open",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    detail = fields.Text(readonly=True)
    signature = fields.Char(
        readonly=True,
        help="What makes it the same condition (the provider's error text).",
    )
    count = fields.Integer(readonly=True, help="Journal entries or messages concerned.")
    first_date = fields.Datetime("Since", readonly=True, default=fields.Datetime.now)
    last_date = fields.Datetime("Last seen", readonly=True, default=fields.Datetime.now)
    resolved_date = fields.Datetime("Resolved on", readonly=True)

    _open_unique = models.UniqueIndex(
        "(channel_id, kind) WHERE state = 'open'",
        "One open alert per channel account and kind.",
    )

    @api.depends("kind", "channel_id.name")
    def _compute_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for alert in self:
            alert.name = "{}: {}".format(
                alert.channel_id.name or "?",
                labels.get(alert.kind, alert.kind or ""),
            )

    # ------------------------------------------------------------------
    # Raising and resolving
    # ------------------------------------------------------------------
    @api.model
    def _raise(self, channel, kind, detail, signature="", count=0):
        """Open (or update) the alert of ``kind`` on ``channel``.  The
        administrators are notified when it opens and when its signature
        changes; otherwise the open alert is only brought up to date.
        ``detail`` is a text or a function of an environment writing it in
        that environment's language: each administrator reads it in theirs,
        the alert keeps it in the company's.
        Called from the journal and the sender: a fault here is logged,
        never allowed to undo their work."""
        try:
            with self.env.cr.savepoint():
                return self._raise_alert(channel, kind, detail, signature, count)
        except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected):
            raise
        except Exception:
            _logger.exception(
                "Omnichannel: could not raise the %s alert of channel %s",
                kind,
                channel.id,
            )
            return self.browse()

    def _raise_alert(self, channel, kind, detail, signature, count):
        Alert = self.sudo()
        render = detail if callable(detail) else None
        if render:
            company_lang = (channel.company_id or self.env.company).partner_id.lang
            installed = {code for code, _name in self.env["res.lang"].get_installed()}
            lang = company_lang if company_lang in installed else "en_US"
            detail = render(self.with_context(lang=lang).env)
        now = fields.Datetime.now()
        alert = Alert.search(
            [
                ("channel_id", "=", channel.id),
                ("kind", "=", kind),
                ("state", "=", "open"),
            ],
            limit=1,
        )
        if not alert:
            try:
                with self.env.cr.savepoint():
                    alert = Alert.with_context(
                        mail_create_nolog=True, mail_create_nosubscribe=True
                    ).create(
                        {
                            "channel_id": channel.id,
                            "kind": kind,
                            "detail": detail,
                            "signature": signature or False,
                            "count": count,
                            "first_date": now,
                            "last_date": now,
                        }
                    )
            except pg_errors.UniqueViolation:
                # Another worker opened it at the same moment: theirs notifies.
                alert = Alert.search(
                    [
                        ("channel_id", "=", channel.id),
                        ("kind", "=", kind),
                        ("state", "=", "open"),
                    ],
                    limit=1,
                )
            else:
                alert._notify_admins(render)
                return alert
        changed = (signature or False) != alert.signature
        alert.write(
            {
                "detail": detail,
                "signature": signature or False,
                "count": count,
                "last_date": now,
            }
        )
        if changed:
            alert._notify_admins(render)
        return alert

    @api.model
    def _resolve(self, channel, kind):
        alerts = self.sudo().search(
            [
                ("channel_id", "=", channel.id),
                ("kind", "=", kind),
                ("state", "=", "open"),
            ]
        )
        alerts._mark_resolved()
        return alerts

    def _mark_resolved(self):
        for alert in self:
            alert.write({"state": "resolved", "resolved_date": fields.Datetime.now()})
            alert._message_log(body=self.env._("The condition is gone."))

    def action_resolve(self):
        """An administrator has handled it: the next occurrence notifies again."""
        self.filtered(lambda a: a.state == "open").sudo()._mark_resolved()
        return True

    def _notify_admins(self, render=None):
        """One inbox notification (or email, as each administrator prefers)
        to the Omnichannel administrators of the channel's company.
        ``render(env)`` writes the detail in ``env``'s language."""
        self.ensure_one()
        admins = (
            self.env.ref(ADMIN)
            .sudo()
            .all_user_ids.filtered(
                lambda u: (
                    u.active
                    and not u.share
                    and self.company_id in u.company_ids
                    and u.id != self.env.ref("base.user_root").id
                )
            )
        )
        # Raised by a webhook or a cron: each administrator reads it in their
        # own language (else the company's), one note per language.
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        default = self.company_id.partner_id.lang
        default = default if default in installed else "en_US"
        by_lang = {}
        for admin in admins:
            lang = admin.lang if admin.lang in installed else default
            by_lang[lang] = by_lang.get(lang, admins.browse()) | admin
        by_lang = by_lang or {default: admins}
        for lang, readers in sorted(by_lang.items()):
            alert = self.with_context(lang=lang)
            detail = render(alert.env) if render else alert.detail
            labels = dict(alert._fields["kind"]._description_selection(alert.env))
            name = "{}: {}".format(
                alert.channel_id.name or "?", labels.get(alert.kind, alert.kind)
            )
            alert.sudo().with_context(mail_post_autofollow=False).message_post(
                body=alert.env._(
                    "%(alert)s: %(detail)s", alert=name, detail=detail or ""
                ),
                partner_ids=readers.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
                author_id=self.env.ref("base.partner_root").id,
            )

    # ------------------------------------------------------------------
    # Conditions
    # ------------------------------------------------------------------
    @api.model
    def _journal_row_stuck(self, event):
        """A journal row ran out of automatic retries (called by the journal)."""
        channel = event.channel_id
        count = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search_count(
                [
                    ("channel_id", "=", channel.id),
                    ("state", "=", "error"),
                    ("next_attempt_date", "=", False),
                ]
            )
        )
        return self._raise(
            channel,
            "journal_stuck",
            lambda env: env._(
                "%(count)s inbound event(s) stopped retrying; last error: %(error)s. "
                "Open the inbound journal, "
                "fix the cause and press Retry.",
                count=count,
                error=event.error_message or "?",
            ),
            signature="journal_stuck",
            count=count,
        )

    @api.model
    def _reply_failed(self, message):
        """A reply failed for good (not a customer who blocked the channel:
        the salesperson sees that in the chat; this is the account's problem)."""
        channel = message.channel_id
        open_alert = self.sudo().search(
            [
                ("channel_id", "=", channel.id),
                ("kind", "=", "send_failed"),
                ("state", "=", "open"),
            ],
            limit=1,
        )
        count = open_alert.count + 1
        return self._raise(
            channel,
            "send_failed",
            lambda env: env._(
                "%(count)s reply(ies) could not be sent; last error: %(error)s",
                count=count,
                error=message.error_message or "?",
            ),
            signature="send_failed",
            count=count,
        )

    @api.model
    def _cron_check_health(self):
        """The channel health check (cron, safe to wake with _trigger()):
        stuck journal rows, replies going out again, channels gone quiet,
        delivery errors the provider reports."""
        channels = self.env["omnichannel.channel"].sudo().search([])
        self._check_journal(channels)
        self._check_replies(channels)
        self._check_silence(channels)
        for channel in channels:
            try:
                with self.env.cr.savepoint():
                    self._check_provider(channel)
            except Exception:
                _logger.exception(
                    "Omnichannel: health check of channel %s failed", channel.id
                )
        return True

    @api.model
    def _check_journal(self, channels):
        Journal = self.env["omnichannel.inbound.event"].sudo()
        stuck = dict(
            Journal._read_group(
                [
                    ("channel_id", "in", channels.ids),
                    ("state", "=", "error"),
                    ("next_attempt_date", "=", False),
                ],
                ["channel_id"],
                ["__count"],
            )
        )
        for channel in channels:
            if stuck.get(channel):
                row = Journal.search(
                    [
                        ("channel_id", "=", channel.id),
                        ("state", "=", "error"),
                        ("next_attempt_date", "=", False),
                    ],
                    limit=1,
                )
                self._journal_row_stuck(row)
            else:
                self._resolve(channel, "journal_stuck")

    @api.model
    def _check_replies(self, channels):
        """A reply sent after the alert opened: the channel sends again."""
        Message = self.env["omnichannel.message"].sudo()
        for alert in self.sudo().search(
            [
                ("kind", "=", "send_failed"),
                ("state", "=", "open"),
                ("channel_id", "in", channels.ids),
            ]
        ):
            if Message.search_count(
                [
                    ("channel_id", "=", alert.channel_id.id),
                    ("direction", "=", "out"),
                    ("sent_date", ">", alert.last_date),
                ],
                limit=1,
            ):
                alert._mark_resolved()

    @api.model
    def _check_silence(self, channels):
        Journal = self.env["omnichannel.inbound.event"].sudo()
        now = fields.Datetime.now()
        try:
            minimum = int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("omnichannel_inbox.silence_min_events", SILENCE_MIN_EVENTS)
            )
        except ValueError:
            minimum = SILENCE_MIN_EVENTS
        last = dict(
            Journal._read_group(
                [("channel_id", "in", channels.ids)],
                ["channel_id"],
                ["received_date:max"],
            )
        )
        for channel in channels:
            hours = channel.silence_alert_hours
            if not hours or not channel.active:
                self._resolve(channel, "silent")
                continue
            quiet_since = now - timedelta(hours=hours)
            last_date = last.get(channel)
            usual = Journal.search_count(
                [
                    ("channel_id", "=", channel.id),
                    ("received_date", ">=", quiet_since - SILENCE_HISTORY),
                    ("received_date", "<", quiet_since),
                ]
            )
            if last_date and last_date < quiet_since and usual >= minimum:
                self._raise(
                    channel,
                    "silent",
                    lambda env, hours=hours, last_date=last_date, usual=usual: env._(
                        "No event for %(hours)s hours (last one on %(date)s), though "
                        "%(count)s arrived in the week before. "
                        "Check the webhook with the provider.",
                        hours=hours,
                        date=fields.Datetime.to_string(last_date),
                        count=usual,
                    ),
                    signature="silent",
                    count=usual,
                )
            else:
                self._resolve(channel, "silent")

    @api.model
    def _check_provider(self, channel):
        """Ask the provider about its deliveries to us, where its API says
        (Telegram getWebhookInfo.last_error_message)."""
        try:
            cls = connectors.get_connector_class(channel.channel_type)
        except connectors.ConnectorError:
            return
        if (
            not channel.active
            or not channel.token
            or not getattr(cls, "reports_delivery_errors", False)
        ):
            # Not connected yet (no token): nothing to ask.
            return
        try:
            info = channel._get_connector().webhook_info()
        except connectors.ConnectorError as exc:
            raw = str(exc)
            detail = self.env._(
                "The provider could not be asked about its deliveries: %s", exc
            )
        else:
            raw = info.get("last_error_message") or ""
            when = _parse_date(info.get("last_error_date"))
            if raw and when and when < fields.Datetime.now() - PROVIDER_ERROR_RECENT:
                raw = ""
            detail = self.env._(
                "The provider could not deliver updates to this server (last on "
                "%(date)s): %(error)s",
                date=info.get("last_error_date") or "?",
                error=raw,
            )
        if raw:
            # The same error text is the same condition, whatever its date.
            self._raise(channel, "provider_error", detail, signature=raw[:250])
        else:
            self._resolve(channel, "provider_error")


def _parse_date(value):
    """An ISO date from a connector as Odoo's naive UTC datetime (None if absent)."""
    if not value:
        return None
    try:
        date = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if date.tzinfo:
        date = date.astimezone(timezone.utc).replace(tzinfo=None)
    return date
