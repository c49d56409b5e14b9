"""What one inbound message costs the database (issue 16).

A customer's message is processed by the journal (``_process``), inside the
webhook request or in the background.  Its cost is counted in SQL queries on
the real flow: a Telegram update through the real webhook (background mode,
so that the journal row waits), then the journal's processing of that row,
as the cron or the request runs it.  A budget that someone exceeds by adding
a recompute, a tracking value, a second bus notification or a read per
message fails here, with the queries listed."""

import collections
import os
import time
import traceback

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Budgets are the cost measured when they were set (issue 16 aims at 15 and
# 40: not met, see docs/benchmarks.rst for where the queries still go - most
# are Odoo's own message_post, lead creation and assignment emails).  Raise
# one only with a reason in the commit that does it.
#: Queries of the journal's processing of one message joining an open,
#: assigned conversation (identity, message, conversation bookkeeping,
#: SLA, follow-ups, the inbox notification, the row's outcome).
JOINING_BUDGET = 31
#: The same for a customer never seen before (partner, identity,
#: conversation, lead, message, assignment).
NEW_CUSTOMER_BUDGET = 114
#: The whole webhook request of a joining message in the default mode.
WEBHOOK_JOINING_BUDGET = 51
#: Added to each budget: how warm Odoo's caches are after the tests that
#: ran before (the whole suite vs this class alone) moves a message's cost
#: by a few queries (131 to 136 for the same new customer, 39 to 44 for the
#: same joining message), which is not what a budget guards against.  Each
#: measured message is dated a second after the previous one (see _update).
CACHE_MARGIN = 8


class QueryRecorder:
    """The SQL a block runs on ``cr``, with where in the addon it came from."""

    def __init__(self, cr):
        self.cr = cr
        self.queries = []

    def __enter__(self):
        self._execute = self.cr.execute
        recorder = self

        def execute(query, params=None, log_exceptions=True):
            recorder.queries.append((str(query), _caller()))
            return recorder._execute(query, params, log_exceptions)

        self.cr.execute = execute
        self.start = self.cr.sql_log_count
        return self

    def __exit__(self, *exc):
        del self.cr.execute
        self.count = self.cr.sql_log_count - self.start

    def report(self):
        by_caller = collections.Counter(caller for _q, caller in self.queries)
        lines = [f"{n:3d}  {caller}" for caller, n in by_caller.most_common()]
        lines += ["", *(f"{caller}: {q[:160]}" for q, caller in self.queries)]
        return "\n".join(lines)


def _caller():
    """The innermost frame of the addon (models/controllers) on the stack."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if (
            "omnichannel_inbox" in frame.filename
            and f"{os.sep}tests{os.sep}" not in frame.filename
        ):
            return f"{os.path.basename(frame.filename)}:{frame.lineno} {frame.name}"
    return "odoo"


@tagged("post_install", "-at_install")
class TestPipelineCost(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.salesperson, self.team = self._team_on_duty("Cost team", "cost_sales")
        self.channel = self._telegram_bot(name="Cost bot", team_id=self.team.id)
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "True"
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.update_id = 1000
        self.message_date = int(time.time())

    def _update(self, user, text):
        """The next Telegram update of ``user``, dated at least a second after
        the previous one: a message in the same second as the one before
        leaves the conversation's dates unchanged and costs two UPDATEs less,
        which made the measure depend on the clock."""
        self.update_id += 1
        self.message_date = max(int(time.time()), self.message_date + 1)
        return tg_update(self.update_id, user=user, text=text, date=self.message_date)

    def _journaled(self, user, text):
        """A Telegram update through the real webhook, journaled, waiting."""
        response = self.post_webhook(
            self.channel,
            self._update(user, text),
            headers={SECRET_HEADER: "s3cret-token"},
        )
        self.assertEqual(response.status_code, 200)
        row = self.Journal.search(
            [
                ("channel_id", "=", self.channel.id),
                ("provider_event_id", "like", str(self.update_id)),
            ]
        )
        self.assertEqual(row.state, "pending")
        return row

    def _process(self, row):
        """Process ``row`` as the journal does and return (queries, bus
        notifications of the inbox)."""
        self.env.invalidate_all()
        bus_before = self._panel_notifications()
        with QueryRecorder(self.env.cr) as recorder:
            row.with_user(self.env.ref("base.user_root"))._process()
        self.assertEqual(row.state, "done", row.error_traceback)
        return recorder, self._panel_notifications() - bus_before

    def _panel_notifications(self):
        self.env["bus.bus"].flush_model()
        self.env.cr.execute(
            "SELECT count(*) FROM bus_bus WHERE message::json->>'type' = %s",
            ["omnichannel/update"],
        )
        return self.env.cr.fetchone()[0]

    def _assigned_emails(self, record):
        """CRM's "you have been assigned" notifications posted on ``record``."""
        return self.env["mail.message"].search_count(
            [
                ("model", "=", record._name),
                ("res_id", "=", record.id),
                ("message_type", "=", "user_notification"),
            ]
        )

    def test_processing_cost_of_new_customer_and_joining_message(self):
        # Warm the registry's caches as a running server has them.
        self._process(self._journaled(tg_user(user_id=9000001), "warm up"))
        self._process(self._journaled(tg_user(user_id=9000001), "warm up again"))

        anna = tg_user(user_id=9000002, first_name="Anna")
        new, new_bus = self._process(self._journaled(anna, "Do you have sofas?"))
        conversation = (
            self.env["omnichannel.message"]
            .search([("channel_id", "=", self.channel.id)], order="id desc", limit=1)
            .conversation_id
        )
        self.assertTrue(
            conversation.lead_id, "the new customer's message opened a lead"
        )
        self.assertEqual(conversation.user_id, self.salesperson)
        self.assertEqual(conversation.lead_id.user_id, self.salesperson)
        joining, joining_bus = self._process(self._journaled(anna, "In green?"))

        self.assertEqual(new_bus, 1, "one inbox notification for the new customer")
        self.assertEqual(joining_bus, 1, "one inbox notification per message")
        # One "assigned to you" email (the lead's), not one per record.
        self.assertEqual(self._assigned_emails(conversation.lead_id), 1)
        self.assertEqual(self._assigned_emails(conversation), 0)
        self.assertLessEqual(
            new.count, NEW_CUSTOMER_BUDGET + CACHE_MARGIN, new.report()
        )
        self.assertLessEqual(
            joining.count, JOINING_BUDGET + CACHE_MARGIN, joining.report()
        )

    def test_webhook_cost_of_joining_message(self):
        """The default mode: the whole webhook request of a message joining
        a conversation (journal, read, processing, answer)."""
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", ""
        )
        anna = tg_user(user_id=9000004, first_name="Anna")
        for text in ("Hello", "warm up"):
            self.post_webhook(
                self.channel,
                self._update(anna, text),
                headers={SECRET_HEADER: "s3cret-token"},
            )
        update = self._update(anna, "Is it in stock?")
        self.env.invalidate_all()
        with QueryRecorder(self.env.cr) as request:
            response = self.post_webhook(
                self.channel, update, headers={SECRET_HEADER: "s3cret-token"}
            )
        self.assertEqual(response.status_code, 200)
        message = self.env["omnichannel.message"].search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )
        self.assertIn("Is it in stock?", message.body)
        self.assertEqual(message.conversation_id.message_count_total, 3)
        self.assertLessEqual(
            request.count, WEBHOOK_JOINING_BUDGET + CACHE_MARGIN, request.report()
        )
