"""Issue 17, weekly digest: the sales head's KPIs in Odoo's digest email,
each beside the previous period, and the dashboard's period-over-period
figures and trend charts, on two weeks of conversations played through the
journal (customer messages), the reply flow and the SLA deadline."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase
from .common_figures import OmnichannelFiguresCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .test_telegram import SECRET_HEADER

#: the digest is computed on Sunday evening: "Last 7 Days" is 8-15 March,
#: the period before it 1-8 March
SUNDAY = datetime(2026, 3, 15, 20, 0)
CURRENT = (datetime(2026, 3, 8, 20, 0), SUNDAY)
PREVIOUS = (datetime(2026, 3, 1, 20, 0), datetime(2026, 3, 8, 20, 0))
KPIS = ["first_response", "sla_met", "lost_waiting", "never_answered", "conversations"]


@tagged("post_install", "-at_install")
class TestOmnichannelDigest(OmnichannelFiguresCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailbox = cls._create_channel(
            "email", name="Sales mailbox", team_id=cls.team.id
        )
        cls.leader = new_test_user(
            cls.env,
            "digest_leader",
            email="leader@example.com",
            name="Irina Head",
            groups="omnichannel_inbox.group_omnichannel_manager",
            tz="Europe/Moscow",
        )

    def setUp(self):
        super().setUp()
        # Previous week: Anna answered in 10 min (SLA met), Boris in 60 min
        # (breached, then lost), Vera never (her deadline passed, lost).
        anna = self.customer_says(
            datetime(2026, 3, 2, 7, 0), "Нужны кресла", session="anna", name="Anna"
        )
        anna.sla_deadline = datetime(2026, 3, 2, 7, 15)
        self.reply(anna, datetime(2026, 3, 2, 7, 10))
        boris = self.customer_says(
            datetime(2026, 3, 2, 9, 0), "Price?", session="boris", name="Boris"
        )
        boris.sla_deadline = datetime(2026, 3, 2, 9, 15)
        self.reply(boris, datetime(2026, 3, 2, 10, 0))
        vera = self.customer_says(
            datetime(2026, 3, 3, 6, 0), "Hello?", session="vera", name="Vera"
        )
        vera.sla_deadline = datetime(2026, 3, 3, 6, 15)
        with freeze_time(datetime(2026, 3, 5, 12, 0)):
            boris.lead_id.action_set_lost()
            vera.lead_id.action_set_lost()
        # This week: Dina answered in 20 min and Egor in 40 min (both within
        # their deadlines); Fedor emails and nobody answers, he is lost.
        dina = self.customer_says(
            datetime(2026, 3, 9, 7, 0), "Доставка?", session="dina", name="Dina"
        )
        dina.sla_deadline = datetime(2026, 3, 9, 8, 0)
        self.reply(dina, datetime(2026, 3, 9, 7, 20))
        egor = self.customer_says(
            datetime(2026, 3, 10, 7, 0), "Скидка?", session="egor", name="Egor"
        )
        egor.sla_deadline = datetime(2026, 3, 10, 8, 0)
        self.reply(egor, datetime(2026, 3, 10, 7, 40))
        fedor = self.env["res.partner"].create(
            {"name": "Fedor", "email": "fedor@example.com"}
        )
        fedor_mail = self.known_customer_says(
            self.mailbox,
            fedor,
            datetime(2026, 3, 11, 10, 0),
            "Spec",
            session="fedor@example.com",
        )
        with freeze_time(datetime(2026, 3, 13, 12, 0)):
            fedor_mail.lead_id.action_set_lost()
        self.env.flush_all()

    def kpis(self, start, end, user=None):
        digest = self.env.ref("digest.digest_digest_default").with_user(
            user or self.leader
        )
        digest = digest.with_context(start_datetime=start, end_datetime=end)
        values = {name: digest[f"kpi_omnichannel_{name}_value"] for name in KPIS}
        # The values depend on the context's period: computed again each time
        # (the digest invalidates them the same way).
        digest.invalidate_model([f"kpi_omnichannel_{name}_value" for name in KPIS])
        return values

    def test_default_digest_has_the_kpis(self):
        digest = self.env.ref("digest.digest_digest_default")
        self.assertTrue(all(digest[f"kpi_omnichannel_{name}"] for name in KPIS))
        for name in KPIS:
            self.assertIn(f"kpi_omnichannel_{name}_value", digest.available_fields)

    def test_kpi_values_this_and_previous_week(self):
        previous = self.kpis(*PREVIOUS)
        self.assertAlmostEqual(
            previous["first_response"],
            35 / 60,
            places=4,
            msg="median of 10 and 60 minutes",
        )
        self.assertAlmostEqual(
            previous["sla_met"],
            100 / 3,
            places=4,
            msg="Anna met; Boris late, Vera unanswered",
        )
        self.assertEqual(
            previous["lost_waiting"],
            2,
            "Boris lost after a late answer, Vera unanswered",
        )
        self.assertEqual(previous["never_answered"], 1)
        self.assertEqual(previous["conversations"], 3)
        current = self.kpis(*CURRENT)
        self.assertAlmostEqual(
            current["first_response"], 0.5, places=4, msg="median of 20 and 40 minutes"
        )
        self.assertEqual(
            current["sla_met"], 100.0, "Fedor had no deadline: not counted"
        )
        self.assertEqual(current["lost_waiting"], 1)
        self.assertEqual(current["never_answered"], 1)
        self.assertEqual(current["conversations"], 3)

    def test_kpis_follow_the_readers_teams(self):
        """A team leader of another team gets zeros, a salesperson without
        the reports gets no KPI at all (the digest leaves it out)."""
        other_leader = new_test_user(
            self.env,
            "digest_other_leader",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
        )
        self.env["crm.team"].create({"name": "Elsewhere", "user_id": other_leader.id})
        self.assertEqual(self.kpis(*CURRENT, user=other_leader)["conversations"], 0)
        digest = self.env.ref("digest.digest_digest_default")
        with freeze_time(SUNDAY):
            names = [
                kpi["kpi_name"]
                for kpi in digest._compute_kpis(self.env.company, self.salesman)
            ]
        self.assertFalse(
            [name for name in names if name.startswith("kpi_omnichannel_")]
        )

    def test_digest_email_shows_the_kpis_beside_the_previous_week(self):
        digest = self.env.ref("digest.digest_digest_default")
        digest.user_ids = self.leader
        with freeze_time(SUNDAY):
            kpis = {
                kpi["kpi_name"]: kpi
                for kpi in digest._compute_kpis(self.env.company, self.leader)
            }
            digest._action_send(update_periodicity=False)
        week = kpis["kpi_omnichannel_first_response"]["kpi_col2"]
        self.assertEqual(week["value"], "0.50")
        self.assertEqual(
            week["margin"], -14.29, "30 minutes against 35 the week before"
        )
        self.assertEqual(kpis["kpi_omnichannel_sla_met"]["kpi_col2"]["margin"], 200.0)
        self.assertEqual(
            kpis["kpi_omnichannel_lost_waiting"]["kpi_col2"]["margin"], -50.0
        )
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [("email_to", "ilike", "leader@example.com")], order="id desc", limit=1
            )
        )
        self.assertTrue(mail, "the digest was queued for the team leader")
        body = mail.body_html
        for label in (
            "Median first response (hours)",
            "First response SLA met (%)",
            "Customers lost while waiting",
            "Conversations never answered",
            "Conversations started",
        ):
            self.assertIn(label, body)
        self.assertIn("0.50", body)
        self.assertIn("100.00", body)
        self.assertIn("Sandbox", body, "the split of the conversations by channel")

    def test_dashboard_period_over_period_and_trends(self):
        dashboard = self.env["omnichannel.dashboard"].with_user(self.leader)
        with freeze_time(SUNDAY):
            comparison = {
                kpi["name"]: kpi for kpi in dashboard.get_period_comparison(days=7)
            }
            trends = dashboard.get_trend_data(days=14)
        self.assertTrue({f"kpi_omnichannel_{name}" for name in KPIS} <= set(comparison))
        first = comparison["kpi_omnichannel_first_response"]
        self.assertAlmostEqual(first["value"], 0.5, places=4)
        self.assertAlmostEqual(first["previous"], 35 / 60, places=4)
        self.assertEqual(first["margin"], -14.29)
        self.assertEqual(first["label"], "Median first response (hours)")
        self.assertEqual(comparison["kpi_omnichannel_lost_waiting"]["previous"], 2)
        self.assertEqual(trends["granularity"], "day")
        labels = trends["labels"]
        sandbox = {
            line["channel_type"]: line for line in trends["series"]["first_response"]
        }["sandbox"]
        self.assertAlmostEqual(
            sandbox["data"][labels.index("2026-03-02")], 35 / 60, places=4
        )
        self.assertAlmostEqual(
            sandbox["data"][labels.index("2026-03-09")], 20 / 60, places=4
        )
        sla = {line["channel_type"]: line for line in trends["series"]["sla_met"]}[
            "sandbox"
        ]
        self.assertEqual(sla["data"][labels.index("2026-03-02")], 50.0)
        lost = {line["channel_type"]: line for line in trends["series"]["lost_waiting"]}
        self.assertEqual(lost["sandbox"]["data"][labels.index("2026-03-05")], 2)
        self.assertEqual(lost["email"]["data"][labels.index("2026-03-13")], 1)
        self.assertEqual(lost["email"]["data"][labels.index("2026-03-05")], 0)
        with freeze_time(SUNDAY):
            self.assertEqual(dashboard.get_trend_data(days=90)["granularity"], "week")


@tagged("post_install", "-at_install")
class TestDigestDashboardTour(OmnichannelHttpCase):
    """The dashboard in a browser shows the KPIs beside the previous period
    and draws the trend charts, after a Telegram message came through the
    webhook and was answered."""

    def test_dashboard_trends_tour(self):
        bot_api = FakeTelegramServer(token="321:DIGEST").start()
        self.addCleanup(bot_api.stop)
        channel = self._create_channel(
            "telegram",
            name="Digest bot",
            token="321:DIGEST",
            webhook_secret="digest-secret",
            api_base_url=bot_api.url,
        )
        response = self.post_webhook(
            channel,
            tg_update(
                501,
                user=tg_user(user_id=7001, first_name="Пётр"),
                text="Сколько стоит доставка?",
            ),
            headers={SECRET_HEADER: "digest-secret"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        conversation._post_reply(
            "Здравствуйте! 500 рублей.", user=self.env.ref("base.user_admin")
        )
        self.assertTrue(conversation.first_response_date)
        # The digest counts it: one Telegram conversation today, answered.
        now = fields.Datetime.now()
        digest = self.env.ref("digest.digest_digest_default").with_context(
            start_datetime=now - timedelta(days=1),
            end_datetime=now + timedelta(minutes=1),
        )
        self.assertEqual(digest.kpi_omnichannel_conversations_value, 1)
        self.assertEqual(digest.kpi_omnichannel_never_answered_value, 0)
        self.assertEqual(digest._omnichannel_channel_split(), "Telegram 1")
        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_dashboard_action",
            "omnichannel_dashboard_trends_tour",
            login="admin",
        )
