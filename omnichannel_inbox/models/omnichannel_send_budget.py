import json
import logging

import psycopg2

from odoo import api, fields, models
from odoo.sql_db import Cursor
from odoo.tools import SQL

from odoo.addons.omnichannel_inbox import connectors

_logger = logging.getLogger(__name__)

#: A chat's limit is counted over this many seconds: a short burst to one
#: person (a greeting, then a reply) leaves at once, as providers tolerate
#: (Telegram: "short bursts are allowed"), while the average stays within it.
CHAT_WINDOW = 5.0
#: Share of a channel's per-second budget that automatic messages (auto-
#: replies, surveys, templates, follow-ups) never take: a person's reply
#: always finds room, however big the bulk send in progress.
RESERVED_SHARE = 0.2
#: A budget row lost in a crash only means counting a little less for a
#: second: its transactions do not wait for the disk (two commits a message).
NO_FSYNC = SQL("SET LOCAL synchronous_commit TO OFF")


def budget_transaction(cr):
    """Start one of the budget's own short transactions: READ COMMITTED, so
    that a row lock waited for reads the row as its holder left it (Odoo's
    REPEATABLE READ would refuse it: "could not serialize access"), and
    without waiting for the disk.  A test cursor shares the test's
    transaction, already begun: only the second applies there."""
    if isinstance(cr, Cursor):
        cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; %s", NO_FSYNC))
    else:
        cr.execute(NO_FSYNC)


def window_of(rate, seconds=1.0):
    """(messages, window seconds) of a rate in messages per second: counted
    over ``seconds`` (at least one message; a slow rate gets a longer
    window: 0.2/s is one message per 5 s)."""
    if rate * seconds >= 1:
        return int(rate * seconds), seconds
    return 1, 1.0 / rate


class OmnichannelSendBudget(models.Model):
    """The sending budget of a channel (``scope`` empty) and of the chats it
    sends to (``scope`` = the recipient): the times of the messages handed
    to the provider within the last window, and the time until which the
    provider asked us to stop (its 429 / rate-limit code).

    Kept in PostgreSQL, one row locked per check, in a transaction of its
    own: every worker and every Odoo server sending through the channel
    counts against the same budget, and the lock is held for a few
    statements, not for the whole request that sends.  A sliding log rather
    than a counter per calendar second: "at most N in any second", which is
    what providers measure."""

    _name = "omnichannel.send.budget"
    _description = "Channel Sending Budget"
    _log_access = False

    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="cascade", readonly=True
    )
    scope = fields.Char(
        required=True,
        default="",
        readonly=True,
        help="Empty for the whole channel, else the chat (recipient) the limit counts.",
    )
    sent_times = fields.Json(
        readonly=True,
        help="When the messages of the current window left (seconds since the epoch).",
    )
    blocked_until = fields.Float(
        readonly=True,
        help="The provider asked to send nothing before this time (epoch).",
    )
    last_time = fields.Float(readonly=True)

    _channel_scope_unique = models.UniqueIndex(
        "(channel_id, scope)", "One budget per channel and chat."
    )

    # ------------------------------------------------------------------
    @api.model
    def _limits(self, message):
        """[(scope, messages, window)] the message counts against."""
        channel = message.channel_id
        limits = []
        if channel.send_rate > 0:
            count, window = window_of(channel.send_rate)
            if message.priority != "high" and count >= 2:
                # automatic messages leave the reserved share to people's replies
                count -= max(1, round(count * RESERVED_SHARE))
            limits.append(("", count, window))
        else:
            limits.append(
                ("", 0, 0)
            )  # unlimited, but the provider's backoff still applies
        identity = message.conversation_id.identity_id
        chat = identity.chat_id or identity.provider_user_id
        if channel.send_chat_rate > 0 and chat:
            count, window = window_of(channel.send_chat_rate, CHAT_WINDOW)
            limits.append((str(chat)[:255], count, window))
        return limits

    @api.model
    def _acquire(self, message):
        """Take one place in the budget of ``message`` (its channel and chat).

        Returns ``(wait, grant, channel_wide)``: ``wait`` 0 and a grant to
        pass to :meth:`_release` once sent, or the seconds to wait (budget
        spent, or the provider's backoff), no grant, and whether the whole
        channel waits (else only this chat).  Committed at once in its own
        transaction (see the class)."""
        limits = self._limits(message)
        channel_id = message.channel_id.id
        try:
            with self.env.registry.cursor() as cr:
                budget_transaction(cr)
                rows = self._lock_rows(
                    cr, channel_id, [scope for scope, _c, _w in limits]
                )
                if rows is None:
                    return 0.0, None, False
                cr.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
                now = cr.fetchone()[0]
                waits, kept = {}, {}
                for scope, count, window in limits:
                    row_id, times, blocked_until = rows[scope]
                    times = [t for t in times if t > now - (window or 1.0)]
                    if count:
                        kept[row_id] = times
                    wait = (
                        blocked_until - now
                        if blocked_until and blocked_until > now
                        else 0.0
                    )
                    if count and len(times) >= count:
                        # the place frees when the count-th newest leaves the window
                        wait = max(
                            wait, sorted(times)[len(times) - count] + window - now
                        )
                    waits[scope] = wait
                wait = max(waits.values())
                if wait > 0:
                    return wait, None, waits[""] > 0
                if not kept:
                    return (
                        0.0,
                        None,
                        False,
                    )  # no limit to count against (only the provider's backoff)
                for row_id, times in kept.items():
                    cr.execute(
                        "UPDATE omnichannel_send_budget SET sent_times = %s, last_time "
                        "= %s WHERE id = %s",
                        [json.dumps(times + [now]), now, row_id],
                    )
                return 0.0, (now, list(kept)), False
        except psycopg2.errors.ForeignKeyViolation:
            # the channel was deleted meanwhile
            return 0.0, None, False

    @api.model
    def _release(self, grant):
        """The message of ``grant`` has left: count it from now (when the
        provider had it, at the latest) rather than from the check, so that
        a slow send never lets the provider see more than the rate."""
        if not grant:
            return
        granted, row_ids = grant
        with self.env.registry.cursor() as cr:
            budget_transaction(cr)
            for row_id in (
                row_ids
            ):  # in the order of _lock_rows (channel first): no crosswise wait
                cr.execute(
                    """
                    UPDATE omnichannel_send_budget
                       SET sent_times = COALESCE((
                               SELECT jsonb_agg(CASE WHEN t::float8 = %s
                                                     THEN to_jsonb(EXTRACT(EPOCH FROM
                                                         clock_timestamp())::float8)
                                                     ELSE t END)
                                 FROM jsonb_array_elements(sent_times) t), '[]'::jsonb),
                           last_time = EXTRACT(EPOCH FROM clock_timestamp())
                     WHERE id = %s""",
                    [granted, row_id],
                )

    @api.model
    def _back_off(self, channel, seconds):
        """The provider refused for its rate limit: nothing leaves the whole
        channel for ``seconds``."""
        with self.env.registry.cursor() as cr:
            budget_transaction(cr)
            rows = self._lock_rows(cr, channel.id, [""])
            if rows is None:
                return
            cr.execute(
                """UPDATE omnichannel_send_budget
                             SET blocked_until = GREATEST(COALESCE(blocked_until, 0),
                                                          EXTRACT(EPOCH FROM
                                                              clock_timestamp()) + %s)
                           WHERE id = %s""",
                [float(seconds), rows[""][0]],
            )

    @api.model
    def _lock_rows(self, cr, channel_id, scopes):
        """{scope: (id, sent_times, blocked_until)} of the channel's rows
        (None if the channel is not visible to ``cr``), created when missing, locked in
        one order (channel row first) so that
        two workers never wait on each other crosswise."""
        query = """SELECT scope, id, sent_times, blocked_until FROM
            omnichannel_send_budget
                    WHERE channel_id = %s AND scope IN %s ORDER BY scope FOR UPDATE"""
        cr.execute(query, [channel_id, tuple(scopes)])
        rows = {
            scope: (row_id, times or [], blocked)
            for scope, row_id, times, blocked in cr.fetchall()
        }
        missing = [scope for scope in scopes if scope not in rows]
        if missing:
            cr.execute("SELECT 1 FROM omnichannel_channel WHERE id = %s", [channel_id])
            if not cr.fetchone():
                # The channel is not committed yet (created in the same
                # transaction as this message): nothing else can be sending
                # through it, so there is nothing to share.
                return None
            for scope in missing:
                cr.execute(
                    """INSERT INTO omnichannel_send_budget (channel_id, scope,
                        sent_times, blocked_until, last_time)
                              VALUES (%s, %s, '[]', 0, 0) ON CONFLICT (channel_id,
                                  scope) DO NOTHING""",
                    [channel_id, scope],
                )
            cr.execute(query, [channel_id, tuple(scopes)])
            rows = {
                scope: (row_id, times or [], blocked)
                for scope, row_id, times, blocked in cr.fetchall()
            }
        return rows

    @api.model
    def _gc(self):
        """Forget the chats nothing was sent to for an hour (the channel rows
        stay); in a transaction of its own, like every use of these rows."""
        with self.env.registry.cursor() as cr:
            budget_transaction(cr)
            cr.execute("""DELETE FROM omnichannel_send_budget
                           WHERE scope <> '' AND last_time < EXTRACT(EPOCH FROM
                               clock_timestamp()) - 3600""")


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    send_rate = fields.Float(
        "Messages per second",
        compute="_compute_send_rates",
        store=True,
        readonly=False,
        digits=(16, 2),
        help="At most this many messages leave the channel in any second; more wait in "
        "the queue. "
        "Defaults to the provider's published limit; 0 sends without a limit.",
    )
    send_chat_rate = fields.Float(
        "Messages per second to one chat",
        compute="_compute_send_rates",
        store=True,
        readonly=False,
        digits=(16, 2),
        help="The same for one customer (short bursts allowed, counted over 5 "
        "seconds); 0 sends without a limit.",
    )

    @api.depends("channel_type")
    def _compute_send_rates(self):
        for channel in self:
            try:
                cls = connectors.get_connector_class(channel.channel_type)
            # noqa: BLE001 - a type without connector has no published limit
            except Exception:
                cls = None
            channel.send_rate = getattr(cls, "send_rate", 0) or 0
            channel.send_chat_rate = getattr(cls, "send_chat_rate", 0) or 0
