from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .routing_common import WED_10, WED_20, OwnerCase


@tagged("post_install", "-at_install")
class TestRouting(OwnerCase):
    """Who gets a new conversation: each strategy, caps, skills,
    availability (hours, leave, switch), on-duty substitute and queue."""

    def test_keep_owner_then_their_substitute_when_on_leave(self):
        self._rule("keep_owner")
        partner = self.env["res.partner"].create(
            {
                "name": "Known Customer",
                "phone": "+7 912 555-00-01",
                "user_id": self.bob.id,
            }
        )
        conversation = self.receive("known", "Добрый день", phone="+7 912 555-00-01")
        self.assertEqual(conversation.partner_id, partner)
        self.assertEqual(conversation.user_id, self.bob)
        self.assertEqual(conversation.lead_id.user_id, self.bob, "the lead follows")
        self.assertIn("kept the customer's salesperson", self.log_texts(conversation))

        # Bob goes on leave: his substitute answers his customers.
        self.bob.omnichannel_substitute_id = self.carol
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Vacation",
                "resource_id": self.bob._omnichannel_resource().id,
                "date_from": WED_10 + timedelta(days=1),
                "date_to": WED_10 + timedelta(days=10),
            }
        )
        self.env["res.partner"].create(
            {
                "name": "Other Customer",
                "phone": "+7 912 555-00-02",
                "user_id": self.bob.id,
            }
        )
        other = self.receive(
            "other",
            "Здравствуйте",
            at=WED_10 + timedelta(days=1, hours=1),
            phone="+7 912 555-00-02",
        )
        self.assertEqual(other.user_id, self.carol)
        self.assertIn("on leave", self.log_texts(other))

    def test_round_robin(self):
        self._rule("round_robin")
        owners = [self.receive(f"rr{i}", "Hi").user_id for i in range(4)]
        members = (self.alice | self.bob | self.carol).sorted("id")
        self.assertEqual(owners, list(members) + [members[0]])

    def test_least_loaded_with_cap_then_queue(self):
        rule = self._rule("least_loaded", max_open_per_user=1)
        first = self.receive("ll1")
        second = self.receive("ll2")
        third = self.receive("ll3")
        self.assertEqual(
            len(first.user_id | second.user_id | third.user_id), 3, "one each"
        )
        fourth = self.receive("ll4")
        self.assertFalse(fourth.user_id, "everyone is at the cap: the team queue")
        self.assertIn("waiting in the queue of Chat sales", self.log_texts(fourth))
        # Alice answers hers: she has room again, and takes the next one.
        self.reply(
            first
            if first.user_id == self.alice
            else second
            if second.user_id == self.alice
            else third,
            "Здравствуйте!",
            self.alice,
            WED_10 + timedelta(minutes=1),
        )
        fifth = self.receive("ll5", at=WED_10 + timedelta(minutes=2))
        self.assertEqual(fifth.user_id, self.alice)
        self.assertIn(f'rule "{rule.name}"', self.log_texts(fifth))

    def test_skills_by_product_area(self):
        chairs = self.env["crm.tag"].create(
            {"name": "Chairs", "omnichannel_keywords": "кресл, кресел, стул"}
        )
        self.bob.omnichannel_skill_tag_ids = chairs
        self._rule("skills", sequence=1)
        self._rule("least_loaded", sequence=2)
        # Bob is the busiest, yet he knows chairs.
        self.receive("busy1")
        self.receive("busy2")
        self.receive("busy3")
        conversation = self.receive("chairs", "Нужны 40 офисных кресел")
        self.assertEqual(conversation.user_id, self.bob)
        self.assertIn("knows Chairs", self.log_texts(conversation))
        other = self.receive("tables", "Нужны столы")
        self.assertNotIn(
            "knows",
            self.log_texts(other),
            "no product area named: the next rule decides",
        )

    def test_best_recent_win_rate(self):
        source = self.channel.source_id
        Lead = self.env["crm.lead"]
        for user, won, lost in (
            (self.alice, 1, 3),
            (self.bob, 3, 1),
            (self.carol, 0, 0),
        ):
            for index in range(won + lost):
                lead = Lead.create(
                    {
                        "name": f"Old {user.name} {index}",
                        "user_id": user.id,
                        "source_id": source.id,
                        "type": "opportunity",
                        "team_id": self.team.id,
                    }
                )
                with freeze_time(WED_10 - timedelta(days=10)):
                    lead.action_set_won() if index < won else lead.action_set_lost()
        self._rule("win_rate")
        conversation = self.receive("newcomer")
        self.assertEqual(conversation.user_id, self.bob)
        self.assertIn(
            "best win rate on similar leads: 75%", self.log_texts(conversation)
        )

    def test_only_available_people_get_work(self):
        self._rule("least_loaded")
        # Alice switched chats off, Bob is on leave: Carol gets it.
        self.alice.omnichannel_available = False
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Sick",
                "resource_id": self.bob._omnichannel_resource().id,
                "date_from": WED_10 - timedelta(hours=2),
                "date_to": WED_10 + timedelta(hours=8),
            }
        )
        self.assertEqual(self.receive("av1").user_id, self.carol)
        # Outside working hours nobody is available: the team queue...
        late = self.receive("av2", at=WED_20)
        self.assertFalse(late.user_id)
        # ...unless the team has an on-duty substitute.
        self.team.omnichannel_on_duty_user_id = self.leader
        later = self.receive("av3", at=WED_20)
        self.assertEqual(later.user_id, self.leader)
        self.assertIn("on-duty substitute of Chat sales", self.log_texts(later))

    def test_conditions_channel_country_timezone_keywords_language_and_customer_kind(
        self,
    ):
        kz = self.env.ref("base.kz")
        far_east = self._rule(
            "least_loaded",
            sequence=1,
            name="Far East",
            user_ids=[(6, 0, self.carol.ids)],
            filter_utc_offset=True,
            utc_offset_min=9,
            utc_offset_max=12,
        )
        self._rule(
            "least_loaded",
            sequence=2,
            name="Kazakhstan",
            user_ids=[(6, 0, self.bob.ids)],
            country_ids=[(6, 0, kz.ids)],
        )
        self._rule(
            "least_loaded",
            sequence=3,
            name="Wholesale",
            user_ids=[(6, 0, self.leader.ids)],
            keywords="опт, wholesale",
            channel_type="sandbox",
        )
        self._rule(
            "least_loaded",
            sequence=4,
            name="English",
            user_ids=[(6, 0, self.bob.ids)],
            lang_ids=[(6, 0, self.env.ref("base.lang_en").ids)],
            customer_kind="existing",
        )
        self._rule(
            "least_loaded",
            sequence=5,
            name="Everyone else",
            user_ids=[(6, 0, self.alice.ids)],
        )
        # Vladivostok landline (UTC+10) at 10:00 Moscow.
        self.assertEqual(
            self.receive("vl", phone="+7 423 222-33-44").user_id, self.carol
        )
        self.assertIn(
            f'rule "{far_east.name}"',
            self.log_texts(self.receive("vl2", phone="+7 423 222-33-45")),
        )
        self.assertEqual(self.receive("kz", phone="+7 701 123 4567").user_id, self.bob)
        self.assertEqual(self.receive("opt", "Интересует опт").user_id, self.leader)
        newcomer = self.receive("new1", "Hello")
        self.assertEqual(
            newcomer.user_id,
            self.alice,
            "a new customer does not match the existing-customer rule",
        )
        # A known English-speaking customer (a lost deal last year) writes again.
        known = self.env["res.partner"].create(
            {"name": "John Known", "lang": "en_US", "phone": "+7 912 555-77-88"}
        )
        self.env["crm.lead"].create(
            {"name": "Old deal", "partner_id": known.id}
        ).action_set_lost()
        self.assertEqual(
            self.receive("en1", "Hello again", phone="+7 912 555-77-88").user_id,
            self.bob,
        )

    def test_one_person_answers(self):
        self._rule("least_loaded")
        conversation = self.receive("one")
        owner = conversation.user_id
        other = (self.alice | self.bob | self.carol) - owner
        with self.assertRaises(UserError):
            conversation.with_user(other[0]).action_assign_to_me()
        self.receive("one", "Ещё вопрос", at=WED_10 + timedelta(minutes=1))
        self.assertEqual(
            conversation.user_id,
            owner,
            "a conversation being handled is not offered again",
        )

    def test_first_to_answer_a_queued_customer_takes_it(self):
        queued = self.receive("q1", at=WED_20)
        self.assertFalse(queued.user_id)
        self.reply(queued, "Добрый вечер!", self.bob, WED_20 + timedelta(minutes=3))
        self.assertEqual(queued.user_id, self.bob)
        self.assertIn("answered first", self.log_texts(queued))
