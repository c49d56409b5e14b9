"""The salesperson's workspace: the message journal, the inbox's filters and
unread counts, canned responses, tags."""

import json
from datetime import datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common_figures import OmnichannelFiguresCase


@tagged("post_install", "-at_install")
class TestMessageJournal(OmnichannelFiguresCase):
    def test_who_spoke_last(self):
        conversation = self.customer_says(datetime(2026, 3, 10, 7, 0), "Добрый день")
        self.assertEqual(
            (conversation.last_speaker, conversation.state), ("customer", "open")
        )
        self.reply(
            conversation,
            datetime(2026, 3, 10, 7, 1),
            "A manager will answer shortly",
            author_kind="auto",
        )
        self.assertEqual(
            (conversation.last_speaker, conversation.state),
            ("auto", "open"),
            "after an automatic reply the customer still waits for us",
        )
        self.reply(
            conversation, datetime(2026, 3, 10, 7, 5), "Здравствуйте, чем помочь?"
        )
        self.assertEqual(
            (conversation.last_speaker, conversation.state), ("employee", "waiting")
        )
        self.customer_says(datetime(2026, 3, 10, 7, 30), "Нужен счёт")
        self.assertEqual(conversation.last_speaker, "customer")

        journal = self.env["omnichannel.conversation"].search_read(
            [("id", "=", conversation.id)],
            ["last_speaker", "channel_type", "user_id", "lead_stage_id"],
        )[0]
        self.assertEqual(journal["last_speaker"], "customer")
        self.assertEqual(journal["channel_type"], "sandbox")
        self.assertEqual(journal["lead_stage_id"][0], conversation.lead_id.stage_id.id)

    def test_waiting_time_sorts_and_exports(self):
        early = self.customer_says(
            datetime(2026, 3, 10, 6, 0), session="early", name="Early Customer"
        )
        late = self.customer_says(
            datetime(2026, 3, 10, 8, 0), session="late", name="Late Customer"
        )
        answered = self.customer_says(
            datetime(2026, 3, 10, 7, 0), session="answered", name="Answered Customer"
        )
        self.reply(answered, datetime(2026, 3, 10, 7, 10))
        conversations = early | late | answered
        with freeze_time(datetime(2026, 3, 10, 9, 0)):
            self.assertEqual(early.waiting_hours, 3.0)
            self.assertEqual(late.waiting_hours, 1.0)
            self.assertEqual(
                answered.waiting_hours, 0.0, "nobody waits after the answer"
            )
            by_wait = self.env["omnichannel.conversation"].search(
                [("id", "in", conversations.ids)], order="waiting_hours desc nulls last"
            )
            self.assertEqual(
                by_wait.ids, [early.id, late.id, answered.id], "longest wait first"
            )
            fields_info = self.env["omnichannel.conversation"].fields_get(
                ["waiting_hours"], ["sortable"]
            )
            self.assertTrue(fields_info["waiting_hours"]["sortable"])
        exported = conversations.sorted("id").export_data(
            ["partner_id", "channel_id", "last_speaker", "user_id", "lead_stage_id"]
        )["datas"]
        self.assertEqual(
            [row[0] for row in exported],
            ["Early Customer", "Late Customer", "Answered Customer"],
        )
        self.assertEqual(
            [row[2] for row in exported], ["Customer", "Customer", "Employee"]
        )

    def test_journal_filters_by_tag_and_speaker(self):
        vip = self.env["omnichannel.conversation.tag"].create({"name": "VIP"})
        first = self.customer_says(datetime(2026, 3, 10, 6, 0), session="t1")
        second = self.customer_says(datetime(2026, 3, 10, 6, 5), session="t2")
        self.reply(second, datetime(2026, 3, 10, 6, 10))
        first.tag_ids = vip
        Conversation = self.env["omnichannel.conversation"]
        self.assertEqual(Conversation.search([("tag_ids", "in", vip.ids)]), first)
        self.assertEqual(
            Conversation.search(
                [("id", "in", (first | second).ids), ("last_speaker", "=", "employee")]
            ),
            second,
        )


@tagged("post_install", "-at_install")
class TestInbox(OmnichannelFiguresCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.colleague = new_test_user(
            cls.env,
            "inbox_colleague",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Pavel Sokolov",
        )
        cls.team.member_ids = [Command.link(cls.colleague.id)]

    def inbox(self, user, inbox_filter, **kwargs):
        with freeze_time(datetime(2026, 3, 10, 12, 0)):
            return (
                self.env["omnichannel.conversation"]
                .with_user(user)
                .inbox_fetch(inbox_filter, **kwargs)
            )

    def test_quick_filters_longest_wait_first(self):
        mine_late = self.customer_says(
            datetime(2026, 3, 10, 9, 0), session="a", name="Alla"
        )
        mine_early = self.customer_says(
            datetime(2026, 3, 10, 8, 0), session="b", name="Boris"
        )
        # Cyril's conversation is nobody's: the waiting list offers it too.
        self.customer_says(datetime(2026, 3, 10, 8, 30), session="c", name="Cyril")
        theirs = self.customer_says(
            datetime(2026, 3, 10, 7, 0), session="d", name="Dina"
        )
        answered = self.customer_says(
            datetime(2026, 3, 10, 7, 30), session="e", name="Egor"
        )
        closed = self.customer_says(
            datetime(2026, 3, 10, 7, 45), session="f", name="Fedor"
        )
        (mine_late | mine_early | answered | closed).user_id = self.salesman
        theirs.user_id = self.colleague
        self.reply(answered, datetime(2026, 3, 10, 7, 40))
        closed.action_close()
        mine_early.sla_deadline = datetime(2026, 3, 10, 8, 15)
        mine_late.sla_deadline = datetime(2026, 3, 10, 13, 0)

        data = self.inbox(self.salesman, "waiting")
        self.assertEqual(
            [c["customer"] for c in data["conversations"]],
            ["Boris", "Cyril", "Alla"],
            "longest waiting first; a colleague's conversation is not offered",
        )
        self.assertEqual(
            data["counts"],
            {
                "waiting": 3,
                "mine": 2,
                "unassigned": 1,
                "breached": 1,
                "customer": 1,
                "closed": 1,
            },
        )
        boris = data["conversations"][0]
        self.assertTrue(boris["sla_breached"])
        self.assertEqual(boris["channel_type"], "sandbox")
        self.assertEqual(boris["unread"], 1)
        self.assertEqual(
            [c["customer"] for c in self.inbox(self.salesman, "mine")["conversations"]],
            ["Boris", "Alla"],
        )
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.salesman, "breached")["conversations"]
            ],
            ["Boris"],
        )
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.salesman, "unassigned")["conversations"]
            ],
            ["Cyril"],
        )
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.salesman, "customer")["conversations"]
            ],
            ["Egor"],
        )
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.salesman, "closed")["conversations"]
            ],
            ["Fedor"],
        )
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.colleague, "mine")["conversations"]
            ],
            ["Dina"],
        )

        with freeze_time(datetime(2026, 3, 10, 12, 0)):
            self.assertEqual(
                self.env["omnichannel.conversation"]
                .with_user(self.salesman)
                .inbox_counter(),
                2,
            )
        self.reply(mine_early, datetime(2026, 3, 10, 12, 1))
        self.assertEqual(
            self.env["omnichannel.conversation"]
            .with_user(self.salesman)
            .inbox_counter(),
            1,
            "an answered conversation no longer waits for me",
        )

    def test_search_and_tags(self):
        price = self.env["omnichannel.conversation.tag"].create(
            {"name": "Price request"}
        )
        anna = self.customer_says(
            datetime(2026, 3, 10, 9, 0), session="anna", name="Anna Volkova"
        )
        self.customer_says(
            datetime(2026, 3, 10, 9, 5), session="oleg", name="Oleg Frolov"
        )
        anna.tag_ids = price
        self.assertEqual(
            [
                c["customer"]
                for c in self.inbox(self.salesman, "waiting", search="volk")[
                    "conversations"
                ]
            ],
            ["Anna Volkova"],
        )
        tagged_only = self.inbox(self.salesman, "waiting", tag_ids=price.ids)
        self.assertEqual(
            [c["customer"] for c in tagged_only["conversations"]], ["Anna Volkova"]
        )
        self.assertEqual(
            tagged_only["conversations"][0]["tags"][0]["name"], "Price request"
        )
        self.assertEqual(tagged_only["counts"]["waiting"], 1)

    def test_unread_counts_per_user(self):
        conversation = self.customer_says(
            datetime(2026, 3, 10, 9, 0), "One", session="u"
        )
        self.customer_says(datetime(2026, 3, 10, 9, 1), "Two", session="u")
        self.assertEqual(
            self.inbox(self.salesman, "waiting")["conversations"][0]["unread"], 2
        )

        # Olga opens it (the chat panel reads it): read for her, not for Pavel.
        self.env["omnichannel.message"].with_user(self.salesman).panel_fetch(
            "omnichannel.conversation", conversation.id
        )
        self.assertEqual(
            self.inbox(self.salesman, "waiting")["conversations"][0]["unread"], 0
        )
        self.assertEqual(
            self.inbox(self.colleague, "waiting")["conversations"][0]["unread"], 2
        )

        self.customer_says(datetime(2026, 3, 10, 9, 10), "Three", session="u")
        self.assertEqual(
            self.inbox(self.salesman, "waiting")["conversations"][0]["unread"], 1
        )
        self.assertEqual(
            self.inbox(self.colleague, "waiting")["conversations"][0]["unread"], 3
        )
        # A reply of a person answers everything before it, for everyone
        # (the one who answers a queued customer takes them: ask directly).
        self.reply(conversation, datetime(2026, 3, 10, 9, 15))
        self.assertEqual(conversation._unread_counts(self.colleague), {})

    def test_team_leader_sees_the_team_with_its_leads(self):
        """A team leader's own CRM rights may not cover a teammate's lead:
        the inbox still shows it with the conversation."""
        leader = new_test_user(
            self.env,
            "inbox_leader",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
        )
        self.team.user_id = leader
        conversation = self.customer_says(
            datetime(2026, 3, 10, 9, 0), session="team", name="Team Customer"
        )
        conversation._assign(self.salesman, "test")
        self.assertFalse(
            conversation.lead_id.with_user(leader).has_access("read"),
            "the leader cannot open the salesperson's lead in CRM",
        )
        self.env.invalidate_all()  # nothing read with more rights stays in the cache
        [row] = self.inbox(leader, "waiting")["conversations"]
        self.assertEqual(
            (row["customer"], row["user_name"], row["lead_name"]),
            ("Team Customer", "Olga Smirnova", conversation.lead_id.name),
        )

    def test_taking_and_closing_update_open_inboxes(self):
        conversation = self.customer_says(datetime(2026, 3, 10, 9, 0), session="live")
        Bus = self.env["bus.bus"].sudo()

        def updates_after(last_id):
            # the bus stores notifications when the transaction commits
            self.env.cr.precommit.run()
            return [
                json.loads(b.message)["payload"]
                for b in Bus.search([("id", ">", last_id)])
                if json.loads(b.message)["type"] == "omnichannel/update"
            ]

        for action in ("action_assign_to_me", "action_close", "action_reopen"):
            self.env.cr.precommit.run()
            last_id = Bus.search([], order="id desc", limit=1).id or 0
            getattr(conversation.with_user(self.salesman), action)()
            self.assertIn(
                conversation.id,
                [cid for p in updates_after(last_id) for cid in p["conversation_ids"]],
                f"{action} is announced on the bus",
            )
        self.assertEqual(conversation.user_id, self.salesman)

    def test_preview_is_the_last_message(self):
        conversation = self.customer_says(
            datetime(2026, 3, 10, 9, 0), "First message", session="p"
        )
        self.customer_says(
            datetime(2026, 3, 10, 9, 1), "Когда доставка? " + "очень " * 40, session="p"
        )
        preview = self.inbox(self.salesman, "waiting")["conversations"][0]["preview"]
        self.assertTrue(preview.startswith("Когда доставка?"))
        self.assertLessEqual(len(preview), 90)
        self.assertEqual(
            self.env["omnichannel.conversation"]
            .with_user(self.salesman)
            .inbox_read(conversation.ids)[0]["id"],
            conversation.id,
        )


@tagged("post_install", "-at_install")
class TestCannedResponses(OmnichannelFiguresCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Canned = cls.env["mail.canned.response"]
        cls.greeting = Canned.create(
            {
                "source": "greet",
                "substitution": (
                    "Здравствуйте, {first_name}! Меня зовут "
                    "{salesperson}, {company}. {unknown} stays."
                ),
                "omnichannel_team_ids": [Command.link(cls.team.id)],
            }
        )
        cls.private = Canned.create(
            {"source": "greet-private", "substitution": "Mine only"}
        )
        cls.outsider = new_test_user(
            cls.env,
            "canned_outsider",
            groups="omnichannel_inbox.group_omnichannel_user",
        )

    def test_placeholders_are_filled_for_the_customer_and_the_salesperson(self):
        conversation = self.customer_says(
            datetime(2026, 3, 10, 9, 0), session="ivan", name="Иван Петров"
        )
        conversation.user_id = self.salesman
        # The panel fills the responses of mail's suggestion service with
        # these (the tours check the text, unknown placeholders included).
        values = (
            self.env["mail.canned.response"]
            .with_user(self.salesman)
            .omnichannel_placeholder_values(conversation.id)
        )
        self.assertEqual(
            {
                name: values[name]
                for name in ("first_name", "customer", "salesperson", "company")
            },
            {
                "first_name": "Иван",
                "customer": "Иван Петров",
                "salesperson": "Olga Smirnova",
                "company": self.env.company.name,
            },
        )

    def test_suggestions_offer_the_team_shared_responses(self):
        # What mail's "::" suggestions add to the user's own and their groups'.
        Canned = self.env["mail.canned.response"]
        offered = Canned.with_user(self.salesman)._omnichannel_team_shared()
        self.assertIn(self.greeting, offered, "shared with the salesperson's team")
        self.assertNotIn(self.private, offered, "someone else's private response")
        self.assertNotIn(
            self.greeting,
            Canned.with_user(self.outsider)._omnichannel_team_shared(),
            "not a member of the team it is shared with",
        )

    def test_team_sharing(self):
        self.assertTrue(self.greeting.is_shared)
        self.assertFalse(self.private.is_shared)
        Canned = self.env["mail.canned.response"]
        self.assertIn(self.greeting, Canned.with_user(self.salesman).search([]))
        self.assertNotIn(
            self.greeting,
            Canned.with_user(self.outsider).search([]),
            "not a member of the team it is shared with",
        )
        with self.assertRaises(AccessError):
            self.greeting.with_user(self.salesman).write({"substitution": "changed"})

    def test_suggestions_need_access_to_the_conversation(self):
        other_team = self.env["crm.team"].create({"name": "Elsewhere"})
        channel = self._create_channel(
            "sandbox", name="Other chat", team_id=other_team.id
        )
        conversation = self.customer_says(
            datetime(2026, 3, 10, 9, 0), session="x", channel=channel
        )
        with self.assertRaises(AccessError):
            self.env["mail.canned.response"].with_user(
                self.salesman
            ).omnichannel_placeholder_values(conversation.id)
