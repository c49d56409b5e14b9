"""The sales head's reports on a fixed week of conversations: each report
loads, groups the way the pivot asks, and gives the expected numbers."""

from datetime import datetime

from odoo import Command
from odoo.tests import new_test_user, tagged

from .common_figures import OmnichannelFiguresCase

HOUR = 3600.0


@tagged("post_install", "-at_install")
class TestReports(OmnichannelFiguresCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ivan = new_test_user(
            cls.env,
            "reports_ivan",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Ivan Orlov",
        )
        cls.phones = cls.env["crm.team"].create(
            {"name": "Promo", "member_ids": [Command.link(cls.ivan.id)]}
        )
        cls.promo = cls._create_channel(
            "sandbox", name="Promo chat", team_id=cls.phones.id
        )
        cls.mailbox = cls._create_channel(
            "email", name="Sales mailbox", team_id=cls.team.id
        )

    def setUp(self):
        super().setUp()
        olga = self.salesman
        # Monday 2 March: Anna (answered in 10 min, SLA met, then a later
        # question answered in 30 min), Boris (answered in 1 h, SLA breached).
        self.anna = self.customer_says(
            datetime(2026, 3, 2, 7, 0),
            "Нужны кресла",
            session="anna",
            name="Anna Volkova",
            email="anna@example.com",
        )
        self.anna.sla_deadline = datetime(2026, 3, 2, 7, 15)
        self.reply(self.anna, datetime(2026, 3, 2, 7, 10), user=olga)
        self.customer_says(datetime(2026, 3, 2, 8, 0), "А доставка?", session="anna")
        self.reply(self.anna, datetime(2026, 3, 2, 8, 30), user=olga)
        self.boris = self.customer_says(
            datetime(2026, 3, 2, 9, 0), "Price?", session="boris", name="Boris Lebedev"
        )
        self.boris.sla_deadline = datetime(2026, 3, 2, 9, 15)
        self.reply(self.boris, datetime(2026, 3, 2, 10, 0), user=olga)
        # Tuesday 3 March: Vera is never answered (her deadline passed), Gleb
        # writes to the Promo chat and Ivan answers in 20 minutes.
        self.vera = self.customer_says(
            datetime(2026, 3, 3, 6, 0), "Hello?", session="vera", name="Vera Kim"
        )
        self.vera.sla_deadline = datetime(2026, 3, 3, 6, 15)
        self.gleb = self.customer_says(
            datetime(2026, 3, 3, 7, 0),
            "Discount?",
            session="gleb",
            name="Gleb Popov",
            channel=self.promo,
        )
        self.reply(self.gleb, datetime(2026, 3, 3, 7, 20), user=self.ivan)
        # Outcomes: Anna's and Gleb's leads won, Boris's and Vera's lost.
        self.anna.lead_id.expected_revenue = 1000
        self.anna.lead_id.action_set_won()
        self.gleb.lead_id.expected_revenue = 500
        self.gleb.lead_id.action_set_won()
        self.boris.lead_id.action_set_lost()
        self.vera.lead_id.action_set_lost()
        # Wednesday 4 March: Anna, who started in the chat, now writes an email.
        self.anna_mail = self.known_customer_says(
            self.mailbox,
            self.anna.partner_id,
            datetime(2026, 3, 4, 10, 0),
            "Spec attached",
            session="anna@example.com",
        )
        self.env.flush_all()

    def group(self, model, groupby, aggregates, domain=(), **context):
        """Rows of ``model`` grouped like a pivot asks:
        {group key: {aggregate: value}}."""
        Report = self.env[model].with_context(**context)
        rows = Report.formatted_read_group(list(domain), groupby, aggregates)
        result = {}
        for row in rows:
            key = tuple(
                row[g][0] if isinstance(row[g], tuple) else row[g] for g in groupby
            )
            result[key[0] if len(key) == 1 else key] = {a: row[a] for a in aggregates}
        return result

    def test_dataset(self):
        self.assertEqual(
            self.anna_mail.partner_id,
            self.anna.partner_id,
            "the same customer on two channels",
        )
        self.assertNotEqual(
            self.anna_mail.lead_id, self.anna.lead_id, "a won lead is not reused"
        )

    def test_response_times_by_salesperson_team_and_account(self):
        by_user = self.group(
            "omnichannel.report.response",
            ["user_id"],
            ["__count", "response_hours:avg", "response_hours_median:avg"],
        )
        self.assertEqual(by_user[self.salesman.id]["__count"], 3)
        self.assertAlmostEqual(
            by_user[self.salesman.id]["response_hours:avg"],
            (600 + 1800 + 3600) / 3 / HOUR,
        )
        self.assertAlmostEqual(
            by_user[self.salesman.id]["response_hours_median:avg"], 1800 / HOUR
        )
        self.assertAlmostEqual(by_user[self.ivan.id]["response_hours:avg"], 1200 / HOUR)

        by_team = self.group("omnichannel.report.response", ["team_id"], ["__count"])
        self.assertEqual(
            {k: v["__count"] for k, v in by_team.items()},
            {self.team.id: 3, self.phones.id: 1},
        )
        by_account = self.group(
            "omnichannel.report.response",
            ["channel_id"],
            ["__count", "response_hours:avg"],
        )
        self.assertEqual(by_account[self.channel.id]["__count"], 3)
        self.assertAlmostEqual(
            by_account[self.promo.id]["response_hours:avg"], 1200 / HOUR
        )
        by_type = self.group(
            "omnichannel.report.response", ["channel_type"], ["__count"]
        )
        self.assertEqual(by_type, {"sandbox": {"__count": 4}})

    def test_first_responses_and_sla_compliance(self):
        total = self.group(
            "omnichannel.report.response",
            [],
            [
                "__count",
                "sla_compliance:avg",
                "sla_breached_count:sum",
                "business_hours:avg",
            ],
        )
        [total] = total.values()
        self.assertEqual(total["__count"], 4)
        self.assertEqual(
            total["sla_compliance:avg"],
            50.0,
            "one reply met its deadline, one breached it",
        )
        self.assertEqual(total["sla_breached_count:sum"], 1)
        self.assertAlmostEqual(
            total["business_hours:avg"],
            (600 + 1800 + 3600 + 1200) / 4 / HOUR,
            msg="all the waits were inside working hours",
        )
        [first] = self.group(
            "omnichannel.report.response",
            [],
            ["__count", "response_hours:avg", "response_hours_median:avg"],
            domain=[("is_first_response", "=", True)],
        ).values()
        self.assertEqual(first["__count"], 3)
        self.assertAlmostEqual(
            first["response_hours:avg"], (600 + 3600 + 1200) / 3 / HOUR
        )
        self.assertAlmostEqual(first["response_hours_median:avg"], 1200 / HOUR)

    def test_weekday_and_hour_in_the_readers_timezone(self):
        by_weekday = self.group(
            "omnichannel.report.response", ["weekday"], ["__count"], tz="Europe/Moscow"
        )
        self.assertEqual(
            {k: v["__count"] for k, v in by_weekday.items()}, {"1": 3, "2": 1}
        )
        by_hour = self.group(
            "omnichannel.report.response", ["hour"], ["__count"], tz="Europe/Moscow"
        )
        self.assertEqual(
            {k: v["__count"] for k, v in by_hour.items()}, {"10": 2, "11": 1, "12": 1}
        )
        by_hour_utc = self.group(
            "omnichannel.report.response", ["hour"], ["__count"], tz="UTC"
        )
        self.assertEqual(
            {k: v["__count"] for k, v in by_hour_utc.items()},
            {"07": 2, "08": 1, "09": 1},
        )

    def test_period_filter(self):
        monday = self.group(
            "omnichannel.report.response",
            [],
            ["__count"],
            domain=[
                ("date", ">=", "2026-03-02 00:00:00"),
                ("date", "<", "2026-03-03 00:00:00"),
            ],
        )
        self.assertEqual(list(monday.values())[0]["__count"], 3)
        by_day = self.group(
            "omnichannel.report.conversation", ["date:day"], ["__count"]
        )
        self.assertEqual([v["__count"] for v in by_day.values()], [2, 2, 1])

    def test_conversations_never_answered_and_first_response_sla(self):
        by_type = self.group(
            "omnichannel.report.conversation",
            ["channel_type"],
            [
                "__count",
                "never_answered_count:sum",
                "first_response_hours:avg",
                "first_response_hours_median:avg",
            ],
        )
        self.assertEqual(by_type["sandbox"]["__count"], 4)
        self.assertEqual(by_type["sandbox"]["never_answered_count:sum"], 1, "Vera")
        self.assertAlmostEqual(
            by_type["sandbox"]["first_response_hours:avg"],
            (600 + 3600 + 1200) / 3 / HOUR,
        )
        self.assertAlmostEqual(
            by_type["sandbox"]["first_response_hours_median:avg"], 1200 / HOUR
        )
        self.assertEqual(by_type["email"]["never_answered_count:sum"], 1)
        self.assertFalse(by_type["email"]["first_response_hours:avg"])

        by_sla = self.group(
            "omnichannel.report.conversation", ["first_response_sla"], ["__count"]
        )
        self.assertEqual(
            {k: v["__count"] for k, v in by_sla.items()},
            {"met": 1, "breached": 2, False: 2},
            "Vera, unanswered past her deadline, breached it",
        )
        [total] = self.group(
            "omnichannel.report.conversation", [], ["sla_compliance:avg"]
        ).values()
        self.assertAlmostEqual(total["sla_compliance:avg"], 100 / 3)

    def test_channel_switching(self):
        switches = self.group(
            "omnichannel.report.conversation",
            ["customer_first_channel_type", "channel_type"],
            ["channel_switch_count:sum"],
        )
        self.assertEqual(switches[("sandbox", "email")]["channel_switch_count:sum"], 1)
        self.assertEqual(
            sum(v["channel_switch_count:sum"] for v in switches.values()),
            1,
            "a customer who stayed in the chat did not switch",
        )
        row = self.env["omnichannel.report.conversation"].search(
            [("channel_switch_count", "=", 1)]
        )
        self.assertEqual(row.conversation_id, self.anna_mail)

    def test_conversion_and_revenue_by_channel_and_source(self):
        by_account = self.group(
            "omnichannel.report.lead",
            ["channel_id"],
            [
                "__count",
                "won_count:sum",
                "won_revenue:sum",
                "conversion_rate:avg",
                "lost_late_count:sum",
                "lost_unanswered_count:sum",
            ],
        )
        site = by_account[self.channel.id]
        self.assertEqual(
            (site["__count"], site["won_count:sum"], site["won_revenue:sum"]),
            (3, 1, 1000),
        )
        self.assertAlmostEqual(site["conversion_rate:avg"], 100 / 3)
        self.assertEqual(
            site["lost_late_count:sum"], 1, "Boris: lost after a late first answer"
        )
        self.assertEqual(
            site["lost_unanswered_count:sum"], 1, "Vera: lost, never answered"
        )
        self.assertEqual(by_account[self.promo.id]["won_revenue:sum"], 500)
        self.assertEqual(
            by_account[self.mailbox.id]["__count"], 1, "Anna's new request by email"
        )

        by_source = self.group(
            "omnichannel.report.lead", ["source_id"], ["__count", "won_revenue:sum"]
        )
        sandbox_source = self.channel.source_id
        self.assertEqual(
            by_source[sandbox_source.id], {"__count": 4, "won_revenue:sum": 1500}
        )
        self.assertEqual(by_source[self.mailbox.source_id.id]["__count"], 1)

        lost_late = self.env["omnichannel.report.lead"].search(
            [("lost_late_count", "=", 1)]
        )
        self.assertEqual(lost_late.lead_id, self.boris.lead_id)
        self.assertEqual(lost_late.first_response_sla, "breached")

    def test_team_leader_reads_only_their_teams(self):
        leader = new_test_user(
            self.env,
            "reports_leader",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
        )
        self.phones.user_id = leader
        rows = self.env["omnichannel.report.response"].with_user(leader).search([])
        self.assertEqual(rows.user_id, self.ivan)
        leads = self.env["omnichannel.report.lead"].with_user(leader).search([])
        self.assertEqual(leads.lead_id, self.gleb.lead_id)

    def test_every_report_view_loads(self):
        for xmlid in (
            "omnichannel_report_response_action",
            "omnichannel_report_conversation_action",
            "omnichannel_report_lead_action",
            "omnichannel_report_channel_switch_action",
            "omnichannel_report_lead_lost_late_action",
            "omnichannel_journal_action",
        ):
            action = self.env["ir.actions.act_window"]._for_xml_id(
                f"omnichannel_inbox.{xmlid}"
            )
            model = self.env[action["res_model"]]
            views = [(False, mode) for mode in action["view_mode"].split(",")] + [
                (False, "search")
            ]
            result = model.get_views(views)
            self.assertEqual(set(result["views"]), {mode for _id, mode in views}, xmlid)
            self.assertTrue(model.search_count([]), f"{xmlid} shows the week")

    def test_dashboard_figures(self):
        data = self.env["omnichannel.dashboard"].get_dashboard_data(days=3660)
        self.assertEqual(data["conversations"]["__count"], 5)
        self.assertEqual(data["conversations"]["never_answered_count:sum"], 2)
        self.assertEqual(data["leads"]["won_revenue:sum"], 1500)
        self.assertEqual(data["responses"]["sla_compliance:avg"], 50.0)
        self.assertEqual(data["waiting_now"], 2, "Vera and Anna by email")
        self.assertEqual(
            {c["channel_type"] for c in data["channels"]}, {"sandbox", "email"}
        )

    def test_dashboard_counts_unreadable_requests(self):
        """Requests no connector could read are counted for those who may
        open the inbound journal (managers and administrators), and the
        card's action lists them."""

        def unreadable(user=None):
            dashboard = self.env["omnichannel.dashboard"]
            return (
                dashboard.with_user(user) if user else dashboard
            ).get_dashboard_data()["journal_unreadable"]

        before = unreadable()
        channel = self._create_channel("sandbox", name="Unreadable source")
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            ._journal_request(
                channel,
                channel._get_connector(),
                b'{"text": "a message without session"}',
            )
        )
        row._read_request()
        self.assertEqual(row.state, "unreadable")
        self.assertEqual(unreadable(), before + 1)
        manager = new_test_user(
            self.env,
            "reports_manager",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        self.assertEqual(unreadable(manager), before + 1)
        leader = new_test_user(
            self.env,
            "reports_leader2",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
        )
        self.assertIsNone(unreadable(leader), "no journal access, no journal figure")
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_inbox.omnichannel_inbound_event_action_unreadable"
        )
        views = self.env["omnichannel.inbound.event"].get_views([(False, "search")])
        self.assertIn(
            "search_default_unreadable",
            action["context"],
            "the card opens the Unreadable ones",
        )
        self.assertIn('name="unreadable"', views["views"]["search"]["arch"])
