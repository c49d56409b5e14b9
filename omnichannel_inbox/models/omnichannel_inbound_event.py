import hashlib
import json
import logging
import re
import time
import traceback
from datetime import datetime, timedelta

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import email_normalize
from odoo.tools.mail import email_re

from odoo.addons.omnichannel_inbox import connectors

from ..services import retry
from .mail_mail import QUEUE_MAIL

#: The UTM an event carries, and the lead fields and models they fill.
UTM_FIELDS = {
    "utm_source": ("source_id", "utm.source"),
    "utm_medium": ("medium_id", "utm.medium"),
    "utm_campaign": ("campaign_id", "utm.campaign"),
}

_logger = logging.getLogger(__name__)

#: Delays between automatic retries of a failed event (then it waits for a
#: person to press Retry; it is never dropped).
RETRY_DELAYS = retry.backoff(6)
#: At most this many events per cron run, the cron re-triggers itself if more.
CRON_BATCH = 200
#: At most this many events of one customer in one transaction of a
#: background processor (one commit for them all).
CUSTOMER_BATCH = 20
#: Another worker was handling the same customer at the same moment: the row
#: is run again this many times in a fresh transaction before it counts as a
#: failure (and then waits for the ordinary retry).
CONFLICT_RETRIES = 5
CONCURRENCY_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
#: ``event_kind`` of a request body journaled before it is read.
REQUEST_KIND = "request"
#: A request the webhook journaled is read by that webhook at once; the cron
#: reads it only when the request died in between, after this delay.
REQUEST_GRACE = timedelta(minutes=1)
#: Requests kept per channel and hour while its secrets cannot be decrypted.
UNVERIFIED_CAP = 1000


class OmnichannelInboundEvent(models.Model):
    """The inbound journal.

    A verified webhook body is first stored as it came, as a *request* row
    (kind ``request``, unique per channel and body hash) and committed,
    before any parser runs.  Reading it turns it into one row per event,
    unique per (channel, provider event id) so that a provider's retry is
    acknowledged and ignored, and removes the request row in the same
    transaction; a body no parser understands stays as a request row in
    state *Unreadable*, read again with *Retry* (after an upgrade).
    Processing turns an event row into identity, conversation, message,
    lead; it runs right after the journal is committed, or in the cron
    woken with ``_trigger()``.  A failure leaves the row in error with its
    traceback and schedules a retry: what a customer sent is never lost."""

    _name = "omnichannel.inbound.event"
    _description = "Inbound Journal Entry"
    _order = "id desc"
    _rec_name = "provider_event_id"

    channel_id = fields.Many2one(
        "omnichannel.channel",
        required=True,
        ondelete="restrict",
        index=True,
        readonly=True,
    )
    channel_type = fields.Selection(related="channel_id.channel_type")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    provider_event_id = fields.Char("Provider event ID", required=True, readonly=True)
    event_kind = fields.Char("Kind", readonly=True)
    payload = fields.Text(
        readonly=True, help="The normalized event, as the connector parsed it."
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Done"),
            ("ignored", "Ignored"),
            ("error", "Error"),
            ("unreadable", "Unreadable"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    raw_body = fields.Text(
        "Request body",
        readonly=True,
        groups="omnichannel_inbox.group_omnichannel_admin",
        help="The request as the provider sent it, kept until it is read into events.",
    )
    note = fields.Char(readonly=True, help="Why the event was ignored.")
    customer_key = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="Whose event this is (channel and the provider's user id): the "
        "events of one customer are processed in their order, by one worker "
        "at a time.",
    )
    attempts = fields.Integer(readonly=True)
    next_attempt_date = fields.Datetime(readonly=True, index="btree_not_null")
    received_date = fields.Datetime(readonly=True, default=fields.Datetime.now)
    processed_date = fields.Datetime(readonly=True)
    error_message = fields.Char(readonly=True)
    error_traceback = fields.Text(readonly=True)
    message_id = fields.Many2one(
        "omnichannel.message",
        string="Message",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    conversation_id = fields.Many2one(
        "omnichannel.conversation", readonly=True, ondelete="set null"
    )

    _provider_event_unique = models.Constraint(
        "UNIQUE(channel_id, provider_event_id)",
        "An event is journaled once per channel account.",
    )
    _pending_idx = models.Index(
        "(next_attempt_date, id) WHERE state IN ('pending', 'error')"
    )

    # ------------------------------------------------------------------
    # Journal
    # ------------------------------------------------------------------
    @api.model
    def _journal(self, channel, events):
        """Store ``events`` of ``channel``; return the new rows (a provider's
        retry, same event id, creates none)."""
        ids = []
        for event in events:
            row_id = self._insert_once(
                channel,
                str(event.event_id)[:255],
                event.kind,
                payload=json.dumps(connectors.event_to_dict(event), ensure_ascii=False),
                customer_key=_customer_key(channel, event),
            )
            if row_id:
                ids.append(row_id)
        return self.browse(ids)

    @api.model
    def _insert_once(
        self,
        channel,
        provider_event_id,
        kind,
        payload=None,
        raw_body=None,
        due=None,
        customer_key=None,
    ):
        """Insert a pending row unless (channel, provider_event_id) is
        journaled already; return its id, or None for a duplicate.

        ``INSERT .. ON CONFLICT DO NOTHING`` makes a retry a no-op even when
        two deliveries race.  When the row it meets was committed by a
        delivery this transaction's snapshot does not see (the same event
        delivered twice at the same moment), PostgreSQL refuses under
        REPEATABLE READ with a serialization failure instead of doing
        nothing: that is a duplicate as well, acknowledged like any other.
        The savepoint keeps the rest of the transaction."""
        now = fields.Datetime.now()
        uid = self.env.uid
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    INSERT INTO omnichannel_inbound_event
                        (channel_id, company_id, provider_event_id, event_kind,
                            payload, raw_body, state,
                         attempts, received_date, next_attempt_date, create_uid,
                             create_date, write_uid, write_date, customer_key)
                    VALUES (%s, %s, %s, %s, %s, %s, 'pending', 0, %s, %s, %s, %s, %s,
                        %s, %s)
                    ON CONFLICT (channel_id, provider_event_id) DO NOTHING
                    RETURNING id
                """,
                    [
                        channel.id,
                        channel.company_id.id,
                        provider_event_id,
                        kind,
                        payload,
                        raw_body,
                        now,
                        due or now,
                        uid,
                        now,
                        uid,
                        now,
                        customer_key,
                    ],
                    log_exceptions=False,
                )
                row = self.env.cr.fetchone()
        except pg_errors.SerializationFailure:
            return None
        return row[0] if row else None

    @api.model
    def _journal_request(self, channel, connector, body):
        """Store a verified request ``body`` as it came, before anything
        reads it; return the new request row, or an empty recordset when the
        same body is journaled already (a retry racing the first delivery,
        or a body kept as Unreadable)."""
        body = connector.journal_body(body)
        # What passed the connector's format check is UTF-8 text (JSON or
        # a url-encoded form); PostgreSQL text holds no NUL character.
        text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
        key = f"{REQUEST_KIND}:{hashlib.sha256(text.encode()).hexdigest()}"
        row_id = self._insert_once(
            channel,
            key,
            REQUEST_KIND,
            raw_body=text,
            due=fields.Datetime.now() + REQUEST_GRACE,
        )
        return self.browse(row_id or [])

    @api.model
    def _parse_request(self, channel, body):
        """The checked events of a request ``body`` of ``channel``; raises
        whatever the connector's parser or the shared check raises."""
        connector = channel._get_connector()
        # The shared check of every connector's output: field types and
        # length limits, whatever the provider's own parser let through.
        return connectors.check_events(connector.parse({}, body, {}))

    def _read_request(self):
        """Read a request row into event rows: return (events, new rows).
        The event rows are journaled and the request row removed in one
        transaction; a body no parser reads stays as *Unreadable* with the
        parser's reason, and (None, no rows) is returned."""
        self.ensure_one()
        try:
            events = self._parse_request(self.channel_id, self.sudo().raw_body.encode())
        # noqa: BLE001 - what no parser reads is kept, never refused
        except Exception as exc:
            _logger.info(
                "Omnichannel: unreadable request %s of channel %s: %s",
                self.id,
                self.channel_id.id,
                exc,
            )
            self.write(
                {
                    "state": "unreadable",
                    "attempts": self.attempts + 1,
                    "next_attempt_date": False,
                    "error_message": str(exc)[:500] or exc.__class__.__name__,
                    "error_traceback": traceback.format_exc(),
                }
            )
            return None, self.browse()
        new_rows = self._journal(self.channel_id, events)
        # The request makes way for its events.  One DELETE: nothing hangs on
        # a journal row (no attachment, activity, default or external id for
        # the ORM's unlink to look for, four queries on every webhook).
        self.env.cr.execute(
            "DELETE FROM omnichannel_inbound_event WHERE id = %s", [self.id]
        )
        self.invalidate_recordset()
        return events, new_rows

    @api.model
    def _receive(self, channel, connector, body):
        """Journal a verified webhook ``body`` of ``channel`` and commit,
        then read it into events, process them (or wake the cron) and return
        the answer for the provider.

        Once the body is committed, nothing that happens to reading or
        processing turns into an error answer: the provider gets its
        acknowledgement (a 4xx or 5xx would make it send the body again for
        days, then disable the webhook), and the journal keeps the rest."""
        request_row = self._journal_request(channel, connector, body)
        # The journal is durable before any parser runs.
        self.env.cr.commit()
        try:
            if request_row:
                request_row = request_row._claim_rows(request_row.ids)
            if request_row:
                events, new_rows = request_row._read_request()
            else:
                # The same body is journaled by another delivery (being read
                # now, or Unreadable): its events are what this one answers;
                # storing them is a no-op for whichever delivery comes second.
                try:
                    events = self._parse_request(channel, body)
                except Exception:  # noqa: BLE001 - the other delivery keeps it
                    events = None
                new_rows = self._journal(channel, events or [])
            self.env.cr.commit()
            self._process_new(new_rows)
            return channel._webhook_answer(connector, events or [], new_rows)
        except Exception:
            self.env.cr.rollback()
            _logger.exception(
                "Omnichannel: a journaled request of channel %s failed after its "
                "journal; "
                "the journal keeps it",
                channel.id,
            )
            return connector.ack

    @api.model
    def _receive_replayed(self, channel, connector, body, reason):
        """Keep an authentic webhook ``body`` that was sent outside the
        replay window as an ignored request (with ``reason``), commit, and
        return the provider's acknowledgement: never read, never applied."""
        request_row = self._journal_request(channel, connector, body)
        request_row.write(
            {"state": "ignored", "note": reason[:255], "next_attempt_date": False}
        )
        self.env.cr.commit()
        return connector.ack

    @api.model
    def _receive_unverified(self, channel, body, reason):
        """Keep a webhook ``body`` of ``channel`` whose signature cannot be
        checked because the channel's secrets cannot be decrypted (no key),
        and commit.  Nothing vouches for it, so it is never read nor applied:
        an ignored row marked *unverified* that shows administrators what
        arrived while the key was missing.  The caller answers 503 so that
        the provider delivers it again once the key is back, when it is
        verified like any request.  At most UNVERIFIED_CAP rows per channel
        and hour: a flood of forged requests cannot fill the journal."""
        self.flush_model(["channel_id", "event_kind", "received_date"])
        self.env.cr.execute(
            """
            SELECT count(*) FROM omnichannel_inbound_event
             WHERE channel_id = %s AND event_kind = 'unverified' AND received_date > %s
        """,
            [channel.id, fields.Datetime.now() - timedelta(hours=1)],
        )
        if self.env.cr.fetchone()[0] >= UNVERIFIED_CAP:
            return self.browse()
        text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
        key = f"unverified:{hashlib.sha256(text.encode()).hexdigest()}"
        row = self.browse(
            self._insert_once(channel, key, "unverified", raw_body=text) or []
        )
        row.write(
            {"state": "ignored", "note": reason[:255], "next_attempt_date": False}
        )
        self.env["omnichannel.alert"]._raise(channel, "key_missing", reason)
        self.env.cr.commit()
        return row

    @api.model
    def _accept(self, channel, events):
        """Journal ``events`` already parsed by their entry point (the
        website contact form) and commit, then process the new rows now or
        wake the cron; return the new rows."""
        new_rows = self._journal(channel, events)
        # The journal is durable before any processing starts.
        self.env.cr.commit()
        self._process_new(new_rows)
        return new_rows

    @api.model
    def _process_new(self, new_rows):
        if not new_rows:
            return
        if self._inline_processing():
            # Processed as the cron would be: by OdooBot, not the webhook's
            # public user (authors of notes, creators of activities).
            new_rows.with_user(SUPERUSER_ID)._process(commit=True)
        else:
            self._trigger_processing(new_rows)

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------
    @api.model
    def _inline_processing(self):
        return (
            not self.env["ir.config_parameter"]
            .sudo()
            .get_param("omnichannel_inbox.deferred_processing")
        )

    def _claim(self, limit=None):
        """Lock the processable rows among ``self`` (or all due rows when
        ``self`` is empty).  SKIP LOCKED: two workers never take the same
        row, and neither waits for the other."""
        self.flush_model(["state", "next_attempt_date"])
        query = """
            SELECT id FROM omnichannel_inbound_event
             WHERE state IN ('pending', 'error')
               AND next_attempt_date IS NOT NULL AND next_attempt_date <= %s
        """
        params = [fields.Datetime.now()]
        if self:
            query += " AND id IN %s"
            params.append(tuple(self.ids))
        query += " ORDER BY id LIMIT %s"
        params.append(limit or CRON_BATCH)
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    query + " FOR UPDATE SKIP LOCKED", params, log_exceptions=False
                )
                return self.browse([r[0] for r in self.env.cr.fetchall()])
        except pg_errors.SerializationFailure:
            # See _claim_rows: take the rows one by one.
            pass
        self.env.cr.execute(query, params)
        return self._claim_rows([r[0] for r in self.env.cr.fetchall()])

    def _claim_rows(self, ids):
        """Lock the pending rows among ``ids`` one by one, skipping those
        another worker holds or has changed.

        Under REPEATABLE READ, locking a row that another worker changed and
        committed after this transaction's snapshot (a webhook processed it
        meanwhile) fails with "could not serialize access", and used to fail
        the cron (repeated failures deactivate it).  Each row is locked in a
        savepoint, and such a row is skipped: whoever changed it has it in
        hand, and a row still due then is taken at the next run."""
        claimed = []
        for row_id in ids:
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(
                        """
                        SELECT id FROM omnichannel_inbound_event
                         WHERE id = %s AND state IN ('pending', 'error')
                           FOR UPDATE SKIP LOCKED
                    """,
                        [row_id],
                        log_exceptions=False,
                    )
                    claimed.extend(r[0] for r in self.env.cr.fetchall())
            except pg_errors.SerializationFailure:
                continue
        return self.browse(claimed)

    def _process(self, commit=False):
        """Process the rows of ``self`` that are due and not taken by another
        worker.  Each row runs in its own savepoint: one failure does not
        undo the others.  With ``commit``, each row's outcome is committed
        (cron, webhook after its journal commit), and a row that ran into
        another worker handling the same customer is run again in a fresh
        transaction, which sees what that worker committed.

        Without rows (the cron, every background processor), the due rows
        are taken a customer at a time (:meth:`_process_due`)."""
        if not self:
            return self._process_due(commit=commit)
        done = self.browse()
        if commit:
            # A fresh snapshot: the claim sees what other workers committed
            # up to now (the cron's transaction began before its run).
            self.env.cr.commit()
        behind = False
        for event in self._claim(limit=max(len(self), 1)):
            if commit and done:
                # The previous commit released the row locks of the claim:
                # take this row again, unless another worker has taken it.
                event = event._claim(limit=1)
                if not event:
                    continue
            if event.customer_key and not self._lock_customer(event.customer_key):
                # A background processor is on this customer's earlier
                # events: this one follows them there, in its order.
                behind = True
                continue
            if event.event_kind == REQUEST_KIND:
                # A request whose webhook died before reading it.
                done |= event._read_request()[1]
                if commit:
                    self.env.cr.commit()
                continue
            for rerun in range(CONFLICT_RETRIES + 1):
                try:
                    event._process_one(
                        raise_conflicts=commit and rerun < CONFLICT_RETRIES
                    )
                    break
                except CONCURRENCY_ERRORS:
                    self.env.cr.rollback()
                    time.sleep(0.05 * (rerun + 1))
                    event = event._claim(limit=1)
                    if not event:
                        break
            if not event:
                continue
            done |= event
            if commit:
                self.env.cr.commit()
        if behind:
            self._trigger_processing()
        return done

    @api.model
    def _process_due(self, commit=False):
        """Process due rows as a background processor: one customer's batch
        at a time (:meth:`_claim_customer_batch`), each row in its savepoint,
        one commit per batch.  Several processors (cron jobs on every Odoo
        server of the database, queue_job workers) run this at once: none
        waits for another, none takes a row or a customer another one has,
        and a customer's events keep their order.  A batch that ran into
        another worker handling the same customer (identity rules) is run
        again in a fresh transaction."""
        done = self.browse()
        conflicts = 0
        while len(done) < CRON_BATCH:
            if commit:
                # A fresh snapshot, and the previous batch's locks released.
                self.env.cr.commit()
            batch = self._claim_customer_batch()
            if not batch:
                break
            try:
                done |= batch._process_batch(
                    raise_conflicts=commit and conflicts < CONFLICT_RETRIES
                )
            except CONCURRENCY_ERRORS:
                self.env.cr.rollback()
                conflicts += 1
                time.sleep(0.05 * conflicts)
                continue
            conflicts = 0
        if commit:
            self.env.cr.commit()
        return done

    def _process_batch(self, raise_conflicts=False):
        """Process the claimed rows of ``self`` in their order; return them
        (and the event rows of requests read)."""
        done = self.browse()
        for event in self:
            if event.event_kind == REQUEST_KIND:
                # A request whose webhook died before reading it: its events
                # are due at once, taken by the next claims.
                done |= event._read_request()[1]
                continue
            event._process_one(raise_conflicts=raise_conflicts)
            done |= event
        return done

    @api.model
    def _claim_customer_batch(self, limit=CUSTOMER_BATCH):
        """Lock the due rows of the customer waiting longest that no other
        worker is on: the unbroken start of their queue, in journal order,
        at most ``limit`` rows (a row of nobody in particular - a delivery
        status, a request - comes alone).  Rows are locked FOR UPDATE SKIP
        LOCKED and customers with a transaction-level try-lock: a worker
        never waits, and passes over what another holds."""
        self.flush_model(["state", "next_attempt_date", "customer_key"])
        now = fields.Datetime.now()
        due = """state IN ('pending', 'error')
                 AND next_attempt_date IS NOT NULL AND next_attempt_date <= %s"""
        self.env.cr.execute(
            f"""SELECT id, customer_key FROM omnichannel_inbound_event
                 WHERE {due} ORDER BY id LIMIT %s""",
            [now, CRON_BATCH],
        )
        seen = set()
        for row_id, key in self.env.cr.fetchall():
            if key is None:
                row = self.browse(row_id)._claim(limit=1)
                if row:
                    return row
                continue
            if key in seen:
                continue
            seen.add(key)
            if not self._lock_customer(key):
                continue
            rows = self._claim_customer_rows(key, limit=limit)
            if rows:
                return rows
        return self.browse()

    @api.model
    def _claim_customer_rows(self, customer_key, limit=CUSTOMER_BATCH):
        """Lock the due rows of ``customer_key`` (whose processing lock the
        caller holds): the unbroken start of their queue, in journal order,
        at most ``limit``."""
        self.env.cr.execute(
            """SELECT id FROM omnichannel_inbound_event
                WHERE customer_key = %s AND state IN ('pending', 'error')
                  AND next_attempt_date IS NOT NULL AND next_attempt_date <= %s
                ORDER BY id LIMIT %s""",
            [customer_key, fields.Datetime.now(), limit],
        )
        ids = [r[0] for r in self.env.cr.fetchall()]
        claimed = set(self.browse(ids)._claim(limit=limit).ids)
        # Only up to a row someone else holds (an older webhook still on it):
        # what follows it waits, so that the order is kept.
        start = []
        for queued_id in ids:
            if queued_id not in claimed:
                break
            start.append(queued_id)
        return self.browse(start)

    @api.model
    def _process_customer(self, customer_key):
        """Process the due events of one customer, in their order, in this
        transaction (a queue_job job: see :meth:`_trigger_processing`).
        Return None when another worker holds the customer (the caller
        tries again later), else the number of rows processed: a full batch
        means more may wait."""
        if not self._lock_customer(customer_key):
            return None
        self.flush_model(["state", "next_attempt_date", "customer_key"])
        rows = self._claim_customer_rows(customer_key)
        rows._process_batch(raise_conflicts=True)
        return len(rows)

    def _job_process_customer(self, customer_key):
        """The queue_job job of one customer's batch.  A customer another
        worker holds is retried shortly; a conflict with another worker
        (serialization failure) is retried by queue_job itself."""
        processed = self._process_customer(customer_key)
        if processed is None:
            from odoo.addons.queue_job.exception import RetryableJobError

            raise RetryableJobError(
                "another worker is processing this customer", seconds=2
            )
        if processed >= CUSTOMER_BATCH:
            self._enqueue_customers([customer_key])
        return processed

    @api.model
    def _queue_job_channel(self):
        """The queue_job channel background processing runs on, or False:
        only when OCA's queue_job is installed and a channel is set (system
        parameter ``omnichannel_inbox.queue_job_channel``, for instance
        ``root.omnichannel``)."""
        if "queue.job" not in self.env:
            return False
        return (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("omnichannel_inbox.queue_job_channel")
            or False
        )

    @api.model
    def _enqueue_customers(self, customer_keys):
        """One queue_job job per customer (a customer with a job waiting
        gets no second one: its identity key)."""
        channel = self._queue_job_channel()
        # Processed as the cron processes: by OdooBot, not the webhook's user.
        journal = self.with_user(SUPERUSER_ID)
        for key in customer_keys:
            journal.with_delay(
                channel=channel,
                identity_key=f"omnichannel-journal:{key}",
                description=f"Omnichannel: process the journal of {key}",
            )._job_process_customer(key)

    @api.model
    def _lock_customer(self, customer_key):
        """Take ``customer_key``'s processing lock until the end of the
        transaction, without waiting; False when another worker has it.
        (Only who may process: what each one sees is settled by the row
        locks and the serialization failures of the claim and the customer
        locks, see omnichannel.customer.lock.)"""
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"omnichannel-journal:{customer_key}"],
        )
        return self.env.cr.fetchone()[0]

    def _process_one(self, raise_conflicts=False):
        self.ensure_one()
        attempt = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                event = connectors.event_from_dict(json.loads(self.payload))
                # The emails it causes are queued and the queue woken: a
                # webhook processed at once never waits for the mail server.
                processing = self.with_context(
                    mail_notify_force_send=False, **{QUEUE_MAIL: True}
                )
                result = getattr(processing, f"_process_{event.kind}")(
                    event, final_attempt=attempt > len(RETRY_DELAYS)
                )
                vals = {
                    "state": "done",
                    "attempts": attempt,
                    "processed_date": fields.Datetime.now(),
                    "next_attempt_date": False,
                    "error_message": False,
                    "error_traceback": False,
                }
                vals.update(result or {})
                self.write(vals)
        except Exception as exc:
            if raise_conflicts and isinstance(exc, CONCURRENCY_ERRORS):
                raise
            _logger.warning(
                "Omnichannel: event %s of channel %s failed (attempt %s): %s",
                self.provider_event_id,
                self.channel_id.id,
                attempt,
                exc,
            )
            next_date = (
                retry.next_try(fields.Datetime.now(), attempt, RETRY_DELAYS) or False
            )
            self.write(
                {
                    "state": "error",
                    "attempts": attempt,
                    "next_attempt_date": next_date,
                    "error_message": str(exc)[:500] or exc.__class__.__name__,
                    "error_traceback": traceback.format_exc(),
                }
            )
            if next_date:
                self.env.ref(
                    "omnichannel_inbox.ir_cron_process_inbound_events"
                )._trigger(next_date)
            else:
                self.env["omnichannel.alert"]._journal_row_stuck(self)

    def _process_ignored(self, event, final_attempt=False):
        return {"state": "ignored", "note": (event.reason or "")[:255]}

    def _process_message(self, event, final_attempt=False):
        """A customer's message: identity -> conversation -> message -> lead
        -> routing -> notification."""
        channel = self.channel_id
        identity = self.env["omnichannel.identity"]._resolve(
            channel, event.sender, date=_event_datetime(event.date)
        )
        if event.chat_id and identity.chat_id != event.chat_id:
            identity.chat_id = event.chat_id
        card = event.shared_contact
        if card and (card.phone or card.email):
            if card.phone_verified:
                # The sender's own card (Telegram's "share my phone"): a proof.
                identity._link_contact_details(phone=card.phone, phone_verified=True)
            elif not card.user_id:
                # A card that says nobody's account (Viber): maybe the sender's,
                # maybe anyone's - at most a suggestion, the sender unchanged.
                company = channel.company_id
                identity._suggest(
                    phone=identity._sanitize_phone(card.phone, company)
                    if card.phone
                    else False,
                    email=email_normalize(card.email) if card.email else False,
                )
            # A card of another account is a third person: shown as a card
            # in the message (it can be saved as a new contact), nothing more.
        written_email = (
            _single_email(event.text) if not identity.email_normalized else False
        )
        if written_email and not self._is_company_email(written_email):
            # "My email is anna@example.com": kept as what the person claims.
            # Only the first email an identity gives is taken, only when the
            # message holds exactly one address, and never one of ours ("I
            # wrote to sales@...").  A customer who has this email is only
            # suggested (anyone can type an address).
            identity._link_contact_details(email=written_email)
        # The one-time code sent to an email this person claims, typed back.
        self.env["omnichannel.identity.suggestion"]._check_code(identity, event.text)
        if identity.unreachable:
            # Writing again means they can be reached again (unblocked the bot).
            identity.write({"unreachable": False, "unreachable_reason": False})
        if identity.blocked:
            return {"state": "ignored", "note": self.env._("blocked identity")}
        if identity._is_blacklisted():
            return {"state": "ignored", "note": self.env._("blacklisted phone number")}
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            channel, identity
        )
        message = conversation._receive_message(event, final_attempt=final_attempt)
        return {"message_id": message.id, "conversation_id": conversation.id}

    def _process_status(self, event, final_attempt=False):
        message = self.env["omnichannel.message"]._find_by_provider_id(
            self.channel_id, event.message_id
        )
        if not message:
            return {
                "state": "ignored",
                "note": self.env._("status of an unknown message"),
            }
        message._apply_status(
            event.status,
            error_code=event.error_code,
            error_text=event.error_text,
            date=_event_datetime(event.date),
        )
        return {"message_id": message.id, "conversation_id": message.conversation_id.id}

    def _process_subscription(self, event, final_attempt=False):
        identity = (
            self.env["omnichannel.identity"]
            .sudo()
            .search(
                [
                    ("channel_id", "=", self.channel_id.id),
                    ("provider_user_id", "=", event.sender.user_id),
                ],
                limit=1,
            )
        )
        if not identity:
            return {
                "state": "ignored",
                "note": self.env._("subscription change of an unknown person"),
            }
        if event.subscribed:
            identity.write({"unreachable": False, "unreachable_reason": False})
        else:
            identity.write(
                {
                    "unreachable": True,
                    "unreachable_reason": self.env._(
                        "The customer blocked or unsubscribed from this channel."
                    ),
                }
            )
            for conversation in identity.conversation_ids:
                conversation = conversation.with_context(
                    lang=conversation._reader_lang()
                )
                conversation._message_log(
                    body=conversation.env._(
                        "The customer blocked or unsubscribed from %s: messages can no "
                        "longer be sent there.",
                        identity.channel_id.name,
                    )
                )
        return {}

    def _is_company_email(self, email):
        """An address of the company itself: an employee's, a company's, or
        one of its mail alias domains."""
        domain = email.rpartition("@")[2]
        if (
            self.env["mail.alias.domain"]
            .sudo()
            .search_count([("name", "=", domain)], limit=1)
        ):
            return True
        return bool(
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search_count(
                [
                    ("email_normalized", "=", email),
                    "|",
                    ("user_ids.share", "=", False),
                    (
                        "id",
                        "in",
                        self.env["res.company"].sudo().search([]).partner_id.ids,
                    ),
                ],
                limit=1,
            )
        )

    def _process_contact_update(self, event, final_attempt=False):
        """A person the provider told us of without a message (opened the
        Viber chat, subscribed): their identity (and customer) exists from
        now on, without a conversation or a lead until they write."""
        identity = self.env["omnichannel.identity"]._resolve(
            self.channel_id, event.sender, date=_event_datetime(event.date)
        )
        if event.reachable and identity.unreachable:
            identity.write({"unreachable": False, "unreachable_reason": False})
        return {"note": (event.note or "")[:255] or False}

    def _process_call(self, event, final_attempt=False):
        """A phone call event: merged into its call (omnichannel.call)."""
        return self.env["omnichannel.call"]._apply_event(
            self.channel_id, event, final_attempt=final_attempt
        )

    # ------------------------------------------------------------------
    # UTM a message carries (deep links, ads, opt-ins) and the lead's
    # ------------------------------------------------------------------
    def _utm_lead_values(self, event):
        """Lead values (utm records) of the UTM an event carries; unknown
        names are created, as Odoo's own website tracking does."""
        values = {}
        for key, (field, model) in UTM_FIELDS.items():
            name = (getattr(event, key, "") or "").strip()
            if name:
                values[field] = (
                    self.env["utm.mixin"].sudo()._find_or_create_record(model, name).id
                )
        return values

    def _apply_utm(self, lead, values, description=""):
        """A lead already open when the customer came through a link or an
        ad: the campaign is filled when it had none (the first campaign that
        brought the customer stays), and the lead says where they came from."""
        if not lead or not values:
            return
        if not lead.campaign_id:
            lead.sudo().write(
                {
                    k: v
                    for k, v in values.items()
                    if k != "source_id" or not lead.source_id
                }
            )
        names = [
            self.env[model].browse(values[field]).name
            for field, model in UTM_FIELDS.values()
            if values.get(field)
        ]
        lead.sudo()._message_log(
            body=self.env._(
                "The customer came through: %s",
                " / ".join(names + ([description] if description else [])),
            )
        )

    # ------------------------------------------------------------------
    # Cron and actions
    # ------------------------------------------------------------------
    @api.model
    def _cron_process(self):
        # Commit each row's outcome, as crons do (not inside a test's transaction).
        events = self.browse()._process(commit=not modules.module.current_test)
        if len(events) >= CRON_BATCH or (events and self._due_rows_remain()):
            # More to do, or rows journaled while this run was busy whose
            # webhooks left the wake-up to us (see _trigger_processing).
            for cron in self._processor_crons():
                cron._trigger()
        return events

    @api.model
    def _processor_crons(self):
        """The scheduled actions that process the journal in the background:
        the module's two and the copies an administrator made of them (each
        one more processor: Odoo runs one job of an action at a time)."""
        main = self.env.ref("omnichannel_inbox.ir_cron_process_inbound_events").sudo()
        return main | main.search(
            [("model_id", "=", main.model_id.id), ("code", "=", main.code)]
        )

    @api.model
    def _due_rows_remain(self, before_id=None):
        query = """SELECT 1 FROM omnichannel_inbound_event
                    WHERE state = 'pending' AND next_attempt_date <= %s"""
        params = [fields.Datetime.now()]
        if before_id:
            query += " AND id < %s"
            params.append(before_id)
        self.env.cr.execute(query + " LIMIT 1", params)
        return bool(self.env.cr.fetchone())

    @api.model
    def _trigger_processing(self, new_events=None):
        """Wake the cron for ``new_events`` (just journaled and committed).

        A burst of webhooks needs one wake-up, not one each (each is a
        trigger row, a NOTIFY and a cron run): when rows journaled before
        these are still due, their webhook has asked for a wake-up already,
        or the cron has them in hand and looks for due rows again when it
        finishes (_cron_process), after these were committed."""
        keys = set(new_events.mapped("customer_key")) if new_events else set()
        if keys and all(keys) and self._queue_job_channel():
            # OCA's queue_job, when installed and given a channel: a job per
            # customer, run by every Odoo server's job runner (the processors
            # stay the safety net for retries and older rows).
            self._enqueue_customers(sorted(keys))
            return
        if new_events and self._due_rows_remain(before_id=min(new_events.ids)):
            return
        for cron in self._processor_crons():
            cron._trigger()

    def action_retry(self):
        """Run failed (or pending) rows again now, whatever their schedule.
        Unreadable requests are read again (an upgrade may have taught a
        parser their format): their events are journaled and processed at
        once, and the request rows make way for them."""
        if not self.env.user.has_group("omnichannel_inbox.group_omnichannel_admin"):
            raise UserError(
                self.env._("Only Omnichannel administrators can retry journal entries.")
            )
        retry = self.filtered(lambda e: e.state in ("error", "pending", "unreadable"))
        requests = retry.filtered(lambda e: e.event_kind == REQUEST_KIND)
        requests.filtered(lambda e: e.state == "unreadable").sudo().write(
            {"state": "pending"}
        )
        retry.sudo().write({"next_attempt_date": fields.Datetime.now()})
        rows = retry.sudo()._process()
        # Events just read from a request are processed in the same click.
        derived = rows.filtered(lambda e: e.state == "pending")
        derived._process()
        read = requests - requests.exists()
        unreadable = requests.exists().filtered(lambda e: e.state == "unreadable")
        failed = ((retry - requests).exists() | derived).filtered(
            lambda e: e.state == "error"
        )
        next_action = {"type": "ir.actions.client", "tag": "soft_reload"}
        if read:
            next_action = {
                "type": "ir.actions.act_window",
                "name": self.env._("Events read again"),
                "res_model": self._name,
                "views": [(False, "list"), (False, "form")],
                "domain": [("id", "in", derived.ids)],
            }
        problems = []
        if failed:
            problems.append(
                self.env._(
                    "%(count)s event(s) failed again: %(error)s",
                    count=len(failed),
                    error=failed[0].error_message,
                )
            )
        if unreadable:
            problems.append(
                self.env._(
                    "%(count)s request(s) are still unreadable: %(error)s",
                    count=len(unreadable),
                    error=unreadable[0].error_message,
                )
            )
        if problems:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "danger",
                    "sticky": True,
                    "message": " ".join(problems),
                    "next": next_action,
                },
            }
        return next_action


def _customer_key(channel, event):
    """Whose ``event`` of ``channel`` is: its sender's provider user id on
    that channel, or None for an event of nobody in particular (a delivery
    status), which is processed on its own."""
    sender = getattr(event, "sender", None)
    user_id = (getattr(sender, "user_id", "") or "").strip() if sender else ""
    return f"{channel.id}:{user_id}"[:255] if user_id else None


def _event_datetime(timestamp):
    """Provider time (epoch seconds) as Odoo's naive UTC datetime; a missing
    or absurd (future) provider clock falls back to now."""
    now = datetime.utcnow().replace(microsecond=0)
    if not timestamp:
        return now
    try:
        value = datetime.utcfromtimestamp(float(timestamp)).replace(microsecond=0)
    except (OverflowError, OSError, ValueError, TypeError):
        return now
    if value > now + timedelta(minutes=5) or value.year < 2000:
        return now
    return value


#: Customer text scanned for contact details: an address or a number is
#: written near the start of a message, not after 16 KB of something else.
CONTACT_SCAN_CHARS = 16 * 1024
#: What an email address may be made of (odoo.tools.mail.email_re's
#: alphabet); anything else separates words.
_NOT_EMAIL_CHAR = re.compile(r"[^A-Za-z0-9._%+@-]+")
#: RFC 5321: 64 characters of local part, 255 of domain.
_MAX_EMAIL = 64 + 1 + 255


def _emails_in_text(text):
    """Email addresses written in customer text, in linear time.

    odoo.tools.mail.email_re run over a whole message backtracks at every
    start position (`[a-z...]+@`): 64 KB of letters cost ~10 s of CPU.  Here
    the text is bounded, cut into words by one character class (a single
    pass that cannot backtrack), and only words with an "@" and no longer
    than an address can be are matched, so each character is looked at a
    bounded number of times."""
    found = []
    for word in _NOT_EMAIL_CHAR.split((text or "")[:CONTACT_SCAN_CHARS]):
        if "@" in word and len(word) <= _MAX_EMAIL:
            found += email_re.findall(word)
    return found


def _single_email(text):
    """The email address written in a chat message, when there is exactly one."""
    found = {email_normalize(match) for match in _emails_in_text(text)} - {False}
    return found.pop() if len(found) == 1 else False
