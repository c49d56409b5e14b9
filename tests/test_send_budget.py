"""Outbound throttling against the fake Bot API: a burst is spread within
the channel's sending budget, a person's reply still leaves at once, and a
provider's 429 holds the whole channel back without losing anything."""

import time
from collections import defaultdict

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def most_in_window(times, window):
    """The largest number of ``times`` within any ``window`` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


@tagged("post_install", "-at_install")
class TestSendBudget(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="777:BUDGET").start()
        self.addCleanup(self.bot_api.stop)
        self.channel = self._create_channel(
            "telegram",
            name="Budget bot",
            token="777:BUDGET",
            webhook_secret="sec",
            api_base_url=self.bot_api.url,
        )
        self.Message = self.env["omnichannel.message"]

    def customers(self, count, first_id=8800000):
        """``count`` customers who wrote to the bot: their conversations."""
        for n in range(count):
            user = tg_user(
                user_id=first_id + n,
                first_name=f"Client{n}",
                last_name="Test",
                username=f"client{n}",
            )
            self.assertEqual(
                self.post_webhook(
                    self.channel,
                    tg_update(first_id + n, user=user, text="Hello"),
                    headers={SECRET_HEADER: "sec"},
                ).status_code,
                200,
            )
        conversations = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)], order="id"
        )
        self.assertEqual(len(conversations), count)
        self.bot_api.sent.clear()
        return conversations

    def drain(self, limit=120):
        """Run the send cron as the scheduler would, until nothing is queued."""
        end = time.monotonic() + limit
        while self.Message.search_count(
            [("status", "=", "queued"), ("channel_id", "=", self.channel.id)]
        ):
            self.assertLess(time.monotonic(), end, "the queue never empties")
            self.Message._cron_send_queued(run_seconds=5)
            time.sleep(0.05)

    def test_defaults_follow_the_provider(self):
        self.assertEqual((self.channel.send_rate, self.channel.send_chat_rate), (30, 1))
        vk = self._create_channel("vk", name="VK budget", token="t", account_ref="1")
        self.assertEqual((vk.send_rate, vk.send_chat_rate), (20, 0))
        sandbox = self._create_channel("sandbox", name="No limits")
        self.assertEqual(sandbox.send_rate, 0)

    def test_burst_stays_within_the_rate_and_a_reply_leaves_at_once(self):
        # A rate below what one test worker can send (~13 messages a second
        # through the fake): the budget, not the machine, sets the pace.
        rate = 10
        self.channel.write({"send_rate": rate, "send_chat_rate": 1})
        conversations = self.customers(28)
        bulk, others, person = (
            conversations[:25],
            conversations[25:27],
            conversations[27],
        )
        started = time.time()
        # A survey to every customer, twenty messages each: 500 automatic
        # messages queued at once, as a bulk sender does.
        messages = self.Message
        for n in range(20):
            for conversation in bulk:
                messages |= conversation._post_reply(
                    f"Survey question {n}", author_kind="auto", send_now=False
                )
        self.assertEqual(set(messages.mapped("priority")), {"low"})
        self.assertEqual(set(messages.mapped("status")), {"queued"})

        # The cron spreads them; halfway, a salesperson answers another customer.
        self.Message._cron_send_queued(run_seconds=3)
        left = messages.filtered(lambda m: m.status == "queued")
        self.assertGreater(len(left), 200, "the burst is still going on")
        self.assertTrue(any(left.mapped("throttled")))
        # The panel says why a message waits, rather than failing it.
        panel = self.Message.panel_fetch("omnichannel.conversation", bulk[-1].id)
        labels = {
            m["status_label"] for m in panel["messages"] if m["direction"] == "out"
        }
        self.assertIn("Queued: sending limit", labels)
        self.assertNotIn("Failed", labels)
        # Other workers' automatic messages take what is left of the automatic
        # share of this second (8 of 10) in the shared budget...
        Budget = self.env["omnichannel.send.budget"]
        probes = [
            conversation._post_reply("Probe", author_kind="auto", send_now=False)
            for conversation in others
        ]
        for n in range(2 * rate):
            wait, grant, channel_wide = Budget._acquire(probes[n % 2])
            if wait:
                break
            Budget._release(grant)
        self.assertTrue(
            wait and channel_wide, "the automatic share of the second is spent"
        )
        # ...so one more automatic message waits...
        automatic = others[1]._post_reply("Automatic notice", author_kind="auto")
        self.assertEqual((automatic.status, automatic.throttled), ("queued", True))
        # ...and the salesperson's reply still leaves at once, on the reserved share.
        before = time.time()
        reply = self.Message.panel_send(
            "omnichannel.conversation", person.id, person.id, text="Your offer is ready"
        )
        self.assertEqual(
            reply["status"], "sent", "a person's reply is not queued behind the survey"
        )
        arrival = [
            t for t, _chat, text in self.bot_api.sent if text == "Your offer is ready"
        ]
        self.assertEqual(len(arrival), 1)
        self.assertLess(arrival[0] - before, 1.0)

        self.drain()
        self.assertEqual(
            set((messages | automatic | probes[0] | probes[1]).mapped("status")),
            {"sent"},
            "nothing is lost",
        )
        sent = [
            (t, chat)
            for t, chat, text in self.bot_api.sent
            if text.startswith("Survey")
        ]
        self.assertEqual(len(sent), 500)
        times = [t for t, _chat, _text in self.bot_api.sent if t >= started]
        # Never more than the rate in any second, as the provider counts it.
        self.assertLessEqual(most_in_window(times, 1.0), rate)
        # One chat: one a second on average, short bursts counted over 5 s.
        by_chat = defaultdict(list)
        for moment, chat in sent:
            by_chat[chat].append(moment)
        self.assertLessEqual(
            max(most_in_window(chat_times, 5.0) for chat_times in by_chat.values()), 5
        )
        # Spread, not trickled: within twice the time the rate needs.
        self.assertLess(max(times) - started, 2 * 500 / rate + 10)

    def test_provider_flood_control_slows_the_whole_channel(self):
        conversations = self.customers(6)
        self.bot_api.flood_control(retry_after=2)
        first = conversations[0]._post_reply("Automatic notice 0", author_kind="auto")
        self.assertEqual((first.status, first.throttled), ("queued", True))
        self.assertEqual(first.send_attempts, 0, "a rate limit is no failed attempt")
        refused_at = self.bot_api.flood[0][0]
        # The other customers' messages wait too: nothing reaches the provider.
        others = self.Message
        for n, conversation in enumerate(conversations[1:], start=1):
            others |= conversation._post_reply(
                f"Automatic notice {n}", author_kind="auto"
            )
        self.assertEqual(set(others.mapped("status")), {"queued"})
        self.assertEqual(self.bot_api.sent, [])
        panel = self.Message.panel_fetch(
            "omnichannel.conversation", conversations[0].id
        )
        self.assertIn(
            "Queued: sending limit", [m["status_label"] for m in panel["messages"]]
        )
        # Even a person's reply waits for the provider's pause.
        person = self.Message.panel_send(
            "omnichannel.conversation",
            conversations[1].id,
            conversations[1].id,
            text="Personal answer",
        )
        self.assertEqual(person["status"], "queued")
        self.assertEqual(person["status_label"], "Queued: sending limit")
        self.drain()
        self.assertEqual(
            set((first | others).mapped("status")), {"sent"}, "nothing is lost"
        )
        self.assertEqual(len(self.bot_api.sent), 7)
        self.assertGreaterEqual(
            min(t for t, _chat, _text in self.bot_api.sent),
            refused_at + 2,
            "nothing left before the retry_after passed",
        )
        self.assertEqual(
            self.bot_api.sent[0][2],
            "Personal answer",
            "the person's reply leaves first",
        )
