import json
import logging
import time
import traceback
from datetime import datetime, timedelta

from psycopg2 import errors as pg_errors

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import email_normalize
from odoo.tools.mail import email_re

from odoo.addons.omnichannel_inbox import connectors

_logger = logging.getLogger(__name__)

#: Delays between automatic retries of a failed event (then it waits for a
#: person to press Retry; it is never dropped).
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 720)]
#: At most this many events per cron run, the cron re-triggers itself if more.
CRON_BATCH = 200
#: Another worker was handling the same customer at the same moment: the row
#: is run again this many times in a fresh transaction before it counts as a
#: failure (and then waits for the ordinary retry).
CONFLICT_RETRIES = 5
CONCURRENCY_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


class OmnichannelInboundEvent(models.Model):
    """The inbound journal.

    Every event a webhook accepted is stored here, in the webhook's own
    transaction and before anything else happens, unique per (channel,
    provider event id) so that a provider's retry is acknowledged and ignored.
    Processing turns a row into identity, conversation, message, lead; it
    runs right after the journal is committed, or in the cron woken with
    ``_trigger()``.  A failure leaves the row in error with its traceback and
    schedules a retry: what a customer sent is never lost."""
    _name = 'omnichannel.inbound.event'
    _description = 'Inbound Journal Entry'
    _order = 'id desc'
    _rec_name = 'provider_event_id'

    channel_id = fields.Many2one('omnichannel.channel', required=True, ondelete='restrict', index=True, readonly=True)
    channel_type = fields.Selection(related='channel_id.channel_type')
    company_id = fields.Many2one('res.company', readonly=True, index=True)
    provider_event_id = fields.Char('Provider event ID', required=True, readonly=True)
    event_kind = fields.Char('Kind', readonly=True)
    payload = fields.Text(readonly=True, help='The normalized event, as the connector parsed it.')
    state = fields.Selection([
        ('pending', 'Pending'),
        ('done', 'Done'),
        ('ignored', 'Ignored'),
        ('error', 'Error'),
    ], default='pending', required=True, readonly=True, index=True)
    note = fields.Char(readonly=True, help='Why the event was ignored.')
    attempts = fields.Integer(readonly=True)
    next_attempt_date = fields.Datetime(readonly=True, index='btree_not_null')
    received_date = fields.Datetime(readonly=True, default=fields.Datetime.now)
    processed_date = fields.Datetime(readonly=True)
    error_message = fields.Char(readonly=True)
    error_traceback = fields.Text(readonly=True)
    message_id = fields.Many2one('omnichannel.message', string='Message', readonly=True, index='btree_not_null',
                                 ondelete='set null')
    conversation_id = fields.Many2one('omnichannel.conversation', readonly=True, ondelete='set null')

    _provider_event_unique = models.Constraint(
        'UNIQUE(channel_id, provider_event_id)', 'An event is journaled once per channel account.')
    _pending_idx = models.Index("(next_attempt_date, id) WHERE state IN ('pending', 'error')")

    # ------------------------------------------------------------------
    # Journal
    # ------------------------------------------------------------------
    @api.model
    def _journal(self, channel, events):
        """Store ``events`` of ``channel``; return the ids of the new rows.

        ``INSERT .. ON CONFLICT DO NOTHING`` makes a provider's retry (same
        event id) a no-op even when two deliveries race."""
        ids = []
        now = fields.Datetime.now()
        uid = self.env.uid
        for event in events:
            payload = connectors.event_to_dict(event)
            self.env.cr.execute("""
                INSERT INTO omnichannel_inbound_event
                    (channel_id, company_id, provider_event_id, event_kind, payload, state, attempts,
                     received_date, next_attempt_date, create_uid, create_date, write_uid, write_date)
                VALUES (%s, %s, %s, %s, %s, 'pending', 0, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (channel_id, provider_event_id) DO NOTHING
                RETURNING id
            """, [channel.id, channel.company_id.id, str(event.event_id)[:255], event.kind,
                  json.dumps(payload, ensure_ascii=False), now, now, uid, now, uid, now])
            row = self.env.cr.fetchone()
            if row:
                ids.append(row[0])
        return self.browse(ids)

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------
    @api.model
    def _inline_processing(self):
        return not self.env['ir.config_parameter'].sudo().get_param('omnichannel_inbox.deferred_processing')

    def _claim(self, limit=None):
        """Lock the processable rows among ``self`` (or all due rows when
        ``self`` is empty).  SKIP LOCKED: two workers never take the same
        row, and neither waits for the other."""
        self.flush_model(['state', 'next_attempt_date'])
        query = """
            SELECT id FROM omnichannel_inbound_event
             WHERE state IN ('pending', 'error')
               AND next_attempt_date IS NOT NULL AND next_attempt_date <= %s
        """
        params = [fields.Datetime.now()]
        if self:
            query += " AND id IN %s"
            params.append(tuple(self.ids))
        query += " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
        params.append(limit or CRON_BATCH)
        self.env.cr.execute(query, params)
        return self.browse([r[0] for r in self.env.cr.fetchall()])

    def _process(self, commit=False):
        """Process the rows of ``self`` that are due and not taken by another
        worker.  Each row runs in its own savepoint: one failure does not
        undo the others.  With ``commit``, each row's outcome is committed
        (cron, webhook after its journal commit), and a row that ran into
        another worker handling the same customer is run again in a fresh
        transaction, which sees what that worker committed."""
        done = self.browse()
        for event in self._claim(limit=max(len(self), 1) if self else None):
            if commit and done:
                # The previous commit released the row locks of the claim:
                # take this row again, unless another worker has taken it.
                event = event._claim(limit=1)
                if not event:
                    continue
            for retry in range(CONFLICT_RETRIES + 1):
                try:
                    event._process_one(raise_conflicts=commit and retry < CONFLICT_RETRIES)
                    break
                except CONCURRENCY_ERRORS:
                    self.env.cr.rollback()
                    time.sleep(0.05 * (retry + 1))
                    event = event._claim(limit=1)
                    if not event:
                        break
            if not event:
                continue
            done |= event
            if commit:
                self.env.cr.commit()
        return done

    def _process_one(self, raise_conflicts=False):
        self.ensure_one()
        attempt = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                event = connectors.event_from_dict(json.loads(self.payload))
                result = getattr(self, '_process_%s' % event.kind)(event, final_attempt=attempt > len(RETRY_DELAYS))
                vals = {'state': 'done', 'attempts': attempt, 'processed_date': fields.Datetime.now(),
                        'next_attempt_date': False, 'error_message': False, 'error_traceback': False}
                vals.update(result or {})
                self.write(vals)
        except Exception as exc:  # noqa: BLE001 - any failure is kept on the row, never lost
            if raise_conflicts and isinstance(exc, CONCURRENCY_ERRORS):
                raise
            _logger.warning('Omnichannel: event %s of channel %s failed (attempt %s): %s',
                            self.provider_event_id, self.channel_id.id, attempt, exc)
            delay = RETRY_DELAYS[attempt - 1] if attempt <= len(RETRY_DELAYS) else None
            next_date = fields.Datetime.now() + delay if delay else False
            self.write({
                'state': 'error',
                'attempts': attempt,
                'next_attempt_date': next_date,
                'error_message': str(exc)[:500] or exc.__class__.__name__,
                'error_traceback': traceback.format_exc(),
            })
            if next_date:
                self.env.ref('omnichannel_inbox.ir_cron_process_inbound_events')._trigger(next_date)
            else:
                self.env['omnichannel.alert']._journal_row_stuck(self)

    def _process_ignored(self, event, final_attempt=False):
        return {'state': 'ignored', 'note': (event.reason or '')[:255]}

    def _process_message(self, event, final_attempt=False):
        """A customer's message: identity -> conversation -> message -> lead
        -> routing -> notification."""
        channel = self.channel_id
        identity = self.env['omnichannel.identity']._resolve(
            channel, event.sender, date=_event_datetime(event.date))
        if event.chat_id and identity.chat_id != event.chat_id:
            identity.chat_id = event.chat_id
        if event.shared_contact and (event.shared_contact.phone or event.shared_contact.email):
            identity._link_contact_details(phone=event.shared_contact.phone, email=event.shared_contact.email)
        written_email = _single_email(event.text) if not identity.email_normalized else False
        if written_email and not self._is_company_email(written_email):
            # "My email is anna@example.com": the chat joins the customer's
            # email history.  Only the first email an identity gives is taken,
            # only when the message holds exactly one address, and never one
            # of ours ("I wrote to sales@...").
            identity._link_contact_details(email=written_email)
        if identity.unreachable:
            # Writing again means they can be reached again (unblocked the bot).
            identity.write({'unreachable': False, 'unreachable_reason': False})
        if identity.blocked:
            return {'state': 'ignored', 'note': self.env._('blocked identity')}
        if identity._is_blacklisted():
            return {'state': 'ignored', 'note': self.env._('blacklisted phone number')}
        conversation = self.env['omnichannel.conversation']._get_for_identity(channel, identity)
        message = conversation._receive_message(event, final_attempt=final_attempt)
        return {'message_id': message.id, 'conversation_id': conversation.id}

    def _process_status(self, event, final_attempt=False):
        message = self.env['omnichannel.message'].sudo().search(
            [('channel_id', '=', self.channel_id.id), ('provider_message_id', '=', event.message_id)], limit=1)
        if not message:
            return {'state': 'ignored', 'note': self.env._('status of an unknown message')}
        message._apply_status(event.status, error_code=event.error_code, error_text=event.error_text,
                              date=_event_datetime(event.date))
        return {'message_id': message.id, 'conversation_id': message.conversation_id.id}

    def _process_subscription(self, event, final_attempt=False):
        identity = self.env['omnichannel.identity'].sudo().search(
            [('channel_id', '=', self.channel_id.id), ('provider_user_id', '=', event.sender.user_id)], limit=1)
        if not identity:
            return {'state': 'ignored', 'note': self.env._('subscription change of an unknown person')}
        if event.subscribed:
            identity.write({'unreachable': False, 'unreachable_reason': False})
        else:
            identity.write({'unreachable': True,
                            'unreachable_reason': self.env._('The customer blocked or unsubscribed from this channel.')})
            for conversation in identity.conversation_ids:
                conversation._message_log(body=self.env._(
                    'The customer blocked or unsubscribed from %s: messages can no longer be sent there.',
                    identity.channel_id.name))
        return {}

    def _is_company_email(self, email):
        """An address of the company itself: an employee's, a company's, or
        one of its mail alias domains."""
        domain = email.rpartition('@')[2]
        if self.env['mail.alias.domain'].sudo().search_count([('name', '=', domain)], limit=1):
            return True
        return bool(self.env['res.partner'].sudo().with_context(active_test=False).search_count([
            ('email_normalized', '=', email),
            '|', ('user_ids.share', '=', False), ('id', 'in', self.env['res.company'].sudo().search([]).partner_id.ids),
        ], limit=1))

    def _process_contact_update(self, event, final_attempt=False):
        """A person the provider told us of without a message (opened the
        Viber chat, subscribed): their identity (and customer) exists from
        now on, without a conversation or a lead until they write."""
        identity = self.env['omnichannel.identity']._resolve(
            self.channel_id, event.sender, date=_event_datetime(event.date))
        if event.reachable and identity.unreachable:
            identity.write({'unreachable': False, 'unreachable_reason': False})
        return {'note': (event.note or '')[:255] or False}
    def _process_call(self, event, final_attempt=False):
        """A phone call event: merged into its call (omnichannel.call)."""
        return self.env['omnichannel.call']._apply_event(self.channel_id, event, final_attempt=final_attempt)

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
            self.env.ref('omnichannel_inbox.ir_cron_process_inbound_events')._trigger()
        return events

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
        if new_events and self._due_rows_remain(before_id=min(new_events.ids)):
            return
        self.env.ref('omnichannel_inbox.ir_cron_process_inbound_events').sudo()._trigger()

    def action_retry(self):
        """Run failed (or pending) rows again now, whatever their schedule."""
        if not self.env.user.has_group('omnichannel_inbox.group_omnichannel_admin'):
            raise UserError(self.env._('Only Omnichannel administrators can retry journal entries.'))
        retry = self.filtered(lambda e: e.state in ('error', 'pending'))
        retry.sudo().write({'next_attempt_date': fields.Datetime.now()})
        retry.sudo()._process()
        failed = retry.filtered(lambda e: e.state == 'error')
        if failed:
            return {
                'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'type': 'danger', 'sticky': True,
                           'message': self.env._('%(count)s event(s) failed again: %(error)s',
                                                 count=len(failed), error=failed[0].error_message),
                           'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}},
            }
        return {'type': 'ir.actions.client', 'tag': 'soft_reload'}


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


def _single_email(text):
    """The email address written in a chat message, when there is exactly one."""
    found = {email_normalize(match) for match in email_re.findall(text or '')} - {False}
    return found.pop() if len(found) == 1 else False
