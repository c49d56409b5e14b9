import json
from datetime import timedelta

from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .routing_common import FRI_1830, MON_0905, WED_10, WED_20, OwnerCase


class SlaCase(OwnerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.env["omnichannel.routing.rule"].create(
            {"name": "Least busy", "strategy": "least_loaded", "team_id": cls.team.id}
        )
        cls.policy = cls.env["omnichannel.sla.policy"].create(
            {
                "name": "Chats: 5 minutes",
                "team_ids": [(6, 0, cls.team.ids)],
                "first_response_minutes": 5,
                "next_response_minutes": 15,
                "time_basis": "business",
                "calendar_id": cls.calendar.id,
                "warn_before_minutes": 2,
                "reassign_after_minutes": 10,
                "notify_email": True,
                "notify_sms": True,
            }
        )

    def run_cron(self, at):
        with freeze_time(at):
            return self.env["omnichannel.conversation"]._cron_sla()

    def outbound(self, conversation):
        return conversation.omnichannel_message_ids.filtered(
            lambda m: m.direction == "out"
        )


@tagged("post_install", "-at_install")
class TestSla(SlaCase):
    """Deadlines in business hours, warning, escalation, reassignment;
    the cron touching only what is due."""

    def test_warn_escalate_reassign(self):
        self.leader.notification_type = "inbox"
        self.leader.partner_id.phone = "+7 912 000-11-22"
        conversation = self.receive("sla1", "Нужны кресла")
        owner = conversation.user_id
        self.assertTrue(owner)
        self.assertEqual(conversation.sla_deadline, WED_10 + timedelta(minutes=5))
        self.assertEqual(
            (conversation.sla_next_action, conversation.sla_next_action_date),
            ("warn", WED_10 + timedelta(minutes=3)),
        )
        trigger = self.env["ir.cron.trigger"].search(
            [
                (
                    "cron_id",
                    "=",
                    self.env.ref("omnichannel_inbox.ir_cron_omnichannel_sla").id,
                ),
                ("call_at", "=", WED_10 + timedelta(minutes=3)),
            ]
        )
        self.assertTrue(trigger, "the cron is woken when the warning is due")

        self.assertFalse(
            self.run_cron(WED_10 + timedelta(minutes=2)), "nothing due yet"
        )
        self.assertEqual(self.run_cron(WED_10 + timedelta(minutes=3)), conversation)
        warning = conversation.message_ids.filtered(
            lambda m: owner.partner_id in m.partner_ids
        )
        self.assertTrue(warning, "the salesperson is notified in their Odoo inbox")
        self.assertIn("Please answer", warning[0].body)
        self.assertIn(
            f"Warned {owner.name} before the deadline",
            self.log_texts(conversation),
        )

        self.assertEqual(self.run_cron(WED_10 + timedelta(minutes=5)), conversation)
        self.assertTrue(conversation.sla_breached)
        escalation = conversation.message_ids.filtered(
            lambda m: self.leader.partner_id in m.partner_ids
        )
        self.assertTrue(escalation, "the team leader is notified in their Odoo inbox")
        self.assertTrue(
            self.env["mail.mail"].search(
                [
                    ("email_to", "ilike", "leader@example.com"),
                    ("res_id", "=", conversation.id),
                ]
            ),
            "and by email",
        )
        log = self.log_texts(conversation)
        self.assertIn("escalated to the team leader Leader", log)
        if "sms.sms" in self.env:
            self.assertIn("SMS)", log)
            self.assertTrue(
                self.env["sms.sms"].search(
                    [("partner_id", "=", self.leader.partner_id.id)]
                ),
                "and by SMS, the SMS app being installed",
            )
        else:
            self.assertIn("no SMS: the SMS app is not installed", log)

        self.assertEqual(self.run_cron(WED_10 + timedelta(minutes=15)), conversation)
        self.assertNotEqual(
            conversation.user_id, owner, "an available colleague takes over"
        )
        self.assertIn(conversation.user_id, self.alice | self.bob | self.carol)
        self.assertIn(
            "not answered 10 minutes past the deadline", self.log_texts(conversation)
        )
        self.assertFalse(conversation.sla_next_action, "no step left")
        self.assertFalse(self.run_cron(WED_10 + timedelta(hours=2)))

    def test_friday_evening_breaches_on_monday_morning(self):
        conversation = self.receive("friday", "Добрый вечер, нужен счёт", at=FRI_1830)
        self.assertFalse(
            conversation.user_id, "nobody works on Friday evening: the team queue"
        )
        self.assertEqual(
            conversation.sla_deadline, MON_0905, "Monday 9:05 Moscow, not Friday 18:35"
        )
        self.assertEqual(
            conversation.sla_next_action_date, MON_0905 - timedelta(minutes=2)
        )
        for at in (
            FRI_1830 + timedelta(minutes=5),
            FRI_1830 + timedelta(hours=5),
            FRI_1830 + timedelta(days=2),
        ):
            self.assertFalse(
                self.run_cron(at), "no breach on Friday night nor during the weekend"
            )
        # Monday 9:03: someone is at work now and gets it, warned at once.
        self.assertEqual(self.run_cron(MON_0905 - timedelta(minutes=2)), conversation)
        self.assertTrue(conversation.user_id)
        self.assertIn("Warned", self.log_texts(conversation))
        self.assertEqual(self.run_cron(MON_0905), conversation)
        self.assertTrue(conversation.sla_breached)

    def test_calendar_time_policy(self):
        self.policy.time_basis = "calendar"
        conversation = self.receive("cal", at=FRI_1830)
        self.assertEqual(conversation.sla_deadline, FRI_1830 + timedelta(minutes=5))

    def test_a_person_answering_stops_the_clock_next_wait_uses_next_target(self):
        conversation = self.receive("ans")
        self.reply(
            conversation,
            "Здравствуйте! Чем помочь?",
            conversation.user_id,
            WED_10 + timedelta(minutes=1),
        )
        self.assertFalse(conversation.sla_deadline)
        self.assertFalse(conversation.sla_next_action_date)
        self.assertFalse(self.run_cron(WED_10 + timedelta(minutes=30)))
        self.receive("ans", "А доставка?", at=WED_10 + timedelta(minutes=40))
        self.assertEqual(
            conversation.sla_deadline,
            WED_10 + timedelta(minutes=55),
            "next-response target: 15 minutes",
        )

    def test_cron_processes_only_due_conversations(self):
        due = self.receive("due1")
        later = self.receive("due2", at=WED_10 + timedelta(minutes=30))
        answered = self.receive("due3")
        self.reply(
            answered, "Добрый день", answered.user_id, WED_10 + timedelta(minutes=1)
        )
        untouched = {
            c: (c.sla_next_action, c.sla_next_action_date) for c in (later, answered)
        }
        processed = self.run_cron(WED_10 + timedelta(minutes=4))
        self.assertEqual(processed, due)
        self.assertEqual(due.sla_next_action, "escalate")
        self.assertEqual(
            {c: (c.sla_next_action, c.sla_next_action_date) for c in (later, answered)},
            untouched,
        )

    def test_a_changed_policy_applies_to_the_next_message(self):
        first = self.receive("chg1")
        self.assertEqual(first.sla_policy_id, self.policy)
        # The 5-minute policy now covers another team only; a slower one
        # covers everyone else.
        elsewhere = self.env["crm.team"].create({"name": "Elsewhere"})
        self.policy.team_ids = [(6, 0, elsewhere.ids)]
        slower = self.policy.copy(
            {
                "name": "Everyone: 30 minutes",
                "team_ids": [(5, 0, 0)],
                "first_response_minutes": 30,
                "sequence": 20,
            }
        )
        second = self.receive("chg2")
        self.assertEqual(second.sla_policy_id, slower)
        self.assertEqual(second.sla_deadline, WED_10 + timedelta(minutes=30))

    def test_no_policy_no_deadline(self):
        self.policy.active = False
        conversation = self.receive("nopolicy")
        self.assertFalse(conversation.sla_deadline)
        self.assertFalse(conversation.sla_next_action_date)


@tagged("post_install", "-at_install")
class TestSlaPopups(SlaCase):
    """Response-time pop-ups: one per person and minute, grouped, not sticky;
    steps of the past (demo data, a database installed with old
    conversations) notify nobody but keep their flags."""

    def popups(self, user):
        """Payloads of the response-time pop-ups sent to ``user`` so far."""
        self.env.cr.precommit.run()  # the bus stores them at commit
        result = []
        for row in self.env["bus.bus"].sudo().search([], order="id"):
            message = json.loads(row.message)
            if message["type"] != "omnichannel/sla_notice":
                continue
            channel = json.loads(row.channel)
            if channel[1:] == ["res.partner", user.partner_id.id]:
                result.append(message["payload"])
        return result

    def test_breaches_grouped_per_person_once_a_minute(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        first = [self.receive(f"group{i}", "Нужен счёт") for i in range(3)]
        late = self.receive("group-late", "И мне", at=WED_10 + timedelta(seconds=30))
        self.run_cron(WED_10 + timedelta(minutes=3))  # warnings to the owners
        self.run_cron(WED_10 + timedelta(minutes=5))  # three breaches
        self.assertTrue(all(c.sla_breached for c in first))
        self.assertFalse(late.sla_breached)
        [notice] = self.popups(self.leader)
        self.assertEqual(notice["count"], 3)
        self.assertEqual(notice["message"], "3 customers waiting — open the inbox")
        self.assertEqual(notice["title"], "Response time breached")
        self.assertEqual(
            sorted(notice["conversation_ids"]), sorted(c.id for c in first)
        )
        self.assertEqual(notice["filter"], "breached")
        self.assertIs(notice["sticky"], False, "the pop-up fades away")

        # The fourth customer breaches 30 seconds later: recorded, not popped up.
        breach_at = late.sla_next_action_date
        self.assertEqual(late.sla_next_action, "escalate")
        self.assertLess(breach_at, WED_10 + timedelta(minutes=6))
        self.run_cron(breach_at)
        self.assertTrue(late.sla_breached, "the flag does not wait for the pop-up")
        self.assertEqual(len(self.popups(self.leader)), 1, "nothing within the minute")
        cron = self.env.ref("omnichannel_inbox.ir_cron_omnichannel_sla")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [
                    ("cron_id", "=", cron.id),
                    ("call_at", "=", WED_10 + timedelta(minutes=6)),
                ]
            ),
            "the cron wakes when the minute is over",
        )
        self.run_cron(WED_10 + timedelta(minutes=6))
        notices = self.popups(self.leader)
        self.assertEqual(len(notices), 2, "after the minute the new breach is told")
        self.assertEqual(notices[1]["conversation_ids"], late.ids)
        self.assertEqual(notices[1]["title"], "Response time breached")
        self.assertIn(late.partner_id.name, notices[1]["message"])
        self.assertIs(notices[1]["sticky"], False)
        self.run_cron(WED_10 + timedelta(minutes=8))
        self.assertEqual(len(self.popups(self.leader)), 2, "each breach told once")

        owners = self.env["res.users"].union(*(c.user_id for c in first))
        for owner in owners:
            for notice in self.popups(owner):
                self.assertEqual(notice["filter"], "mine")
                self.assertIs(notice["sticky"], False)

    def test_past_breaches_notify_nobody(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        conversation = self.receive("old", "Было давно")
        owner = conversation.user_id
        notes_before = conversation.message_ids
        for _step in range(3):  # warn, escalate, reassign: all overdue by weeks
            self.run_cron(WED_10 + timedelta(weeks=2))
        self.assertTrue(conversation.sla_breached, "the breach is recorded as before")
        self.assertFalse(conversation.sla_next_action, "every step was done")
        for user in self.leader | owner | conversation.user_id:
            self.assertFalse(self.popups(user), f"no pop-up for {user.name}")
        self.assertFalse(self.env["omnichannel.sla.popup"].search([]))
        new = conversation.message_ids - notes_before
        self.assertFalse(new.partner_ids, "nobody mentioned in their Odoo inbox")
        self.assertFalse(
            self.env["mail.mail"].search([("email_to", "ilike", "leader@example.com")]),
            "no email",
        )
        self.assertIn("nobody notified", self.log_texts(conversation))

    def test_steps_dated_before_the_conversation_was_loaded_notify_nobody(self):
        """Demo data and imports: a wait registered after its deadline
        breaches on time for the figures, but pops up nothing, even when the
        cron reaches it at once."""
        self.env["bus.bus"].sudo().search([]).unlink()
        conversation = self.receive("loaded", "Из демо-данных")
        # as if the message of 10:00 had been loaded at 10:10
        conversation.sudo().sla_seen_date = WED_10 + timedelta(minutes=10)
        self.run_cron(WED_10 + timedelta(minutes=3))
        self.run_cron(WED_10 + timedelta(minutes=5))
        self.assertTrue(conversation.sla_breached)
        self.assertEqual(conversation.sla_next_action, "reassign")
        self.assertFalse(self.popups(self.leader))
        self.assertFalse(self.popups(conversation.user_id))
        self.assertFalse(self.env["omnichannel.sla.popup"].search([]))


@tagged("post_install", "-at_install")
class TestAutoReplies(SlaCase):
    """Acknowledgement in hours, out-of-hours text with the opening time,
    first questions; never counted as a person's answer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel.write(
            {
                "autoreply_enabled": True,
                "autoreply_ack_text": "Спасибо! Менеджер подключится через пару минут.",
                "autoreply_out_of_hours_text": (
                    "Мы закрыты; менеджер ответит {answer_time}."
                ),
                "autoreply_questions": (
                    "Пока ждёте: что вам нужно и когда удобно позвонить?"
                ),
            }
        )

    def test_acknowledgement_in_business_hours_is_not_an_answer(self):
        conversation = self.receive("ack", "Здравствуйте")
        auto = self.outbound(conversation)
        self.assertEqual(len(auto), 1)
        self.assertEqual((auto.author_kind, auto.status), ("auto", "sent"))
        self.assertIn("Менеджер подключится", auto.body)
        self.assertIn(
            "когда удобно позвонить", auto.body, "first questions on the first message"
        )
        self.assertEqual(conversation.state, "open", "still waiting for a person")
        self.assertEqual(conversation.waiting_since, WED_10)
        self.assertFalse(conversation.first_response_date)
        self.assertEqual(conversation.sla_deadline, WED_10 + timedelta(minutes=5))
        self.assertEqual(conversation.last_speaker, "auto")
        # The SLA still escalates: an automatic reply is no answer.
        self.run_cron(WED_10 + timedelta(minutes=3))
        self.assertEqual(self.run_cron(WED_10 + timedelta(minutes=5)), conversation)
        self.assertTrue(conversation.sla_breached)

    def test_one_reply_per_wait_and_again_after_a_silence(self):
        conversation = self.receive("again", "Здравствуйте")
        self.receive("again", "Нужны кресла", at=WED_10 + timedelta(minutes=1))
        self.assertEqual(
            len(self.outbound(conversation)), 1, "one automatic reply per wait"
        )
        self.reply(
            conversation,
            "Добрый день! Какие именно?",
            conversation.user_id,
            WED_10 + timedelta(minutes=2),
        )
        self.receive("again", "Офисные", at=WED_10 + timedelta(minutes=3))
        self.assertEqual(
            len(self.outbound(conversation)),
            2,
            "no automatic reply inside an ongoing exchange",
        )
        self.reply(
            conversation,
            "Пришлю каталог",
            conversation.user_id,
            WED_10 + timedelta(minutes=4),
        )
        self.receive("again", "Получил, спасибо", at=WED_10 + timedelta(hours=3))
        replies = self.outbound(conversation).sorted("id")
        self.assertEqual(len(replies), 4)
        self.assertEqual(
            replies[-1].author_kind,
            "auto",
            "after an hour of silence the customer is acknowledged",
        )
        self.assertNotIn(
            "удобно позвонить", replies[-1].body, "first questions only once"
        )

    def test_out_of_hours_reply_says_when_a_person_answers(self):
        conversation = self.receive("ooh", "Добрый вечер", at=FRI_1830)
        auto = self.outbound(conversation)
        self.assertEqual(len(auto), 1)
        self.assertIn("Мы закрыты", auto.body)
        self.assertIn("09:00", auto.body)
        self.assertIn("Monday", auto.body, "the next opening, in the business calendar")
        self.assertEqual(conversation.waiting_since, FRI_1830)
        self.assertEqual(conversation.sla_deadline, MON_0905)

    def test_evening_reply_names_tomorrow_morning(self):
        conversation = self.receive("eve", "Добрый вечер", at=WED_20)
        self.assertIn("Thursday", self.outbound(conversation).body)

    def test_disabled(self):
        self.channel.autoreply_enabled = False
        conversation = self.receive("off", "Здравствуйте")
        self.assertFalse(self.outbound(conversation))
