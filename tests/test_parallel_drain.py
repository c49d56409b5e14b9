"""Background processing on several workers (issue 16): each processor (a
cron job of any Odoo server on the database) takes the due journal rows a
customer at a time, SKIP LOCKED; no row is handled twice and a customer's
messages are stored in the order they were journaled.

Real connections committing for real, as in tests/test_faults.py."""

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from .test_faults import CommittedCase, sandbox_message


@tagged("post_install", "-at_install")
class TestParallelDrain(CommittedCase):
    def setUp(self):
        super().setUp()
        self.channel_id = self.new_channel("Parallel drain")

    # -- helpers ---------------------------------------------------------------
    def journal(self, messages):
        """Journal ``messages`` [(customer, text)] in this order; their row ids."""
        return self.run_in_env(
            lambda env: (
                env["omnichannel.inbound.event"]
                ._journal(
                    env["omnichannel.channel"].browse(self.channel_id),
                    [sandbox_message(who, text) for who, text in messages],
                )
                .ids
            )
        )

    def drain(self, env):
        # What each processor's cron job does.
        env["omnichannel.inbound.event"]._process(commit=True)

    def stored(self):
        """{customer: [texts in the order their messages were stored]} and
        the journal rows as (id, state, attempts)."""

        def read(env):
            messages = env["omnichannel.message"].search(
                [("channel_id", "=", self.channel_id)], order="id"
            )
            texts = {}
            for message in messages:
                who = message.conversation_id.identity_id.provider_user_id
                texts.setdefault(who, []).append(message.mail_message_id.body)
            rows = env["omnichannel.inbound.event"].search(
                [("channel_id", "=", self.channel_id)], order="id"
            )
            return texts, [(r.id, r.state, r.attempts) for r in rows]

        return self.read_committed(read)

    def assert_in_order(self, texts, expected):
        self.assertEqual(
            {
                who: [str(t).replace("<p>", "").replace("</p>", "") for t in got]
                for who, got in texts.items()
            },
            expected,
        )

    # -- tests -----------------------------------------------------------------
    def test_a_customer_held_by_one_processor_waits_for_it_others_do_not(self):
        who = ["anna", "boris", "vera"]
        self.journal([(who[n % 3], f"{who[n % 3]} {n // 3}") for n in range(15)])
        with self.cursor() as first_cr:
            first = api.Environment(first_cr, SUPERUSER_ID, {})
            batch = first["omnichannel.inbound.event"]._claim_customer_batch()
            self.assertEqual(
                [sandbox for sandbox in batch.mapped("customer_key")],
                [batch[0].customer_key] * 5,
                "one customer's whole queue, the one waiting longest",
            )
            held = batch[0].customer_key.split(":", 1)[1]
            self.assertEqual(held, "anna")

            # A second processor meanwhile drains everyone else...
            self.run_in_env(self.drain)
            texts, rows = self.stored()
            self.assertNotIn("anna", texts, "anna's rows are the first processor's")
            self.assert_in_order(
                texts,
                {
                    "boris": [f"boris {n}" for n in range(5)],
                    "vera": [f"vera {n}" for n in range(5)],
                },
            )
            # ...and anna writes again: neither the webhook (processing in the
            # request) nor the second processor takes it before her earlier
            # messages.
            [late] = self.journal([("anna", "anna 5")])
            self.run_in_env(
                lambda env: (
                    env["omnichannel.inbound.event"].browse(late)._process(commit=True)
                )
            )
            self.run_in_env(self.drain)
            texts, rows = self.stored()
            self.assertNotIn("anna", texts)
            self.assertIn((late, "pending", 0), rows)

            batch._process_batch()
            first_cr.commit()

        self.run_in_env(self.drain)
        texts, rows = self.stored()
        self.assert_in_order(
            texts,
            {
                "anna": [f"anna {n}" for n in range(6)],
                "boris": [f"boris {n}" for n in range(5)],
                "vera": [f"vera {n}" for n in range(5)],
            },
        )
        self.assertEqual(
            {(state, attempts) for _id, state, attempts in rows}, {("done", 1)}
        )

    def test_two_processors_drain_at_once_each_row_once_in_order(self):
        who = [f"customer{n}" for n in range(6)]
        self.journal([(who[n % 6], f"{who[n % 6]} {n // 6}") for n in range(60)])
        # Two processors at once; a hung one or an error fails the test.
        self.in_parallel(self.drain, self.drain, timeout=180)
        texts, rows = self.stored()
        self.assertEqual(
            {(state, attempts) for _id, state, attempts in rows},
            {("done", 1)},
            "every row processed, none twice",
        )
        self.assert_in_order(
            texts, {name: [f"{name} {n}" for n in range(10)] for name in who}
        )

    def test_one_customers_batch_as_a_queue_job_job_runs_it(self):
        """What a queue_job job of one customer does (the job runner calls
        it; queue_job itself is optional and absent here, where the
        processors do the work whatever the channel parameter says)."""
        self.journal(
            [("anna", "anna 0"), ("boris", "boris 0"), ("anna", "anna 1")]
            + [("anna", "anna 2")]
        )
        anna = f"{self.channel_id}:anna"

        def no_queue_job(env):
            env["ir.config_parameter"].set_param(
                "omnichannel_inbox.queue_job_channel", "root.omnichannel"
            )
            self.assertNotIn("queue.job", env)
            self.assertFalse(env["omnichannel.inbound.event"]._queue_job_channel())
            env["ir.config_parameter"].set_param(
                "omnichannel_inbox.queue_job_channel", ""
            )

        self.run_in_env(no_queue_job)
        with self.cursor() as other_cr:
            other = api.Environment(other_cr, SUPERUSER_ID, {})
            held = other["omnichannel.inbound.event"]._claim_customer_batch()
            self.assertEqual(set(held.mapped("customer_key")), {anna})
            # Held by another worker: the job does nothing (and is retried).
            self.assertIsNone(
                self.run_in_env(
                    lambda env: env["omnichannel.inbound.event"]._process_customer(anna)
                )
            )
            other_cr.rollback()
        processed = self.run_in_env(
            lambda env: env["omnichannel.inbound.event"]._process_customer(anna)
        )
        self.assertEqual(processed, 3)
        texts, rows = self.stored()
        self.assert_in_order(texts, {"anna": ["anna 0", "anna 1", "anna 2"]})
        self.assertEqual(
            [state for _id, state, _attempts in rows],
            ["done", "pending", "done", "done"],
        )
