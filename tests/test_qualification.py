import itertools
from ast import literal_eval

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_updates = itertools.count(18001)


@tagged("post_install", "-at_install")
class TestQualification(OmnichannelHttpCase):
    """New requests wait in Incoming, without a lead, on a Telegram bot whose
    team asks for qualification; everything arrives through the webhook."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(
            cls.env,
            login="q18_alice",
            name="Alice",
            email="alice@example.com",
            groups="sales_team.group_sale_salesman",
        )
        cls.dave = new_test_user(
            cls.env,
            login="q18_dave",
            name="Dave",
            email="dave@example.com",
            groups="sales_team.group_sale_salesman",
        )
        cls.portal = new_test_user(
            cls.env, login="q18_portal", name="Portal", groups="base.group_portal"
        )
        # Routing gives the team's work to its on-duty substitute, whatever
        # the hour the test runs at.
        cls.env["omnichannel.routing.rule"].search([]).action_archive()
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Chat sales",
                "member_ids": [Command.set(cls.alice.ids)],
                "omnichannel_on_duty_user_id": cls.alice.id,
                "omnichannel_qualification": True,
            }
        )
        cls.other_team = cls.env["crm.team"].create(
            {"name": "Wholesale", "member_ids": [Command.set(cls.dave.ids)]}
        )

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(team_id=self.team.id)
        self.Conversation = self.env["omnichannel.conversation"]
        self.Lead = self.env["crm.lead"].with_context(active_test=False)

    def send(self, text, user_id=7770001, first_name="Anna"):
        user = tg_user(user_id=user_id, first_name=first_name, username=f"u{user_id}")
        response = self.post_webhook(
            self.channel,
            tg_update(next(_updates), user=user, text=text),
            headers={SECRET_HEADER: "s3cret-token"},
        )
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        return self.Conversation.search(
            [
                ("channel_id", "=", self.channel.id),
                ("identity_id.provider_user_id", "=", str(user_id)),
            ]
        )

    def leads_of(self, conversation):
        return self.Lead.search([("partner_id", "=", conversation.partner_id.id)])

    def incoming(self, user):
        return self.Conversation.with_user(user).search(
            [("qualification_state", "=", "to_qualify")]
        )

    # -- the queue -------------------------------------------------------------
    def test_new_customer_waits_in_incoming_then_qualified_and_routed(self):
        conversation = self.send("Сколько стоит доставка кресел?")
        self.assertEqual(conversation.qualification_state, "to_qualify")
        self.assertFalse(conversation.lead_id)
        self.assertFalse(self.leads_of(conversation), "no lead before qualification")
        self.assertFalse(conversation.user_id, "nobody is assigned while it waits")
        self.assertEqual(self.incoming(self.alice), conversation)
        self.assertFalse(self.incoming(self.dave), "another team's queue")
        self.send("И ещё столы")
        self.assertFalse(self.leads_of(conversation), "still none")
        self.assertEqual(conversation.qualification_text, "И ещё столы")

        conversation.with_user(self.alice).action_qualify()
        self.env.invalidate_all()
        lead = conversation.lead_id
        self.assertTrue(lead)
        self.assertEqual(conversation.qualification_state, "qualified")
        self.assertEqual(conversation.qualification_user_id, self.alice)
        self.assertEqual(conversation.user_id, self.alice, "routing assigned it")
        self.assertEqual(lead.user_id, self.alice)
        self.assertEqual(lead.team_id, self.team)
        self.assertEqual(
            set(
                conversation.omnichannel_message_ids.filtered(
                    lambda m: m.direction == "in"
                ).lead_id.ids
            ),
            {lead.id},
            "the messages that waited join the lead",
        )
        self.assertFalse(self.incoming(self.alice))
        self.send("Когда привезёте?")
        self.assertEqual(self.leads_of(conversation), lead, "one lead, no second one")
        with self.assertRaises(UserError):
            conversation.with_user(self.alice).action_qualify()

    def test_channel_setting_wins_over_the_team(self):
        self.channel.qualification_mode = "off"
        conversation = self.send("Hello")
        self.assertFalse(conversation.qualification_state)
        self.assertTrue(conversation.lead_id, "leads at once, as before")
        self.team.omnichannel_qualification = False
        self.channel.qualification_mode = "on"
        other = self.send("Hi", user_id=7770002, first_name="Boris")
        self.assertEqual(other.qualification_state, "to_qualify")
        self.assertFalse(other.lead_id)

    def test_customer_with_an_open_lead_is_not_held_back(self):
        # A known customer, whose Telegram account the bot already knows,
        # with a deal in progress.
        customer = self.env["res.partner"].create({"name": "Known customer"})
        lead = self.env["crm.lead"].create(
            {"name": "Known deal", "partner_id": customer.id, "team_id": self.team.id}
        )
        self.env["omnichannel.identity"].sudo().create(
            {
                "channel_id": self.channel.id,
                "provider_user_id": "7770009",
                "chat_id": "7770009",
                "name": "Known customer",
                "partner_id": customer.id,
            }
        )
        conversation = self.send("Это снова я", user_id=7770009)
        self.assertEqual(conversation.partner_id, customer)
        self.assertFalse(conversation.qualification_state)
        self.assertEqual(conversation.lead_id, lead)
        self.assertFalse(self.incoming(self.alice))
        # Spam from a known customer's account (hacked) never archives
        # their deal, and is undone without sending them back to Incoming.
        conversation.with_user(self.alice).action_mark_spam()
        self.assertTrue(lead.active)
        self.assertTrue(conversation.identity_id.blocked)
        conversation.with_user(self.alice).action_not_spam()
        self.assertEqual(conversation.qualification_state, "qualified")
        self.assertEqual(conversation.lead_id, lead)
        self.assertFalse(self.incoming(self.alice))

    # -- not a lead ------------------------------------------------------------
    def test_not_a_lead_closes_with_a_reason_and_no_lead(self):
        conversation = self.send("Предлагаем канцтовары оптом")
        action = conversation.with_user(self.alice).action_open_not_lead_wizard()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.alice)
            .with_context(action["context"])
            .create({"reason": "supplier", "note": "office supplies"})
        )
        wizard.action_confirm()
        self.env.invalidate_all()
        self.assertRecordValues(
            conversation,
            [
                {
                    "qualification_state": "not_lead",
                    "not_lead_reason": "supplier",
                    "qualification_note": "office supplies",
                    "state": "closed",
                    "lead_id": False,
                }
            ],
        )
        self.assertIn("Supplier", "".join(conversation.message_ids.mapped("body")))
        self.assertFalse(self.incoming(self.alice))
        self.send("Так что насчёт канцтоваров?")
        self.assertEqual(conversation.state, "open", "the supplier is still answered")
        self.assertFalse(self.leads_of(conversation), "but no deal is opened")
        self.assertEqual(conversation.user_id, self.alice, "routed to be answered")

    # -- spam ------------------------------------------------------------------
    def test_spam_blocks_archives_hides_and_is_undone(self):
        conversation = self.send("Hello")
        conversation.with_user(self.alice).action_qualify()
        lead = conversation.lead_id
        self.assertTrue(lead.active)
        report = self.env["omnichannel.report.conversation"]
        self.env.flush_all()  # the reports are SQL views
        self.assertIn(conversation, report.search([]).conversation_id)
        self.assertIn(lead, self.env["omnichannel.report.lead"].search([]).lead_id)

        conversation.with_user(self.alice).action_mark_spam()
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(conversation.qualification_state, "spam")
        self.assertEqual(conversation.state, "closed")
        self.assertTrue(conversation.identity_id.blocked)
        self.assertFalse(lead.active, "the lead the spam created is archived")
        self.assertFalse(conversation.lead_id)
        self.assertNotIn(conversation, report.search([]).conversation_id)
        self.assertNotIn(lead, self.env["omnichannel.report.lead"].search([]).lead_id)
        overview = self.env.ref("omnichannel_inbox.omnichannel_journal_action")
        self.assertNotIn(
            conversation, self.Conversation.search(literal_eval(overview.domain))
        )
        qualification = self.env["omnichannel.report.qualification"].search(
            [("channel_id", "=", self.channel.id)]
        )
        self.assertEqual(sum(qualification.mapped("spam_count")), 1)
        self.assertEqual(sum(qualification.mapped("junk_count")), 1)

        messages = len(conversation.omnichannel_message_ids)
        notified = self.env["mail.notification"].search_count([])
        self.send("BUY NOW http://spam.example")
        self.assertEqual(len(conversation.omnichannel_message_ids), messages)
        self.assertFalse(
            self.env["mail.message"].search([("body", "ilike", "BUY NOW")]),
            "nothing posted",
        )
        self.assertEqual(self.env["mail.notification"].search_count([]), notified)
        self.assertEqual(conversation.state, "closed")
        self.assertFalse(self.leads_of(conversation).filtered("active"))
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("channel_id", "=", self.channel.id)], order="id desc", limit=1)
        )
        self.assertEqual(row.state, "ignored", "journaled, nothing more")

        conversation.with_user(self.alice).action_not_spam()
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertFalse(conversation.identity_id.blocked)
        self.assertTrue(lead.active)
        self.assertEqual(conversation.lead_id, lead)
        self.assertEqual(conversation.qualification_state, "qualified")
        self.assertIn(conversation, report.search([]).conversation_id)
        self.assertIn(lead, self.env["omnichannel.report.lead"].search([]).lead_id)
        self.send("Sorry, my account was hacked")
        self.assertEqual(len(conversation.omnichannel_message_ids), messages + 1)
        self.assertEqual(conversation.state, "open")

    def test_spam_of_a_new_request_goes_back_to_incoming_when_undone(self):
        conversation = self.send("http://casino.example")
        conversation.with_user(self.alice).action_mark_spam()
        self.env.invalidate_all()
        self.assertFalse(self.leads_of(conversation), "nothing was created")
        self.assertFalse(self.incoming(self.alice))
        conversation.with_user(self.alice).action_not_spam()
        self.env.invalidate_all()
        self.assertEqual(self.incoming(self.alice), conversation)

    # -- spam hints ------------------------------------------------------------
    def test_spam_hints_only_suggest(self):
        links = self.send("https://t.me/cheap_followers www.example.com", user_id=1)
        self.assertIn("only links", links.spam_hint)
        self.assertEqual(links.qualification_state, "to_qualify", "nothing decided")
        self.assertFalse(links.identity_id.blocked)

        self.env["omnichannel.spam.phrase"].create({"name": "Lottery Winner"})
        phrase = self.send("Hi! You are our LOTTERY WINNER today", user_id=2)
        self.assertIn('"Lottery Winner"', phrase.spam_hint)
        shipped = self.send("Заработок без вложений, пишите", user_id=5)
        self.assertIn('"заработок без вложений"', shipped.spam_hint)
        self.assertNotIn("links", phrase.spam_hint)

        self.env["ir.config_parameter"].set_param(
            "omnichannel_inbox.spam_burst_count", 3
        )
        for text in ("a", "b"):
            burst = self.send(text, user_id=3)
        self.assertFalse(burst.spam_hint)
        burst = self.send("c", user_id=3)
        self.assertIn("burst", burst.spam_hint)
        self.assertEqual(len(burst.omnichannel_message_ids), 3, "nothing deleted")

        normal = self.send("Нужен диван, есть ссылка https://shop.example/sofa", 4)
        self.assertFalse(normal.spam_hint)

    def test_channels_without_qualification_get_no_hints(self):
        self.channel.qualification_mode = "off"
        conversation = self.send("http://spam.example")
        self.assertFalse(conversation.spam_hint)
        self.assertFalse(conversation.qualification_state)

    # -- language --------------------------------------------------------------
    def test_background_texts_in_the_readers_language(self):
        """The hint and the notes are in the language of who reads them (the
        team leader's here), never written by the webhook's public user.
        (Odoo reads code translations through the module's .pot: this needs
        the template regenerated with the qualification's strings.)"""
        self._load_russian()
        self.team.user_id = new_test_user(
            self.env,
            login="q18_leader",
            name="Leader",
            lang="ru_RU",
            groups="sales_team.group_sale_salesman",
        )
        links = self.send("https://spam.example/win", user_id=11)
        self.assertEqual(links.spam_hint, "первое сообщение — только ссылки")
        supplier = self.send("Предлагаем канцтовары", user_id=12)
        self.env["omnichannel.not.lead.wizard"].with_user(self.alice).create(
            {"conversation_id": supplier.id, "reason": "supplier"}
        ).action_confirm()
        self.assertIn(
            "Не лид (Поставщик), решил(а) Alice.",
            "".join(supplier.message_ids.mapped("body")),
        )
        public = self.env.ref("base.public_partner")
        self.assertNotIn(public, (links | supplier).message_ids.author_id)

    # -- access ----------------------------------------------------------------
    def test_other_team_and_portal_cannot_act(self):
        conversation = self.send("Hello")
        for user in (self.dave, self.portal):
            for method in (
                "action_qualify",
                "action_mark_spam",
                "action_open_not_lead_wizard",
            ):
                with self.assertRaises(AccessError, msg=f"{user.login} {method}"):
                    getattr(conversation.with_user(user), method)()
        with self.assertRaises(AccessError):
            self.env["omnichannel.not.lead.wizard"].with_user(self.dave).create(
                {"conversation_id": conversation.id, "reason": "other"}
            ).action_confirm()
        self.env.invalidate_all()
        self.assertEqual(conversation.qualification_state, "to_qualify")
        self.assertFalse(conversation.identity_id.blocked)

    def test_json_rpc_of_other_team_and_portal_is_refused(self):
        conversation = self.send("Hello")
        for login in ("q18_dave", "q18_portal"):
            self.authenticate(login, login)
            for method in ("action_qualify", "action_mark_spam", "action_not_spam"):
                with self.assertRaises(JsonRpcException, msg=f"{login} {method}"):
                    self.make_jsonrpc_request(
                        "/web/dataset/call_kw",
                        {
                            "model": "omnichannel.conversation",
                            "method": method,
                            "args": [[conversation.id]],
                            "kwargs": {},
                        },
                    )
        self.env.invalidate_all()
        self.assertEqual(conversation.qualification_state, "to_qualify")
        self.assertFalse(conversation.identity_id.blocked)
        self.assertFalse(self.leads_of(conversation))
        # The team's salesperson may.
        self.authenticate("q18_alice", "q18_alice")
        self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "omnichannel.conversation",
                "method": "action_qualify",
                "args": [[conversation.id]],
                "kwargs": {},
            },
        )
        self.env.invalidate_all()
        self.assertEqual(conversation.qualification_state, "qualified")
        self.assertTrue(conversation.lead_id)


@tagged("post_install", "-at_install")
class TestQualificationTour(OmnichannelHttpCase):
    """A salesperson works the requests waiting for qualification in a real
    browser: from Incoming requests, and from the inbox."""

    def setUp(self):
        super().setUp()
        self.alice = new_test_user(
            self.env,
            login="q18_tour_alice",
            name="Alice Qualify",
            groups="sales_team.group_sale_salesman",
        )
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        team = self.env["crm.team"].create(
            {
                "name": "Qualified sales",
                "member_ids": [Command.set(self.alice.ids)],
                "omnichannel_on_duty_user_id": self.alice.id,
                "omnichannel_qualification": True,
            }
        )
        channel = self._create_channel(
            "sandbox", name="Qualification chat", team_id=team.id
        )
        for session, name, text in (
            ("ivan", "Иван Петров", "Нужны 40 кресел в офис"),
            ("spam", "Spam Sender", "https://spam.example/win"),
        ):
            self._journal_and_process(
                channel, [self._sandbox_event(session, text, name=name)]
            )
        conversations = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        self.assertEqual(
            set(conversations.mapped("qualification_state")), {"to_qualify"}
        )
        self.ivan = conversations.filtered(lambda c: c.partner_id.name == "Иван Петров")
        self.spam = conversations - self.ivan

    def tour(self, url, name):
        self.start_tour(url, name, login="q18_tour_alice")

    def test_salesperson_qualifies_from_incoming(self):
        self.tour(
            "/odoo/action-omnichannel_inbox.omnichannel_incoming_action",
            "omnichannel_qualification_tour",
        )
        self.assertEqual(self.ivan.qualification_state, "qualified")
        self.assertEqual(self.ivan.user_id, self.alice)
        self.assertTrue(self.ivan.lead_id)
        self.assertEqual(self.ivan.lead_id.user_id, self.alice)
        self.assertEqual(self.spam.qualification_state, "to_qualify", "only suggested")

    def test_salesperson_marks_spam_from_the_inbox(self):
        self.tour(
            "/odoo/action-omnichannel_inbox.omnichannel_inbox_action",
            "omnichannel_qualification_inbox_tour",
        )
        self.assertEqual(self.spam.qualification_state, "spam")
        self.assertTrue(self.spam.identity_id.blocked)
        self.assertEqual(self.ivan.qualification_state, "to_qualify")
