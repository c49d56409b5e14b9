import itertools
import time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import html2plaintext

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ANNA = tg_user(7770001, "Anna", "Smirnova", "anna_acme")
BORIS = tg_user(7770002, "Boris", "Petrov", "boris_acme")
_updates = itertools.count(9100)


@tagged("post_install", "-at_install")
class TestCompanyHistory(OmnichannelHttpCase):
    """A client company's contacts in one history: the company's card and
    deals show them all (as far as the record rules let the reader see),
    contacts join the company when a salesperson says so or by a corporate
    email domain, and a colleague writing in is offered the company's deal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["omnichannel.routing.rule"].search([]).action_archive()
        cls.env["omnichannel.sla.policy"].search([]).action_archive()
        cls.alice = new_test_user(
            cls.env,
            login="q_company_alice",
            name="Alice",
            groups="sales_team.group_sale_salesman",
        )
        cls.dave = new_test_user(
            cls.env,
            login="q_company_dave",
            name="Dave",
            groups="sales_team.group_sale_salesman",
        )
        cls.portal = new_test_user(
            cls.env, login="q_company_portal", name="Portal", groups="base.group_portal"
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Chat sales", "member_ids": [Command.set(cls.alice.ids)]}
        )
        cls.wholesale = cls.env["crm.team"].create(
            {"name": "Wholesale", "member_ids": [Command.set(cls.dave.ids)]}
        )
        cls.acme = cls.env["res.partner"].create(
            {
                "name": "Acme Steel",
                "is_company": True,
                "website": "https://www.acme-steel.ru",
            }
        )

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(
            "555:ACME", webhook_secret="acme-secret", team_id=self.team.id
        )
        self.Conversation = self.env["omnichannel.conversation"].sudo()

    def write_in(self, user, text):
        response = self.post_webhook(
            self.channel,
            tg_update(next(_updates), user=user, text=text),
            headers={SECRET_HEADER: "acme-secret"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        conversation = self.Conversation.search(
            [
                ("channel_id", "=", self.channel.id),
                ("identity_id.provider_user_id", "=", str(user["id"])),
            ]
        )
        self.assertEqual(len(conversation), 1)
        return conversation

    def works_at(self, conversation, company, user=None):
        """The salesperson fills "Works at" on the conversation."""
        conversation.with_user(user or self.alice).customer_company_id = company
        conversation.invalidate_recordset()

    def texts(self, result):
        return [html2plaintext(m["body"]).strip() for m in result["messages"]]

    def panel(self, user, res_model, record, contact=None):
        Message = self.env["omnichannel.message"].with_user(user)
        if contact:
            Message = Message.with_context(omnichannel_panel_contact_id=contact.id)
        return Message.panel_fetch(res_model, record.id)

    def two_colleagues(self):
        anna = self.write_in(ANNA, "Anna: we need 40 tonnes of rebar")
        boris = self.write_in(BORIS, "Boris: and the delivery to Tula")
        self.works_at(anna, self.acme)
        self.works_at(boris, self.acme)
        return anna, boris

    # -- the company's history -------------------------------------------------
    def test_company_card_shows_every_contact_filterable_by_contact(self):
        anna, boris = self.two_colleagues()
        self.assertEqual(
            (anna.partner_id.parent_id, boris.partner_id.parent_id),
            (self.acme, self.acme),
            '"Works at" on the conversation sets the contact\'s company',
        )
        self.assertEqual(anna.team_id, self.team, "both wait in Alice's team")
        result = self.panel(self.alice, "res.partner", self.acme)
        texts = " ".join(self.texts(result))
        self.assertIn("40 tonnes", texts)
        self.assertIn("Tula", texts)
        self.assertEqual(
            [c["name"] for c in result["contacts"]],
            ["Anna Smirnova", "Boris Petrov"],
            "the filter lists the company's contacts who wrote in",
        )
        only_boris = self.panel(self.alice, "res.partner", self.acme, boris.partner_id)
        self.assertEqual(self.texts(only_boris), ["Boris: and the delivery to Tula"])
        self.assertIn(
            boris.id, [c["id"] for c in only_boris["conversations"]], "reply to him"
        )
        stranger = self.env["res.partner"].create({"name": "Not at Acme"})
        with self.assertRaises(UserError):
            self.panel(self.alice, "res.partner", self.acme, stranger)

        # Boris's deal is a deal of the company: it shows Anna's messages too,
        # and a reply goes to Boris by default.
        on_lead = self.panel(self.alice, "crm.lead", boris.lead_id)
        self.assertIn("Anna: we need 40 tonnes of rebar", self.texts(on_lead))
        self.assertEqual(on_lead["default_conversation_id"], boris.id)
        self.assertEqual(len(on_lead["contacts"]), 2)

    def test_contact_without_company_keeps_their_own_history(self):
        anna = self.write_in(ANNA, "Anna alone")
        self.write_in(BORIS, "Boris alone")
        result = self.panel(self.alice, "crm.lead", anna.lead_id)
        self.assertEqual(self.texts(result), ["Anna alone"])
        self.assertEqual(result["contacts"], [])

    def test_works_at_creates_the_company(self):
        anna = self.write_in(ANNA, "Hello from Nord")
        Partner = self.env["res.partner"].with_user(self.alice)
        # What the "Works at" field's "Create" does (default_is_company).
        company_id, _name = Partner.with_context(default_is_company=True).name_create(
            "Nord Logistics"
        )
        self.works_at(anna, Partner.browse(company_id))
        self.assertEqual(anna.partner_id.parent_id.name, "Nord Logistics")
        self.assertTrue(anna.partner_id.parent_id.is_company)
        result = self.panel(self.alice, "res.partner", anna.partner_id.parent_id)
        self.assertEqual(self.texts(result), ["Hello from Nord"])

    # -- access ----------------------------------------------------------------
    def test_salesperson_sees_only_the_conversations_they_may_read(self):
        anna, boris = self.two_colleagues()
        # Boris is handed to another team: Alice no longer reads him.
        boris.team_id = self.wholesale
        result = self.panel(self.alice, "res.partner", self.acme)
        self.assertEqual(self.texts(result), ["Anna: we need 40 tonnes of rebar"])
        self.assertEqual([c["name"] for c in result["contacts"]], ["Anna Smirnova"])
        self.assertNotIn(boris.id, [c["id"] for c in result["conversations"]])
        with self.assertRaises(AccessError):
            self.panel(self.alice, "res.partner", self.acme, boris.partner_id)
        # Dave (Wholesale) reads Boris only: the company's history on
        # Boris's deal, not Anna's deal (her conversations are not his).
        dave = self.panel(self.dave, "crm.lead", boris.lead_id)
        self.assertEqual(self.texts(dave), ["Boris: and the delivery to Tula"])
        self.assertEqual([c["name"] for c in dave["contacts"]], ["Boris Petrov"])
        with self.assertRaises(AccessError):
            self.panel(self.dave, "crm.lead", anna.lead_id)

    def test_other_team_and_portal_get_nothing_over_json_rpc(self):
        anna, _boris = self.two_colleagues()

        def call(login):
            self.authenticate(login, login)
            return self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": "omnichannel.message",
                    "method": "panel_fetch",
                    "args": ["res.partner", self.acme.id],
                    "kwargs": {},
                },
            )

        self.assertEqual(len(call("q_company_alice")["messages"]), 2)
        for login in ("q_company_dave", "q_company_portal"):
            with self.assertRaises(JsonRpcException, msg=login) as caught:
                call(login)
            self.assertNotIn("40 tonnes", str(caught.exception))
        self.authenticate("q_company_dave", "q_company_dave")
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": "omnichannel.conversation",
                    "method": "action_join_company_deal",
                    "args": [[anna.id]],
                    "kwargs": {},
                },
            )

    # -- attached by the email domain ------------------------------------------
    def receive_email(self, session, email, verified=True):
        """A message whose provider vouches for the sender's email (as mail
        does), through the journal and processing of the webhook flow."""
        channel = self._create_channel("sandbox", name="Mail-like")
        event = connectors.InboundMessage(
            event_id=f"ev-{session}",
            message_id=f"msg-{session}",
            sender=connectors.Contact(
                user_id=session,
                name=f"Visitor {session}",
                email=email,
                email_verified=verified,
            ),
            chat_id=session,
            date=time.time(),
            text="Hello",
        )
        rows = self._journal_and_process(channel, [event])
        self.assertEqual(rows.state, "done", rows.error_message)
        return rows.conversation_id.partner_id

    def test_corporate_email_domain_attaches_when_the_setting_is_on(self):
        gmail_fan = self.env["res.partner"].create(
            {"name": "Gmail fans", "is_company": True, "email": "club@gmail.com"}
        )
        self.assertFalse(
            self.receive_email("d1", "ivan@acme-steel.ru").parent_id,
            "off by default",
        )
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.company_by_email_domain", "True"
        )
        self.assertEqual(
            self.receive_email("d2", "olga@acme-steel.ru").parent_id, self.acme
        )
        self.assertFalse(
            self.receive_email("d3", "oleg@gmail.com").parent_id,
            "a free-mail domain says nothing of the employer",
        )
        self.assertFalse(
            self.receive_email("d4", "petr@acme-steel.ru", verified=False).parent_id,
            "a claimed address nobody vouched for attaches nothing",
        )
        # The list is editable: without gmail.com on it, the one company at
        # gmail.com would be matched.
        self.env.ref("omnichannel_inbox.freemail_gmail_com").active = False
        self.assertEqual(
            self.receive_email("d5", "lena@gmail.com").parent_id, gmail_fan
        )
        self.env["omnichannel.freemail.domain"].create({"name": "@Acme-Steel.ru "})
        self.assertFalse(self.receive_email("d6", "ira@acme-steel.ru").parent_id)

    # -- a colleague joins the company's open deal -----------------------------
    def colleague_writes_again(self, policy):
        """Anna's deal is the company's open deal; Boris (at Acme too) had a
        deal of his own, lost; he writes again."""
        self.team.omnichannel_company_deal = "never"
        anna, boris = self.two_colleagues()
        deal = anna.lead_id
        boris.lead_id.action_set_lost()
        self.team.omnichannel_company_deal = policy
        boris = self.write_in(BORIS, "Boris again: the invoice please")
        return deal, boris

    def test_colleague_joins_the_company_deal_automatically(self):
        deal, boris = self.colleague_writes_again("auto")
        self.assertEqual(boris.lead_id, deal)
        self.assertEqual(
            self.env["omnichannel.message"]
            .sudo()
            .search([("conversation_id", "=", boris.id)], order="id desc", limit=1)
            .lead_id,
            deal,
        )
        self.assertFalse(boris.company_lead_offer_id)
        self.assertIn(
            "Boris Petrov (Acme Steel) joined this deal",
            str(deal.message_ids.mapped("body")),
        )

    def test_colleague_is_offered_the_company_deal_and_joins(self):
        deal, boris = self.colleague_writes_again("ask")
        own = boris.lead_id
        self.assertTrue(own)
        self.assertNotEqual(
            own, deal, "a deal of his own until the salesperson decides"
        )
        self.assertEqual(boris.company_lead_offer_id, deal)
        self.assertEqual(
            own.omnichannel_company_offer_id, deal, "the offer shows on his deal"
        )
        action = own.with_user(self.alice).action_join_company_deal()
        self.assertEqual((action["res_model"], action["res_id"]), ("crm.lead", deal.id))
        self.assertEqual(boris.lead_id, deal)
        self.assertFalse(own.active, "the deal opened for him alone is archived")
        self.assertFalse(boris.company_lead_offer_id)
        with self.assertRaises(UserError):
            boris.with_user(self.alice).action_join_company_deal()

    def test_colleague_keeps_a_separate_deal(self):
        deal, boris = self.colleague_writes_again("ask")
        own = boris.lead_id
        boris.with_user(self.alice).action_keep_company_deal_separate()
        self.assertFalse(boris.company_lead_offer_id)
        self.write_in(BORIS, "Boris: one more thing")
        self.assertEqual(boris.lead_id, own)
        self.assertFalse(boris.company_lead_offer_id, "asked once")
        self.assertTrue(deal.active)
        with self.assertRaises(AccessError):
            boris.with_user(self.dave).action_keep_company_deal_separate()

    def test_works_at_offers_the_company_deal(self):
        anna, boris = self.two_colleagues()
        own = boris.lead_id
        self.assertEqual(
            boris.company_lead_offer_id,
            anna.lead_id,
            "once Boris works at Acme, Anna's open deal is the company's",
        )
        self.assertEqual(own.omnichannel_company_offer_id, anna.lead_id)
        self.assertFalse(
            anna.company_lead_offer_id, "the first contact's deal is the company's"
        )
        boris.with_user(self.alice).action_join_company_deal()
        self.assertEqual(boris.lead_id, anna.lead_id)
        self.assertFalse(own.active)

    def test_works_at_joins_the_company_deal_automatically(self):
        self.team.omnichannel_company_deal = "auto"
        anna, boris = self.two_colleagues()
        self.assertEqual(boris.lead_id, anna.lead_id)
        self.assertFalse(boris.company_lead_offer_id)

    def test_works_at_leaves_a_deal_made_by_hand(self):
        anna = self.write_in(ANNA, "Anna: we need 40 tonnes of rebar")
        self.works_at(anna, self.acme)
        boris = self.write_in(BORIS, "Boris: and the delivery to Tula")
        boris.lead_id.omnichannel_auto_created = False
        self.team.omnichannel_company_deal = "auto"
        self.works_at(boris, self.acme)
        self.assertNotEqual(boris.lead_id, anna.lead_id)
        self.assertFalse(boris.company_lead_offer_id)

    def test_never_join_the_company_deal(self):
        deal, boris = self.colleague_writes_again("never")
        self.assertNotEqual(boris.lead_id, deal)
        self.assertTrue(boris.lead_id)
        self.assertFalse(boris.company_lead_offer_id)


@tagged("post_install", "-at_install")
class TestCompanyHistoryTour(OmnichannelHttpCase):
    """The company's card and "Works at" in a real browser."""

    def setUp(self):
        super().setUp()
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        self.salesman = new_test_user(
            self.env,
            login="q_company_tour",
            name="Tour Salesman",
            groups="sales_team.group_sale_salesman",
        )
        team = self.env["crm.team"].create(
            {"name": "Tour team", "member_ids": [Command.set(self.salesman.ids)]}
        )
        self.channel = self._create_channel(
            "sandbox", name="Tour chat", team_id=team.id
        )

    def write_in(self, session, text, name):
        rows = self._journal_and_process(
            self.channel, [self._sandbox_event(session, text, name=name)]
        )
        return rows.conversation_id

    def test_works_at_creates_the_company_from_the_conversation(self):
        anna = self.write_in("anna", "Hello", "Anna Smirnova")
        self.start_tour(
            f"/odoo/omnichannel.conversation/{anna.id}",
            "omnichannel_company_works_at_tour",
            login="q_company_tour",
        )
        company = anna.partner_id.parent_id
        self.assertEqual(company.name, "Nord Logistics")
        self.assertTrue(company.is_company, "created as a company")

    def test_company_card_shows_its_contacts_filterable(self):
        acme = self.env["res.partner"].create(
            {"name": "Acme Steel", "is_company": True}
        )
        anna = self.write_in("anna", "We need 40 tonnes of rebar", "Anna Smirnova")
        boris = self.write_in("boris", "And the delivery to Tula", "Boris Petrov")
        (anna.partner_id | boris.partner_id).parent_id = acme
        self.start_tour(
            f"/odoo/res.partner/{acme.id}",
            "omnichannel_company_history_tour",
            login="q_company_tour",
        )

    def test_join_the_company_deal_from_the_lead(self):
        acme = self.env["res.partner"].create(
            {"name": "Acme Steel", "is_company": True}
        )
        anna = self.write_in("anna", "We need 40 tonnes of rebar", "Anna Smirnova")
        anna.lead_id.name = "Anna's deal"
        boris = self.write_in("boris", "And the delivery to Tula", "Boris Petrov")
        own = boris.lead_id
        (anna.partner_id | boris.partner_id).parent_id = acme
        self.assertEqual(boris.company_lead_offer_id, anna.lead_id)
        self.assertFalse(
            anna.company_lead_offer_id,
            "attached together: the older deal is the company's, offered to Boris only",
        )
        self.start_tour(
            f"/odoo/crm/{own.id}",
            "omnichannel_company_join_deal_tour",
            login="q_company_tour",
        )
        self.assertEqual(boris.lead_id, anna.lead_id)
        self.assertFalse(own.active)
