from datetime import date, timedelta

from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .routing_common import WED_10, OwnerCase


class FollowupCase(OwnerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["omnichannel.routing.rule"].create(
            {"name": "Least busy", "strategy": "least_loaded", "team_id": cls.team.id}
        )

    def activities(self, conversation, kind=None):
        domain = [
            ("res_model", "=", "crm.lead"),
            ("res_id", "=", conversation.lead_id.id),
        ]
        if kind:
            domain.append(("omnichannel_followup_kind", "=", kind))
        return self.env["mail.activity"].search(domain)

    def run_cron(self, at):
        with freeze_time(at):
            return self.env["omnichannel.conversation"]._cron_followups()


@tagged("post_install", "-at_install")
class TestFollowups(FollowupCase):
    """Activities from what the customer and the salesperson said."""

    def test_customer_names_a_date(self):
        conversation = self.receive(
            "fu1", "Спасибо за предложение. Я решу через неделю."
        )
        activity = self.activities(conversation, "customer_date")
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, conversation.user_id)
        self.assertEqual(activity.date_deadline, date(2025, 3, 19))
        self.assertIn("Я решу через неделю.", activity.note, "quotes the message")
        message = conversation.omnichannel_message_ids
        self.assertEqual(activity.omnichannel_message_id, message)
        self.assertIn(
            f"/mail/message/{message.mail_message_id.id}",
            activity.note,
            "links to it",
        )

    def test_monday_after_lunch_in_the_customers_timezone(self):
        # Wednesday 23:30 in Vladivostok (UTC+10) is Wednesday 13:30 UTC: "tomorrow" is
        # Thursday there.
        conversation = self.receive(
            "vlad",
            "Позвоните завтра после обеда",
            at=WED_10 + timedelta(hours=6, minutes=30),
            phone="+7 423 222-33-44",
        )
        self.assertEqual(
            self.activities(conversation, "customer_date").date_deadline,
            date(2025, 3, 13),
        )
        self.assertIn("14:00", self.activities(conversation, "customer_date").note)

    def test_phrases_without_a_future_date_create_nothing(self):
        conversation = self.receive(
            "none", "Здравствуйте! Вчера звонил, никто не ответил."
        )
        self.receive("none", "Thanks a lot!", at=WED_10 + timedelta(minutes=1))
        self.assertFalse(self.activities(conversation))

    def test_salesperson_promise_is_a_todo_for_them(self):
        conversation = self.receive("promise", "Нужны кресла")
        seller = conversation.user_id
        self.reply(
            conversation,
            "Хорошо, пришлю КП завтра.",
            seller,
            WED_10 + timedelta(minutes=2),
        )
        todo = self.activities(conversation, "own_promise")
        self.assertEqual(
            (todo.user_id, todo.date_deadline), (seller, date(2025, 3, 13))
        )
        self.assertIn("пришлю КП завтра", todo.note)
        self.reply(
            conversation,
            "Завтра у нас выходной.",
            seller,
            WED_10 + timedelta(minutes=3),
        )
        self.assertEqual(
            len(self.activities(conversation, "own_promise")),
            1,
            "no commitment, no to-do",
        )

    def test_each_rule_can_be_switched_off(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("omnichannel_inbox.followup_customer_dates", False)
        params.set_param("omnichannel_inbox.followup_own_promises", False)
        params.set_param("omnichannel_inbox.followup_questions", False)
        params.set_param("omnichannel_inbox.followup_silence", False)
        conversation = self.receive("off", "Я решу через неделю. А скидка будет?")
        self.reply(
            conversation,
            "I'll send the offer tomorrow",
            conversation.user_id,
            WED_10 + timedelta(minutes=1),
        )
        self.assertFalse(self.activities(conversation))
        self.assertFalse(conversation.followup_next_kind)

    def test_unanswered_question_then_silence(self):
        conversation = self.receive("q", "Какая цена за 40 кресел?")
        self.assertEqual(
            (conversation.followup_next_kind, conversation.followup_next_date),
            ("question", WED_10 + timedelta(hours=2)),
        )
        self.assertFalse(self.run_cron(WED_10 + timedelta(hours=1))[0])
        self.assertEqual(self.run_cron(WED_10 + timedelta(hours=2))[0], conversation)
        reminder = self.activities(conversation, "question")
        self.assertEqual(reminder.summary, "Unanswered question")
        self.assertIn("Какая цена за 40 кресел?", reminder.note)
        # Answered: the customer goes silent for three days.
        self.reply(
            conversation,
            "Цена 9 000 за штуку.",
            conversation.user_id,
            WED_10 + timedelta(hours=3),
        )
        self.assertEqual(conversation.followup_next_kind, "silence")
        self.assertFalse(self.run_cron(WED_10 + timedelta(days=2))[0])
        self.run_cron(WED_10 + timedelta(days=3, hours=3))
        self.assertTrue(self.activities(conversation, "silence"))

    def test_customer_answering_cancels_the_silence_reminder(self):
        conversation = self.receive("s", "Нужны кресла")
        self.reply(
            conversation, "Какие?", conversation.user_id, WED_10 + timedelta(minutes=1)
        )
        self.receive("s", "Офисные", at=WED_10 + timedelta(hours=1))
        self.assertFalse(conversation.followup_next_kind)

    def test_periodic_checkin_on_long_running_lead(self):
        # (The 3-day silence reminder would be the lead's planned activity: off here.)
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.followup_silence", False
        )
        conversation = self.receive("long", "Интересует мебель для офиса")
        self.reply(
            conversation,
            "Подберём.",
            conversation.user_id,
            WED_10 + timedelta(minutes=1),
        )
        lead = conversation.lead_id
        self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)]
        ).unlink()
        # Fourteen days after the customer's message, but not after the
        # reply a minute later: no check-in yet, it waits for the period
        # after the last message.
        self.run_cron(WED_10 + timedelta(days=14, seconds=30))
        self.assertFalse(self.activities(conversation, "checkin"))
        self.assertEqual(
            lead.omnichannel_checkin_date, WED_10 + timedelta(minutes=1, days=14)
        )
        _conversations, leads = self.run_cron(WED_10 + timedelta(days=15))
        self.assertIn(lead, leads)
        self.assertTrue(self.activities(conversation, "checkin"))
        self.assertEqual(
            lead.omnichannel_checkin_date,
            WED_10 + timedelta(days=29),
            "and again a period later",
        )


@tagged("post_install", "-at_install")
class TestHandover(FollowupCase):
    """A salesperson on leave or archived: their work moves, history kept,
    the customer asked nothing."""

    def _alice_work(self):
        self.bob.omnichannel_available = False
        self.carol.omnichannel_available = False
        first = self.receive("h1", "Я решу через неделю")
        second = self.receive("h2", "Нужен счёт")
        self.assertEqual(first.user_id | second.user_id, self.alice)
        self.bob.omnichannel_available = True
        self.carol.omnichannel_available = True
        return first | second

    def test_leave_hands_over_to_the_substitute(self):
        conversations = self._alice_work()
        self.alice.omnichannel_substitute_id = self.carol
        outbound_before = self.env["omnichannel.message"].search_count(
            [("direction", "=", "out")]
        )
        with freeze_time(WED_10 + timedelta(hours=1)):
            self.env["resource.calendar.leaves"].create(
                {
                    "name": "Vacation",
                    "resource_id": self.alice._omnichannel_resource().id,
                    "date_from": WED_10,
                    "date_to": WED_10 + timedelta(days=14),
                }
            )
        self.assertEqual(conversations.user_id, self.carol)
        self.assertEqual(conversations.lead_id.user_id, self.carol)
        followup = self.activities(conversations[0], "customer_date")
        self.assertEqual(followup.user_id, self.carol, "the follow-up moves too")
        for conversation in conversations:
            self.assertIn(
                "handed over from Alice (on leave until 2025-03-26",
                self.log_texts(conversation),
            )
            self.assertEqual(
                len(
                    conversation.omnichannel_message_ids.filtered(
                        lambda m: m.direction == "in"
                    )
                ),
                1,
                "the history stays",
            )
        self.assertEqual(
            self.env["omnichannel.message"].search_count([("direction", "=", "out")]),
            outbound_before,
            "the customer is not asked anything",
        )

    def test_future_leave_is_handed_over_by_the_cron_when_it_begins(self):
        conversations = self._alice_work()
        self.alice.omnichannel_substitute_id = self.bob
        with freeze_time(WED_10 + timedelta(hours=1)):
            leave = self.env["resource.calendar.leaves"].create(
                {
                    "name": "Vacation",
                    "resource_id": self.alice._omnichannel_resource().id,
                    "date_from": WED_10 + timedelta(days=2),
                    "date_to": WED_10 + timedelta(days=9),
                }
            )
        self.assertEqual(conversations.user_id, self.alice)
        with freeze_time(WED_10 + timedelta(days=1)):
            self.assertFalse(
                self.env["resource.calendar.leaves"]._cron_omnichannel_handover()
            )
        with freeze_time(WED_10 + timedelta(days=2, minutes=5)):
            self.assertEqual(
                self.env["resource.calendar.leaves"]._cron_omnichannel_handover(), leave
            )
        self.assertEqual(conversations.user_id, self.bob)

    def test_archived_without_substitute_is_rerouted(self):
        conversations = self._alice_work()
        with freeze_time(WED_10 + timedelta(hours=1)):
            self.alice.action_archive()
        self.assertFalse(conversations.user_id & self.alice)
        self.assertTrue(
            all(c.user_id in (self.bob | self.carol) for c in conversations)
        )
        self.assertIn(
            "handed over from Alice (account archived)",
            self.log_texts(conversations[0]),
        )
