"""Faults: concurrent workers, killed workers, out-of-order deliveries.

The concurrency tests need what production has: several database
connections, each in its own transaction, committing for real.  A
TransactionCase shares one cursor between everything, so these tests use
their own connections (and remove what they committed afterwards)."""

import json
import random
import threading
import time
import uuid

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.orm.registry import DummyRLock
from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user


def sandbox_message(session, text, phone="", name="Marina", phone_verified=False):
    return connectors.InboundMessage(
        event_id=f"ev-{uuid.uuid4().hex}",
        message_id=f"msg-{uuid.uuid4().hex}",
        sender=connectors.Contact(
            user_id=session, name=name, phone=phone, phone_verified=phone_verified
        ),
        chat_id=session,
        date=time.time(),
        text=text,
    )


class CommittedCase(BaseCase):
    """Workers with database connections of their own, each committing for
    real (also tests/test_parallel_drain.py); channels made with
    ``new_channel`` and all that came through them are removed after the
    test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = get_db_name()
        cls.registry = Registry(cls.dbname)

    def setUp(self):
        super().setUp()
        self.channel_ids = []
        self.addCleanup(self._remove_committed_data)
        # The test runner's thread holds the registry lock while tests run;
        # worker threads opening environments would wait for it forever.
        # Odoo's own HttpCase lifts it the same way for its server threads.
        self.patch(Registry, "_lock", DummyRLock())

    # -- helpers ---------------------------------------------------------------
    def cursor(self):
        # A real connection of its own, as a worker has (not the test cursor).
        return db_connect(self.dbname).cursor()

    def run_in_env(self, func):
        with self.cursor() as cr:
            result = func(api.Environment(cr, SUPERUSER_ID, {}))
            cr.commit()
            return result

    def new_channel(self, name, channel_type="sandbox", **vals):
        def create(env):
            env.company.country_id = env.ref("base.ru")
            return (
                env["omnichannel.channel"]
                .create(dict(vals, name=name, channel_type=channel_type))
                .id
            )

        channel_id = self.run_in_env(create)
        self.channel_ids.append(channel_id)
        return channel_id

    def in_parallel(self, *workers, timeout=120):
        """Run each ``worker(env)`` in its own thread and transaction, all
        released at the same moment; re-raise the first error."""
        barrier = threading.Barrier(len(workers))
        errors = []

        def run(worker):
            try:
                with self.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    barrier.wait(timeout=30)
                    worker(env)
                    cr.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=timeout)
        self.assertFalse([t for t in threads if t.is_alive()], "a worker hung")
        if errors:
            raise errors[0]

    def _remove_committed_data(self):
        def remove(env):
            channels = (
                env["omnichannel.channel"]
                .with_context(active_test=False)
                .browse(self.channel_ids)
                .exists()
            )
            conversations = (
                env["omnichannel.conversation"]
                .with_context(active_test=False)
                .search([("channel_id", "in", channels.ids)])
            )
            identities = env["omnichannel.identity"].search(
                [("channel_id", "in", channels.ids)]
            )
            partners = identities.partner_id | conversations.partner_id
            leads = (
                env["crm.lead"]
                .with_context(active_test=False)
                .search([("partner_id", "in", partners.ids)])
            )
            env["omnichannel.inbound.event"].search(
                [("channel_id", "in", channels.ids)]
            ).unlink()
            env["omnichannel.message"].search(
                [("channel_id", "in", channels.ids)]
            ).unlink()
            conversations.unlink()
            leads.unlink()
            identities.unlink()
            partners.unlink()
            channels.unlink()

        self.run_in_env(remove)

    def read_committed(self, func):
        with self.cursor() as cr:
            return func(api.Environment(cr, SUPERUSER_ID, {}))


@tagged("post_install", "-at_install")
class TestConcurrentWorkers(CommittedCase):
    """Several workers on one journal, each with its own committed transaction."""

    def journal(self, channel_id, events):
        return self.run_in_env(
            lambda env: (
                env["omnichannel.inbound.event"]
                ._journal(env["omnichannel.channel"].browse(channel_id), events)
                .ids
            )
        )

    def process_in_parallel(self, *row_id_lists):
        """Process each list of journal rows in its own worker, at once."""

        def process(row_ids):
            return lambda env: (
                env["omnichannel.inbound.event"].browse(row_ids)._process(commit=True)
            )

        self.in_parallel(*(process(row_ids) for row_ids in row_id_lists))

    def assert_all_done(self, env, row_ids):
        """Every journal row of ``row_ids`` was processed (state "done"); a
        failure lists each row's state and error."""
        rows = env["omnichannel.inbound.event"].browse(row_ids)
        self.assertEqual(
            set(rows.mapped("state")),
            {"done"},
            [(r.state, r.error_message) for r in rows],
        )

    # -- tests -----------------------------------------------------------------
    def test_two_workers_never_handle_a_row_twice(self):
        channel_id = self.new_channel("Two workers")
        events = [
            sandbox_message("visitor-%s" % (i % 7), f"message {i}") for i in range(30)
        ]
        row_ids = self.journal(channel_id, events)
        self.assertEqual(len(row_ids), 30)

        def worker(env):
            # What the cron of each Odoo worker does: take the due rows, commit each.
            env["omnichannel.inbound.event"]._process(commit=True)

        self.in_parallel(worker, worker)

        def check(env):
            rows = env["omnichannel.inbound.event"].browse(row_ids)
            self.assertEqual(
                set(rows.mapped("state")),
                {"done"},
                [(r.id, r.state, r.error_message) for r in rows],
            )
            self.assertEqual(
                set(rows.mapped("attempts")), {1}, "no row was handled twice"
            )
            messages = env["omnichannel.message"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertEqual(len(messages), 30, "each message stored once")
            self.assertEqual(len(set(messages.mapped("provider_message_id"))), 30)
            conversations = env["omnichannel.conversation"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertEqual(len(conversations), 7, "one conversation per visitor")
            self.assertEqual(len(conversations.partner_id), 7)
            self.assertEqual(len(conversations.lead_id), 7, "one lead per visitor")

        self.read_committed(check)

    def test_first_messages_on_two_channels_at_once_make_one_customer(self):
        """The same new customer writes on two channels at the same moment
        (a phone number the providers vouch for on both, as WhatsApp and an
        SMS do): one partner, one lead, two identities."""
        first, second = self.new_channel("Shop chat A"), self.new_channel("Shop chat B")
        phone = (
            f"+7 912 {random.randrange(1000):03d}"
            f"-{random.randrange(100):02d}-{random.randrange(100):02d}"
        )
        rows_a = self.journal(
            first,
            [
                sandbox_message(
                    "anna-a",
                    "Hello from A",
                    phone=phone,
                    name="Anna",
                    phone_verified=True,
                )
            ],
        )
        rows_b = self.journal(
            second,
            [
                sandbox_message(
                    "anna-b",
                    "Hello from B",
                    phone=phone,
                    name="Anna",
                    phone_verified=True,
                )
            ],
        )

        self.process_in_parallel(rows_a, rows_b)

        def check(env):
            self.assert_all_done(env, rows_a + rows_b)
            identities = env["omnichannel.identity"].search(
                [("channel_id", "in", [first, second])]
            )
            self.assertEqual(len(identities), 2)
            self.assertEqual(
                len(identities.partner_id), 1, "one partner for one customer"
            )
            partner = identities.partner_id
            self.assertEqual(
                env["res.partner"].search_count(
                    [("phone_sanitized", "=", partner.phone_sanitized)]
                ),
                1,
            )
            leads = env["crm.lead"].search([("partner_id", "=", partner.id)])
            self.assertEqual(len(leads), 1, "one lead for one customer")
            conversations = env["omnichannel.conversation"].search(
                [("channel_id", "in", [first, second])]
            )
            self.assertEqual(
                conversations.lead_id, leads, "both conversations feed the same lead"
            )

        self.read_committed(check)

    def test_same_event_delivered_at_once_is_acknowledged_each_time_and_stored_once(
        self,
    ):
        """A provider delivers one event N times at the same moment (its
        retry overtakes the first delivery): N acknowledgements, one journal
        row, one message.  Each delivery's transaction began before any of
        them journaled, as a request's does when it looks its channel up."""
        channel_id = self.new_channel("Same event at once")
        body = json.dumps(
            {
                "event_id": f"ev-at-once-{uuid.uuid4().hex}",
                "session": "vera",
                "name": "Vera",
                "text": "One sofa, please",
            }
        ).encode()
        deliveries = 4
        barrier = threading.Barrier(deliveries)
        answers, errors = [], []

        def deliver():
            try:
                with self.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    channel = env["omnichannel.channel"].browse(channel_id)
                    connector = channel._get_connector()
                    env["omnichannel.inbound.event"].search_count(
                        [("channel_id", "=", channel_id)]
                    )
                    barrier.wait(timeout=30)
                    answers.append(
                        env["omnichannel.inbound.event"]._receive(
                            channel, connector, body
                        )
                    )
                    cr.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        with self.assertNoLogs(
            "odoo.addons.omnichannel_inbox.models.omnichannel_inbound_event", "ERROR"
        ):
            threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        self.assertFalse(errors, errors)
        self.assertEqual(
            [(a.status, a.body) for a in answers],
            [(200, "ok")] * deliveries,
            "every delivery is acknowledged",
        )

        def check(env):
            rows = env["omnichannel.inbound.event"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertEqual(
                rows.mapped("event_kind"),
                ["message"],
                "stored once, no request row left",
            )
            self.assertEqual((rows.state, rows.attempts), ("done", 1))
            self.assertEqual(
                env["omnichannel.message"].search_count(
                    [("channel_id", "=", channel_id)]
                ),
                1,
            )

        self.read_committed(check)

    def test_cron_claims_rows_processed_after_its_snapshot(self):
        """The cron's transaction began (its snapshot sees three due rows);
        meanwhile a webhook processes the first one and commits.  The cron
        neither fails ("could not serialize access": repeated failures
        deactivate it) nor handles that row again; it takes the others."""
        channel_id = self.new_channel("Cron snapshot")
        for commit in (False, True):
            row_ids = self.journal(
                channel_id,
                [
                    sandbox_message(f"lev-{commit}-{n}", f"message {n}")
                    for n in range(3)
                ],
            )
            with self.cursor() as cron_cr:
                env = api.Environment(cron_cr, SUPERUSER_ID, {})
                Journal = env["omnichannel.inbound.event"]
                self.assertEqual(
                    Journal.search_count(
                        [("id", "in", row_ids), ("state", "=", "pending")]
                    ),
                    3,
                )
                self.run_in_env(
                    lambda env2, row_ids=row_ids: (
                        env2["omnichannel.inbound.event"]
                        .browse(row_ids[0])
                        ._process(commit=True)
                    )
                )
                if commit:
                    Journal.browse()._process(commit=True)
                else:
                    Journal._cron_process()  # within a test: without its commits
                cron_cr.commit()

            def check(env, row_ids=row_ids):
                rows = env["omnichannel.inbound.event"].browse(row_ids)
                self.assertEqual(
                    rows.mapped("state"),
                    ["done"] * 3,
                    [(r.state, r.error_message) for r in rows],
                )
                self.assertEqual(
                    rows.mapped("attempts"), [1] * 3, "no row was handled twice"
                )

            self.read_committed(check)

    def test_request_journaled_by_a_dead_webhook_is_read_by_the_cron(self):
        """A webhook journaled a body and died before reading it (its
        provider got no answer): the cron reads it once its webhook's grace
        is over, and the message is stored once, the request row gone."""
        channel_id = self.new_channel("Dead webhook")
        body = json.dumps(
            {
                "event_id": f"ev-dead-{uuid.uuid4().hex}",
                "session": "gleb",
                "name": "Gleb",
                "text": "Is the grey sofa in stock?",
            }
        ).encode()

        def journal_only(env):
            channel = env["omnichannel.channel"].browse(channel_id)
            return (
                env["omnichannel.inbound.event"]
                ._journal_request(channel, channel._get_connector(), body)
                .id
            )

        request_id = self.run_in_env(journal_only)
        self.run_in_env(lambda env: env["omnichannel.inbound.event"]._cron_process())
        self.assertEqual(
            self.read_committed(
                lambda env: env["omnichannel.inbound.event"].browse(request_id).state
            ),
            "pending",
            "within the grace the request is its webhook's",
        )
        # A minute and more later.
        self.run_in_env(
            lambda env: env.cr.execute(
                "UPDATE omnichannel_inbound_event SET next_attempt_date = now() at "
                "time zone 'UTC' - interval '1 minute' "
                "WHERE id = %s",
                [request_id],
            )
        )
        self.run_in_env(lambda env: env["omnichannel.inbound.event"]._cron_process())
        self.run_in_env(lambda env: env["omnichannel.inbound.event"]._cron_process())

        def check(env):
            self.assertFalse(
                env["omnichannel.inbound.event"].browse(request_id).exists()
            )
            rows = env["omnichannel.inbound.event"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertEqual((rows.event_kind, rows.state), ("message", "done"))
            message = env["omnichannel.message"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertIn("grey sofa", message.body)

    def test_one_telegram_user_on_two_bots_at_once_is_one_customer_with_one_lead(self):
        """Telegram user ids are global: the same person writing to two bots
        of the company at the same moment is one partner with one lead."""
        bot_a = self.new_channel("Bot A", "telegram", token="1:A")
        bot_b = self.new_channel("Bot B", "telegram", token="2:B")
        user = str(random.randrange(10**9, 10**10))
        rows_a = self.journal(
            bot_a, [sandbox_message(user, "Hello bot A", name="Anna")]
        )
        rows_b = self.journal(
            bot_b, [sandbox_message(user, "Hello bot B", name="Anna")]
        )

        self.process_in_parallel(rows_a, rows_b)

        def check(env):
            self.assert_all_done(env, rows_a + rows_b)
            identities = env["omnichannel.identity"].search(
                [("channel_id", "in", [bot_a, bot_b])]
            )
            self.assertEqual(len(identities), 2, "one identity per bot")
            self.assertEqual(len(identities.partner_id), 1, "one customer")
            leads = env["crm.lead"].search(
                [("partner_id", "=", identities.partner_id.id)]
            )
            self.assertEqual(len(leads), 1, "one lead")
            self.assertEqual(identities.conversation_ids.lead_id, leads)

        self.read_committed(check)

    def test_won_customer_on_two_channels_at_once_gets_one_new_lead(self):
        """A customer whose deal was won writes on two channels at the same
        moment: exactly one new lead, fed by both conversations."""
        first, second = self.new_channel("Won A"), self.new_channel("Won B")
        tag = uuid.uuid4().hex[:8]

        def prepare(env):
            Channel, Identity = env["omnichannel.channel"], env["omnichannel.identity"]
            partner = env["res.partner"].create({"name": f"Won customer {tag}"})
            for channel_id, session in (
                (first, f"won-a-{tag}"),
                (second, f"won-b-{tag}"),
            ):
                Identity._resolve(
                    Channel.browse(channel_id),
                    connectors.Contact(user_id=session, name="Boris"),
                    partner=partner,
                )
            won = env["crm.lead"].create(
                {
                    "name": f"First deal {tag}",
                    "partner_id": partner.id,
                    "type": "opportunity",
                }
            )
            won.action_set_won()
            return partner.id, won.id

        partner_id, won_id = self.run_in_env(prepare)
        rows_a = self.journal(
            first,
            [sandbox_message(f"won-a-{tag}", "More chairs, please", name="Boris")],
        )
        rows_b = self.journal(
            second,
            [sandbox_message(f"won-b-{tag}", "And a table", name="Boris")],
        )

        self.process_in_parallel(rows_a, rows_b)

        def check(env):
            self.assert_all_done(env, rows_a + rows_b)
            leads = (
                env["crm.lead"]
                .with_context(active_test=False)
                .search([("partner_id", "=", partner_id)])
            )
            new = leads.filtered(lambda lead: lead.id != won_id)
            self.assertEqual(len(new), 1, "exactly one new lead")
            self.assertEqual(new.won_status, "pending")
            conversations = env["omnichannel.conversation"].search(
                [("channel_id", "in", [first, second])]
            )
            self.assertEqual(conversations.lead_id, new, "both conversations feed it")

        self.read_committed(check)

    def test_killed_worker_leaves_the_row_to_the_next_one(self):
        """A worker dies in the middle of processing (its connection is cut):
        nothing it did remains, and the next worker processes the row once."""
        channel_id = self.new_channel("Killed worker")
        row_ids = self.journal(
            channel_id,
            [sandbox_message("oleg", "Do you deliver to Kazan?", name="Oleg")],
        )
        victim = self.cursor()
        try:
            env = api.Environment(victim, SUPERUSER_ID, {})
            claimed = env["omnichannel.inbound.event"].browse(row_ids)._claim()
            self.assertEqual(claimed.ids, row_ids)
            # Half-way: the identity and its partner exist in its transaction.
            env["omnichannel.identity"]._resolve(
                env["omnichannel.channel"].browse(channel_id),
                connectors.Contact(user_id="oleg", name="Oleg"),
            )
            env.flush_all()
            victim.execute("SELECT pg_backend_pid()")
            pid = victim.fetchone()[0]
            # Meanwhile the row is taken: another worker skips it.
            self.assertFalse(
                self.read_committed(
                    lambda env2: (
                        env2["omnichannel.inbound.event"].browse(row_ids)._claim()
                    )
                )
            )
            self.read_committed(
                lambda env2: env2.cr.execute("SELECT pg_terminate_backend(%s)", [pid])
            )
        finally:
            try:
                victim.close()
            except Exception:  # noqa: BLE001 - its connection is gone, as intended
                pass

        self.assertEqual(
            self.read_committed(
                lambda env: env["omnichannel.identity"].search_count(
                    [("channel_id", "=", channel_id)]
                )
            ),
            0,
            "nothing half-done remains",
        )
        self.run_in_env(
            lambda env: env["omnichannel.inbound.event"]._process(commit=True)
        )

        def check(env):
            row = env["omnichannel.inbound.event"].browse(row_ids)
            self.assertEqual((row.state, row.attempts), ("done", 1))
            messages = env["omnichannel.message"].search(
                [("channel_id", "=", channel_id)]
            )
            self.assertEqual(len(messages), 1)
            self.assertIn("Kazan", messages.body)
            self.assertTrue(messages.lead_id)

        self.read_committed(check)


@tagged("post_install", "-at_install")
class TestDeliveryOrder(OmnichannelHttpCase):
    """Providers retry and deliver out of order: the history follows the
    provider's timestamps, and a retry adds nothing."""

    def setUp(self):
        super().setUp()
        self.channel = self._create_channel(
            "telegram",
            name="Order bot",
            token="77:ORDER",
            webhook_secret="order-secret",
        )

    def send(self, update):
        response = self.post_webhook(
            self.channel,
            update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "order-secret"},
        )
        self.assertEqual(response.status_code, 200)

    def test_out_of_order_and_retried_updates(self):
        user = tg_user(880001, first_name="Pavel")
        now = int(time.time())
        first = tg_update(901, user=user, text="1. I need a sofa", date=now - 120)
        second = tg_update(902, user=user, text="2. Grey, 2 metres", date=now - 60)
        third = tg_update(903, user=user, text="3. Delivery on Friday?", date=now)
        for update in (third, first, second, first, third):  # reversed, then retried
            self.send(update)
        Message = self.env["omnichannel.message"].sudo()
        messages = Message.search([("channel_id", "=", self.channel.id)])
        self.assertEqual(len(messages), 3, "retries are not stored twice")
        lead = messages.conversation_id.lead_id
        history = Message.panel_fetch("crm.lead", lead.id)["messages"]
        texts = [
            m["body"] for m in reversed(history)
        ]  # the panel shows oldest -> newest
        self.assertEqual(len(texts), 3)
        for position, expected in enumerate(
            ("1. I need a sofa", "2. Grey, 2 metres", "3. Delivery on Friday?")
        ):
            self.assertIn(expected, texts[position])
        self.assertEqual(
            messages.conversation_id.last_customer_message_date,
            max(messages.mapped("date")),
            "the latest message by time is the last one",
        )


@tagged("post_install", "-at_install")
class TestBurstWakeUp(OmnichannelHttpCase):
    """Processing in the background: a burst of webhooks wakes the cron
    once, and nothing journaled meanwhile is left waiting."""

    def setUp(self):
        super().setUp()
        self.channel = self._create_channel(
            "telegram", name="Burst bot", token="78:BURST", webhook_secret="burst"
        )
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "True"
        )
        self.cron = self.env.ref("omnichannel_inbox.ir_cron_process_inbound_events")
        self.Journal = self.env["omnichannel.inbound.event"].sudo()

    def wake_ups(self):
        return (
            self.env["ir.cron.trigger"]
            .sudo()
            .search_count([("cron_id", "=", self.cron.id)])
        )

    def send(self, update_id):
        response = self.post_webhook(
            self.channel,
            tg_update(
                update_id,
                user=tg_user(880100 + update_id % 3),
                text=f"burst {update_id}",
            ),
            headers={"X-Telegram-Bot-Api-Secret-Token": "burst"},
        )
        self.assertEqual(response.status_code, 200)

    def test_one_wake_up_per_burst_and_nothing_left_behind(self):
        self.env["ir.cron.trigger"].sudo().search(
            [("cron_id", "=", self.cron.id)]
        ).unlink()
        for update_id in range(1, 6):
            self.send(update_id)
        rows = self.Journal.search([("channel_id", "=", self.channel.id)])
        self.assertEqual(set(rows.mapped("state")), {"pending"})
        self.assertEqual(len(rows), 5)
        self.assertEqual(
            self.wake_ups(),
            1,
            "the first webhook of the burst woke the cron; the others did not",
        )

        # The cron runs; everything due is stored, and it does not wake itself for
        # nothing.
        self.env["ir.cron.trigger"].sudo().search(
            [("cron_id", "=", self.cron.id)]
        ).unlink()
        self.Journal._cron_process()
        self.assertEqual(set(rows.mapped("state")), {"done"})
        self.assertEqual(
            self.env["omnichannel.message"]
            .sudo()
            .search_count([("channel_id", "=", self.channel.id)]),
            5,
        )
        self.assertEqual(self.wake_ups(), 0)

        # A webhook arriving while the cron is busy with an earlier row
        # (that row is still pending) leaves the wake-up to the cron, which
        # finds the new row when it finishes its run.
        self.send(10)
        busy_with = self.Journal.search(
            [("channel_id", "=", self.channel.id), ("state", "=", "pending")]
        )
        self.env["ir.cron.trigger"].sudo().search(
            [("cron_id", "=", self.cron.id)]
        ).unlink()
        self.send(11)
        self.assertEqual(
            self.wake_ups(), 0, "an earlier row is still due: no second wake-up"
        )
        busy_with._process()  # the cron's run, which had only the earlier row
        self.assertTrue(self.Journal._due_rows_remain())
        self.Journal._cron_process()
        self.assertEqual(
            set(
                self.Journal.search([("channel_id", "=", self.channel.id)]).mapped(
                    "state"
                )
            ),
            {"done"},
        )
