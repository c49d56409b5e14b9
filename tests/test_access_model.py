"""The access model, group by group, and a second company.

One office: team North (leader Lena; salespeople Sasha and Sveta), team
South (salesperson Stas), a manager, an Omnichannel administrator, and a
second company with its own manager.  Each sees exactly the conversations,
messages, identities, files, calls and journal entries of their role.

Conversations without a team (a channel without one, a routing rule that
names only a person) belong to their assignee: a team leader sees those of
their team's members, not those of another team's salesperson."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestAccessModel(OmnichannelTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.company_a = env.company
        cls.company_b = env["res.company"].create(
            {"name": "Second Shop LLC", "country_id": env.ref("base.ru").id}
        )

        def user(login, groups, company=None):
            company = company or cls.company_a
            return new_test_user(
                env,
                login=f"am_{login}",
                name=login.title(),
                groups=groups,
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
            )

        salesman = "sales_team.group_sale_salesman"
        cls.sasha = user("sasha", salesman)
        cls.sveta = user("sveta", salesman)
        cls.stas = user("stas", salesman)
        cls.lena = user(
            "lena", salesman + ",omnichannel_inbox.group_omnichannel_team_leader"
        )
        cls.manager = user("manager", "omnichannel_inbox.group_omnichannel_manager")
        cls.admin = user("ocadmin", "omnichannel_inbox.group_omnichannel_admin")
        cls.manager_b = user(
            "manager_b",
            "omnichannel_inbox.group_omnichannel_manager",
            company=cls.company_b,
        )
        cls.north = env["crm.team"].create(
            {
                "name": "North",
                "user_id": cls.lena.id,
                "member_ids": [Command.set((cls.sasha | cls.sveta).ids)],
            }
        )
        cls.south = env["crm.team"].create(
            {"name": "South", "member_ids": [Command.set(cls.stas.ids)]}
        )

        cls.channel_a = cls._create_channel(
            "sandbox", name="Shop A chat", team_id=cls.north.id, token="A-SECRET-TOKEN"
        )
        cls.channel_b = cls._create_channel(
            "sandbox", name="Shop B chat", company_id=cls.company_b.id
        )
        cls.line_a = cls._create_channel(
            "phone_webhook", name="Shop A phone", webhook_secret="pbx-secret"
        )

        def conversation(session, owner, team, channel=None):
            rows = (
                cls.env["omnichannel.inbound.event"]
                .sudo()
                ._journal(
                    channel or cls.channel_a,
                    [
                        cls._sandbox_event(
                            cls,
                            session,
                            f"Hello from {session}",
                            name=f"Customer {session}",
                        )
                    ],
                )
            )
            rows._process()
            conv = rows.conversation_id
            conv.sudo().write(
                {
                    "user_id": owner.id if owner else False,
                    "team_id": team.id if team else False,
                }
            )
            conv.lead_id.sudo().write(
                {
                    "user_id": owner.id if owner else False,
                    "team_id": team.id if team else False,
                }
            )
            # A file the customer sent, on the conversation's message.
            message = rows.message_id
            attachment = (
                cls.env["ir.attachment"]
                .sudo()
                .create(
                    {
                        "name": f"{session}.txt",
                        "raw": b"private file of " + session.encode(),
                        "res_model": "omnichannel.conversation",
                        "res_id": conv.id,
                    }
                )
            )
            message.mail_message_id.sudo().attachment_ids = [
                Command.link(attachment.id)
            ]
            return conv

        cls.c_sasha = conversation("sasha-customer", cls.sasha, cls.north)
        cls.c_sveta = conversation("sveta-customer", cls.sveta, cls.north)
        cls.c_north_free = conversation("north-waiting", None, cls.north)
        cls.c_stas = conversation("stas-customer", cls.stas, cls.south)
        cls.c_south_free = conversation("south-waiting", None, cls.south)
        cls.c_sveta_direct = conversation("sveta-direct", cls.sveta, None)
        cls.c_stas_direct = conversation("stas-direct", cls.stas, None)
        cls.c_company_b = conversation("b-customer", None, None, channel=cls.channel_b)

        # A recorded call of Sveta's customer.
        cls.call_sveta = (
            env["omnichannel.call"]
            .sudo()
            .create(
                {
                    "channel_id": cls.line_a.id,
                    "provider_call_id": "call-sveta",
                    "conversation_id": cls.c_sveta.id,
                    "user_id": cls.sveta.id,
                    "direction": "in",
                    "customer_number": "+79125550001",
                }
            )
        )
        cls.recording = (
            env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "call-sveta.mp3",
                    "raw": b"ID3 recording",
                    "res_model": "omnichannel.call",
                    "res_id": cls.call_sveta.id,
                }
            )
        )
        cls.company_a_conversations = (
            cls.c_sasha
            | cls.c_sveta
            | cls.c_north_free
            | cls.c_stas
            | cls.c_south_free
            | cls.c_sveta_direct
            | cls.c_stas_direct
        )
        cls.all_conversations = cls.company_a_conversations | cls.c_company_b

    def visible(self, user, model, records):
        return self.env[model].with_user(user).search([("id", "in", records.ids)])

    def assert_sees(self, user, expected):
        """``user`` sees exactly ``expected`` among the test's conversations,
        and likewise their messages, identities and files."""
        conversations = self.visible(
            user, "omnichannel.conversation", self.all_conversations
        )
        self.assertEqual(conversations, expected, f"conversations of {user.name}")
        messages = (
            self.env["omnichannel.message"]
            .sudo()
            .search([("conversation_id", "in", self.all_conversations.ids)])
        )
        self.assertEqual(
            self.visible(user, "omnichannel.message", messages).conversation_id,
            expected,
            f"channel messages of {user.name}",
        )
        self.assertEqual(
            self.visible(
                user, "omnichannel.identity", self.all_conversations.identity_id
            ),
            expected.identity_id,
            f"identities of {user.name}",
        )
        files = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "omnichannel.conversation"),
                    ("res_id", "in", self.all_conversations.ids),
                ]
            )
        )
        for attachment in files:
            conversation = self.env["omnichannel.conversation"].browse(
                attachment.res_id
            )
            if conversation in expected:
                self.assertTrue(
                    attachment.with_user(user).raw,
                    f"file of {conversation.display_name}",
                )
            else:
                with self.assertRaises(
                    AccessError,
                    msg=f"{user.name} reads a file of {conversation.name}",
                ):
                    attachment.with_user(user).read(["raw"])

    # -- per group -------------------------------------------------------------
    def test_inbox_user_sees_own_and_unassigned_of_own_team(self):
        self.assert_sees(self.sasha, self.c_sasha | self.c_north_free)
        self.assert_sees(
            self.sveta, self.c_sveta | self.c_north_free | self.c_sveta_direct
        )
        self.assert_sees(
            self.stas, self.c_stas | self.c_south_free | self.c_stas_direct
        )
        with self.assertRaises(AccessError):
            self.c_sveta.with_user(self.sasha).read(["name"])
        # The lead panel of a colleague's lead, and the partner panel of a
        # colleague's customer, are refused too.
        Message = self.env["omnichannel.message"].with_user(self.sasha)
        with self.assertRaises(AccessError):
            Message.panel_fetch("crm.lead", self.c_sveta.lead_id.id)
        with self.assertRaises(AccessError):
            Message.panel_fetch("res.partner", self.c_sveta.partner_id.id)
        self.assertTrue(
            Message.panel_fetch("res.partner", self.c_sasha.partner_id.id)["messages"]
        )

    def test_lead_of_another_teams_waiting_customer_shows_no_history(self):
        """Odoo lets every salesperson open any unassigned lead; the chat
        panel of that lead must not show another team's waiting customer."""
        lead = self.c_south_free.lead_id
        self.assertFalse(lead.user_id)
        self.assertTrue(
            lead.with_user(self.sasha).name,
            "Odoo's own rule: unassigned leads are open to all",
        )
        Message = self.env["omnichannel.message"].with_user(self.sasha)
        for model, record in (
            ("crm.lead", lead),
            ("res.partner", self.c_south_free.partner_id),
        ):
            with self.assertRaises(AccessError, msg=model):
                Message.panel_fetch(model, record.id)
            with self.assertRaises(AccessError, msg=model):
                Message.panel_send(
                    model, record.id, self.c_south_free.id, text="Not my customer"
                )
        self.assertFalse(
            self.c_south_free.message_ids.filtered(
                lambda m: "Not my customer" in (m.body or "")
            )
        )
        # South's own salesperson works it, and so does a salesperson who
        # takes the lead (Odoo lets any salesperson take an unassigned
        # lead): the conversations linked to it are then theirs by the
        # record rules.
        self.assertTrue(
            self.env["omnichannel.message"]
            .with_user(self.stas)
            .panel_fetch("crm.lead", lead.id)["messages"]
        )
        lead.sudo().user_id = self.sasha
        self.assertTrue(Message.panel_fetch("crm.lead", lead.id)["messages"])

    def test_team_leader_sees_the_team(self):
        north = self.c_sasha | self.c_sveta | self.c_north_free | self.c_sveta_direct
        self.assert_sees(self.lena, north)
        # The figures follow the same line.
        report = self.env["omnichannel.report.conversation"].with_user(self.lena)
        self.assertEqual(
            report.search(
                [("conversation_id", "in", self.all_conversations.ids)]
            ).conversation_id,
            north,
        )
        # Sveta's recorded call (her customer, her team) is Lena's to hear.
        self.assertEqual(
            self.visible(self.lena, "omnichannel.call", self.call_sveta),
            self.call_sveta,
        )

    def test_manager_sees_all_of_the_company(self):
        self.assert_sees(self.manager, self.company_a_conversations)
        report = self.env["omnichannel.report.conversation"].with_user(self.manager)
        self.assertEqual(
            report.search(
                [("conversation_id", "in", self.all_conversations.ids)]
            ).conversation_id,
            self.company_a_conversations,
        )

    def test_administrator_sees_all_of_the_company_and_the_secrets(self):
        self.assert_sees(self.admin, self.company_a_conversations)
        self.assertEqual(self.recording.with_user(self.admin).raw, b"ID3 recording")
        rows = (
            self.env["omnichannel.inbound.event"]
            .with_user(self.admin)
            .search([("channel_id", "=", self.channel_a.id)])
        )
        self.assertEqual(
            rows.conversation_id,
            self.c_sasha
            | self.c_sveta
            | self.c_north_free
            | self.c_stas
            | self.c_south_free
            | self.c_sveta_direct
            | self.c_stas_direct,
        )

    def test_recordings_follow_their_call(self):
        self.assertEqual(self.recording.with_user(self.sveta).raw, b"ID3 recording")
        self.assertEqual(self.recording.with_user(self.lena).raw, b"ID3 recording")
        for intruder in (self.sasha, self.stas, self.manager_b):
            with self.assertRaises(AccessError, msg=intruder.name):
                self.recording.with_user(intruder).read(["raw"])
            self.assertFalse(
                self.visible(intruder, "omnichannel.call", self.call_sveta)
            )

    def test_journal_is_for_managers_and_administrators(self):
        Journal = self.env["omnichannel.inbound.event"]
        rows = Journal.sudo().search(
            [("channel_id", "in", (self.channel_a | self.channel_b).ids)]
        )
        for user in (self.sasha, self.lena):
            with self.assertRaises(AccessError, msg=user.name):
                Journal.with_user(user).search([])
        self.assertEqual(
            Journal.with_user(self.manager).search([("id", "in", rows.ids)]),
            rows.filtered(lambda r: r.channel_id == self.channel_a),
        )
        with self.assertRaises(UserError, msg="only administrators change the journal"):
            rows.filtered(lambda r: r.channel_id == self.channel_a)[:1].with_user(
                self.manager
            ).action_retry()

    def test_secrets_only_for_administrators(self):
        for user in (self.sasha, self.lena, self.manager):
            with self.assertRaises(AccessError, msg=user.name):
                self.channel_a.with_user(user).read(["token"])
        self.assertEqual(self.channel_a.with_user(self.admin).token, "A-SECRET-TOKEN")

    # -- second company --------------------------------------------------------
    def test_second_company_sees_only_its_own(self):
        self.assert_sees(self.manager_b, self.c_company_b)
        self.assertEqual(
            self.visible(
                self.manager_b, "omnichannel.channel", self.channel_a | self.channel_b
            ),
            self.channel_b,
        )
        self.assertFalse(self.visible(self.manager_b, "crm.lead", self.c_sasha.lead_id))
        rows = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("channel_id", "=", self.channel_a.id)])
        )
        self.assertFalse(
            self.visible(self.manager_b, "omnichannel.inbound.event", rows)
        )
        report = self.env["omnichannel.report.conversation"].with_user(self.manager_b)
        self.assertFalse(
            report.search([("channel_id", "=", self.channel_a.id)]),
            "reports show only the own company",
        )
        # Configuration and logs of company A stay in company A.
        routing = (
            self.env["omnichannel.routing.rule"]
            .sudo()
            .create({"name": "VIP to Lena", "company_id": self.company_a.id})
        )
        policy = (
            self.env["omnichannel.sla.policy"]
            .sudo()
            .create({"name": "A promise", "company_id": self.company_a.id})
        )
        self.env["omnichannel.access.log"].with_user(self.manager)._log(
            self.c_sasha, "form"
        )
        access_log = (
            self.env["omnichannel.access.log"]
            .sudo()
            .search([("conversation_id", "=", self.c_sasha.id)])
        )
        privacy_log = (
            self.env["omnichannel.privacy.log"]
            .sudo()
            .create(
                {
                    "action": "export",
                    "partner_id": self.c_sasha.partner_id.id,
                    "company_id": self.company_a.id,
                }
            )
        )
        for model, records in (
            ("omnichannel.routing.rule", routing),
            ("omnichannel.sla.policy", policy),
            ("omnichannel.access.log", access_log),
            ("omnichannel.privacy.log", privacy_log),
        ):
            self.assertTrue(records, model)
            self.assertEqual(self.visible(self.manager, model, records), records, model)
            self.assertFalse(self.visible(self.manager_b, model, records), model)
        # ... and company A's manager sees nothing of company B.
        self.assertFalse(
            self.visible(self.manager, "omnichannel.conversation", self.c_company_b)
        )
        self.assertFalse(
            self.visible(self.manager, "omnichannel.channel", self.channel_b)
        )

    # -- attacks on the chat panel (issue 10, point 3) ---------------------------
    def test_a_lead_created_on_someone_elses_customer_opens_nothing(self):
        """Stas (South) creates a lead on Sveta's customer, as Odoo lets any
        salesperson do: its chat panel shows nothing of her history and
        cannot write through her conversation."""
        victim = self.c_sveta
        lead = (
            self.env["crm.lead"]
            .with_user(self.stas)
            .create({"name": "My deal", "partner_id": victim.partner_id.id})
        )
        self.assertEqual(lead.user_id, self.stas, "his own lead: Odoo lets him read it")
        Message = self.env["omnichannel.message"].with_user(self.stas)
        for model, record in (("crm.lead", lead), ("res.partner", victim.partner_id)):
            with self.assertRaises(AccessError, msg=model):
                Message.panel_fetch(model, record.id)
            with self.assertRaises(AccessError, msg=model):
                Message.panel_send(
                    model, record.id, victim.id, text="Hijack attempt 7781"
                )
        self.assertFalse(
            self.env["mail.message"]
            .sudo()
            .search([("body", "ilike", "Hijack attempt 7781")]),
            "nothing was written into her conversation",
        )
        self.assertFalse(
            self.env["omnichannel.access.log"]
            .sudo()
            .search(
                [("user_id", "=", self.stas.id), ("conversation_id", "=", victim.id)]
            ),
            "and nothing was read",
        )

    def test_moving_ones_conversation_to_another_customer_is_for_managers(self):
        """Sasha re-points her own conversation at Sveta's customer to read
        that customer's history: refused; a manager may move it."""
        mine, victim = self.c_sasha, self.c_sveta.partner_id
        with self.assertRaises(AccessError):
            mine.with_user(self.sasha).write({"partner_id": victim.id})
        self.assertNotEqual(mine.partner_id, victim)
        with self.assertRaises(AccessError):
            self.env["omnichannel.message"].with_user(self.sasha).panel_fetch(
                "res.partner", victim.id
            )
        # Her other edits of her conversation still work, and so does the manager's
        # move.
        mine.with_user(self.sasha).write({"state": "waiting"})
        mine.with_user(self.manager).write({"partner_id": victim.id})
        self.assertEqual(mine.partner_id, victim)

    def test_panel_of_a_shared_customer_shows_only_readable_conversations(self):
        """One customer wrote to North's chat (Sasha) and to South's (Stas):
        each salesperson's panel shows and answers only their own."""
        customer = self.c_sasha.partner_id
        other = self.c_stas
        other.sudo().write({"partner_id": customer.id})
        Message = self.env["omnichannel.message"].with_user(self.sasha)
        page = Message.panel_fetch("res.partner", customer.id)
        self.assertEqual(
            {m["conversation_id"] for m in page["messages"]}, {self.c_sasha.id}
        )
        self.assertEqual([c["id"] for c in page["conversations"]], [self.c_sasha.id])
        self.assertNotIn("stas-customer", str(page))
        with self.assertRaises(UserError):
            Message.panel_send(
                "res.partner", customer.id, other.id, text="Through Stas"
            )
        self.assertFalse(
            self.env["mail.message"].sudo().search([("body", "ilike", "Through Stas")])
        )
        # The call and recording of a conversation one cannot read stay hidden too.
        self.call_sveta.sudo().conversation_id = self.c_sasha
        page = (
            self.env["omnichannel.message"]
            .with_user(self.stas)
            .panel_fetch("res.partner", customer.id)
        )
        self.assertEqual({m["conversation_id"] for m in page["messages"]}, {other.id})
        self.assertFalse([m for m in page["messages"] if m["call"]])

    def test_portal_user_reads_no_panel(self):
        portal = new_test_user(self.env, login="am_portal", groups="base.group_portal")
        for model, record in (
            ("res.partner", portal.partner_id),
            ("res.partner", self.c_sasha.partner_id),
        ):
            with self.assertRaises(AccessError, msg=model):
                self.env["omnichannel.message"].with_user(portal).panel_fetch(
                    model, record.id
                )

    def test_other_companys_manager_cannot_read_export_or_forget(self):
        customer = self.c_sasha.partner_id
        Message = self.env["omnichannel.message"].with_user(self.manager_b)
        with self.assertRaises(AccessError):
            Message.panel_fetch("res.partner", customer.id)
        with self.assertRaises(AccessError):
            customer.with_user(self.manager_b)._omnichannel_export_data()
        with self.assertRaises(AccessError):
            customer.with_user(self.manager_b).action_omnichannel_forget()
        with self.assertRaises(AccessError):
            customer.with_user(self.manager_b)._omnichannel_forget()
        self.assertFalse(
            self.env["omnichannel.privacy.log"]
            .sudo()
            .search([("partner_id", "=", customer.id)])
        )
        self.assertIn(
            "Hello from sasha-customer", self.c_sasha.omnichannel_message_ids.body
        )
        # A contact shared by both companies: each manager exports only their own
        # company's conversations, and nobody forgets it alone.
        customer.sudo().company_id = False
        self.c_company_b.sudo().partner_id = customer
        data = customer.with_user(self.manager)._omnichannel_export_data()
        self.assertEqual({c["id"] for c in data["conversations"]}, {self.c_sasha.id})
        self.assertEqual(
            {m["channel"] for c in data["conversations"] for m in c["messages"]},
            {"Shop A chat"},
            "each exported message names its channel",
        )
        data = customer.with_user(self.manager_b)._omnichannel_export_data()
        self.assertEqual(
            {c["id"] for c in data["conversations"]}, {self.c_company_b.id}
        )
        with self.assertRaises(AccessError):
            customer.with_user(self.manager)._omnichannel_forget()
        self.assertIn(
            "Hello from b-customer", self.c_company_b.omnichannel_message_ids.body
        )
