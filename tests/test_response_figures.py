"""Response figures on fixed timelines: what a reply stores the moment it
leaves, in calendar time and in the company's business hours."""

from datetime import datetime

from odoo.tests import tagged

from .common_figures import OmnichannelFiguresCase


@tagged("post_install", "-at_install")
class TestResponseFigures(OmnichannelFiguresCase):
    def test_friday_evening_message_answered_monday_morning(self):
        """Friday 17:30 Moscow -> Monday 09:15: 63 h 45 min of calendar time,
        but only 45 working minutes (17:30-18:00 and 09:00-09:15)."""
        conversation = self.customer_says(
            datetime(2026, 3, 6, 14, 30), "Есть ли кресла в наличии?"
        )
        conversation.user_id = self.salesman
        self.reply(
            conversation,
            datetime(2026, 3, 6, 14, 31),
            "We will answer soon",
            author_kind="auto",
        )
        self.customer_says(datetime(2026, 3, 6, 14, 40), "И доставка в Казань?")
        self.assertEqual(
            conversation.waiting_since,
            datetime(2026, 3, 6, 14, 30),
            "the automatic reply did not end the wait",
        )
        self.assertFalse(conversation.first_response_date)

        answer = self.reply(
            conversation, datetime(2026, 3, 9, 6, 15), "Да, есть, доставка 2-3 дня"
        )

        self.assertEqual(answer.response_from, datetime(2026, 3, 6, 14, 30))
        self.assertEqual(answer.response_seconds, 63 * 3600 + 45 * 60)
        self.assertEqual(answer.response_business_seconds, 45 * 60)
        self.assertTrue(answer.is_first_response)
        self.assertEqual(conversation.first_response_seconds, 63 * 3600 + 45 * 60)
        self.assertEqual(conversation.first_response_business_seconds, 45 * 60)
        self.assertEqual(conversation.first_response_date, datetime(2026, 3, 9, 6, 15))

    def test_automatic_replies_never_count(self):
        conversation = self.customer_says(datetime(2026, 3, 10, 7, 0))
        auto = self.reply(
            conversation,
            datetime(2026, 3, 10, 7, 0, 5),
            "Thanks, a manager will answer",
            author_kind="auto",
        )
        self.assertFalse(auto.response_from)
        self.assertFalse(auto.response_seconds)
        self.assertFalse(auto.is_first_response)
        self.assertFalse(conversation.first_response_seconds)
        self.assertEqual(conversation.last_speaker, "auto")
        self.assertEqual(
            conversation.state, "open", "the customer still waits for a person"
        )

        answer = self.reply(conversation, datetime(2026, 3, 10, 7, 20))
        self.assertTrue(answer.is_first_response)
        self.assertEqual(
            answer.response_seconds,
            20 * 60,
            "counted from the customer message, not the auto-reply",
        )
        self.assertEqual(conversation.first_response_seconds, 20 * 60)

    def test_each_reply_time_runs_from_the_oldest_unanswered_message(self):
        conversation = self.customer_says(datetime(2026, 3, 10, 7, 0))
        first = self.reply(conversation, datetime(2026, 3, 10, 7, 10))
        self.customer_says(datetime(2026, 3, 10, 8, 0), "Second question")
        self.customer_says(datetime(2026, 3, 10, 8, 30), "Hello?")
        second = self.reply(conversation, datetime(2026, 3, 10, 9, 0))
        follow_up = self.reply(
            conversation, datetime(2026, 3, 10, 9, 5), "And one more thing"
        )

        self.assertEqual((first.response_seconds, first.is_first_response), (600, True))
        self.assertEqual(second.response_from, datetime(2026, 3, 10, 8, 0))
        self.assertEqual(
            (second.response_seconds, second.is_first_response), (3600, False)
        )
        self.assertEqual(
            second.response_business_seconds,
            3600,
            "11:00-12:00 Moscow is inside working hours",
        )
        self.assertFalse(
            follow_up.response_from, "nobody was waiting: no response time"
        )
        self.assertFalse(follow_up.is_first_response)
        self.assertEqual(
            conversation.first_response_seconds,
            600,
            "the first response is not overwritten",
        )

    def test_public_holiday_is_not_business_time(self):
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Women's day",
                "calendar_id": self.calendar.id,
                "resource_id": False,
                "date_from": datetime(
                    2026, 3, 8, 21, 0
                ),  # Monday 9 March, 00:00-23:59 Moscow
                "date_to": datetime(2026, 3, 9, 20, 59, 59),
            }
        )
        # Friday 17:00 Moscow -> Tuesday 09:30 Moscow, Monday is a holiday.
        conversation = self.customer_says(datetime(2026, 3, 6, 14, 0))
        answer = self.reply(conversation, datetime(2026, 3, 10, 6, 30))
        self.assertEqual(answer.response_business_seconds, 90 * 60)

    def test_sla_met_and_breached_from_the_deadline(self):
        conversation = self.customer_says(datetime(2026, 3, 10, 7, 0))
        # The SLA feature sets the deadline of the wait; the figures only read it.
        conversation.sla_deadline = datetime(2026, 3, 10, 7, 5)
        late = self.reply(conversation, datetime(2026, 3, 10, 7, 6))
        self.assertEqual(late.response_sla_status, "breached")
        self.assertEqual(conversation.first_response_sla_status, "breached")
        self.assertFalse(conversation.sla_deadline, "the reply ended the wait")

        self.customer_says(datetime(2026, 3, 10, 8, 0))
        conversation.sla_deadline = datetime(2026, 3, 10, 8, 15)
        on_time = self.reply(conversation, datetime(2026, 3, 10, 8, 15))
        self.assertEqual(
            on_time.response_sla_status, "met", "answering at the deadline meets it"
        )
        self.assertEqual(
            conversation.first_response_sla_status,
            "breached",
            "the first response keeps its status",
        )

        self.customer_says(datetime(2026, 3, 10, 9, 0))
        no_sla = self.reply(conversation, datetime(2026, 3, 10, 9, 30))
        self.assertFalse(
            no_sla.response_sla_status, "no deadline applied: neither met nor breached"
        )

    def test_deadline_of_a_business_hours_policy(self):
        """A 5-minute first-response policy in business hours: a message on
        Friday at 17:58 Moscow must be answered by Monday 09:03."""
        self.env["omnichannel.sla.policy"].create(
            {
                "name": "5 minutes",
                "team_ids": [(4, self.team.id)],
                "first_response_minutes": 5,
                "next_response_minutes": 15,
                "time_basis": "business",
                "calendar_id": self.calendar.id,
            }
        )
        late = self.customer_says(datetime(2026, 3, 6, 14, 58), session="late")
        on_time = self.customer_says(datetime(2026, 3, 6, 14, 58), session="on-time")
        self.assertEqual(late.sla_deadline, datetime(2026, 3, 9, 6, 3))
        self.assertEqual(
            self.reply(on_time, datetime(2026, 3, 9, 6, 2)).response_sla_status, "met"
        )
        answer = self.reply(late, datetime(2026, 3, 9, 6, 10))
        self.assertEqual(answer.response_sla_status, "breached")
        self.assertEqual(
            answer.response_business_seconds,
            12 * 60,
            "2 minutes on Friday, 10 on Monday",
        )
        self.assertEqual(late.first_response_sla_status, "breached")

    def test_first_response_counts_from_the_first_customer_message(self):
        """The customer wrote twice before anyone answered: the first response
        time runs from the first message."""
        conversation = self.customer_says(datetime(2026, 3, 11, 6, 0))
        self.customer_says(datetime(2026, 3, 11, 6, 45))
        self.reply(conversation, datetime(2026, 3, 11, 7, 0))
        self.assertEqual(conversation.first_response_seconds, 3600)
        self.assertEqual(conversation.first_response_business_seconds, 3600)
