import json
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .fake_telegram import tg_update, tg_user
from .provider_case import ProviderCase

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: As many browsers as make mail queue its pushes (mail.push) rather than
#: send them during the request (mail_thread.MAX_DIRECT_PUSH).
BROWSERS = 5
#: A valid browser key pair of Odoo's own web push tests (never contacted:
#: the pushes stay queued, tests run no cron).
BROWSER_KEYS = {
    "p256dh": "BGbhnoP_91U7oR59BaaSx0JnDv2oEooYnJRV2AbY5TBeKGCRCf0Hc"
    "IJ9bOKchUCDH4cHYWo9SYDz3U-8vSxPL_A",
    "auth": "DJFdtAgZwrT6yYkUMgUqow",
}


@tagged("post_install", "-at_install")
class TestAlerts(ProviderCase):
    """A customer's Telegram message, through the real webhook, alerts who
    must answer it: the team's available members while it waits in the
    queue, its owner once it has one; once per wait; as each user chose in
    My Preferences; in Odoo's inbox (and the browsers the user registered
    for web push), authored by OdooBot, in the reader's language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_russian()
        # Open day and night: who is available is decided by each user's
        # switch and leave below, whenever the test runs.
        always = cls.env["resource.calendar"].create(
            {
                "name": "Always open",
                "tz": "UTC",
                "attendance_ids": [
                    Command.create(
                        {
                            "name": f"d{day}-{start}",
                            "dayofweek": str(day),
                            "hour_from": start,
                            "hour_to": start + 12,
                            "day_period": "morning" if start < 12 else "afternoon",
                        }
                    )
                    for day in range(7)
                    for start in (0, 12)
                ],
            }
        )

        def salesperson(login, name, lang="en_US", **vals):
            user = new_test_user(
                cls.env,
                login=f"alerts_{login}",
                name=name,
                email=f"{login}@example.com",
                lang=lang,
                groups="sales_team.group_sale_salesman",
            )
            user.write(dict({"notification_type": "inbox"}, **vals))
            user._omnichannel_resource().calendar_id = always
            return user

        now = fields.Datetime.now()
        cls.olga = salesperson("olga", "Olga", lang="ru_RU")
        cls.bob = salesperson("bob", "Bob")
        cls.carol = salesperson("carol", "Carol", omnichannel_available=False)
        cls.dan = salesperson(
            "dan",
            "Dan",
            out_of_office_from=now - timedelta(days=1),
            out_of_office_to=now + timedelta(days=1),
        )
        cls.erin = salesperson("erin", "Erin", omnichannel_alerts="assigned")
        cls.nina = salesperson("nina", "Nina", omnichannel_alerts="none")
        cls.frank = salesperson("frank", "Frank")
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Chat sales",
                "member_ids": [
                    Command.set(
                        (
                            cls.olga
                            | cls.bob
                            | cls.carol
                            | cls.dan
                            | cls.erin
                            | cls.nina
                        ).ids
                    )
                ],
            }
        )
        cls.env["crm.team"].create(
            {"name": "Wholesale", "member_ids": [Command.set(cls.frank.ids)]}
        )
        # Each test states its own routing; no response-time policy (its
        # escalations are not alerts).
        cls.env["omnichannel.routing.rule"].search([]).action_archive()
        cls.env["omnichannel.sla.policy"].search([]).action_archive()
        cls.bot = cls.env.ref("base.partner_root")

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(
            "123:ALERT", webhook_secret="alert-secret", team_id=self.team.id
        )
        self.Notification = self.env["mail.notification"].sudo()
        self.seen = self.Notification.search([], order="id desc", limit=1).id or 0

    # -- helpers ----------------------------------------------------------------
    def receive(self, update_id, text, customer=7001):
        response = self.post_webhook(
            self.channel,
            tg_update(
                update_id,
                user=tg_user(user_id=customer, first_name="Anna", last_name="Petrova"),
                text=text,
            ),
            headers={SECRET_HEADER: "alert-secret"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        row = self.journal().filtered(lambda r: r.provider_event_id == str(update_id))
        self.assertEqual(row.state, "done", row.error_message)
        return row.conversation_id

    def new_notifications(self):
        """{user: [notification]} of every notification made since the last
        call, whatever made it: nobody is told anything unchecked."""
        found = self.Notification.search([("id", ">", self.seen)], order="id")
        if found:
            self.seen = found[-1].id
        by_user = {}
        for notification in found:
            user = notification.res_partner_id.user_ids[:1]
            by_user.setdefault(user, []).append(notification)
        return by_user

    def assert_alerted(self, expected, record):
        """``expected``: {user: (texts the alert says, ...)}, one alert each,
        on ``record``, from OdooBot, in the inbox; nobody else told."""
        told = self.new_notifications()
        self.assertEqual(set(told), set(expected), "exactly these people are notified")
        for user, texts in expected.items():
            self.assertEqual(len(told[user]), 1, f"{user.name}: one alert")
            notification = told[user][0]
            message = notification.mail_message_id
            self.assertEqual(notification.notification_type, "inbox")
            self.assertTrue(notification.is_read is False)
            self.assertEqual(message.author_id, self.bot, "written by OdooBot")
            self.assertEqual(message.message_type, "user_notification")
            self.assertEqual((message.model, message.res_id), (record._name, record.id))
            for text in texts:
                self.assertIn(text, message.body, user.name)
        return {user: told[user][0].mail_message_id for user in told}

    def register_browsers(self, user):
        self.env["mail.push.device"].get_web_push_vapid_public_key()
        return (
            self.env["mail.push.device"]
            .sudo()
            .create(
                [
                    {
                        "endpoint": f"https://push.example.com/{user.login}/{n}",
                        "keys": json.dumps(BROWSER_KEYS),
                        "partner_id": user.partner_id.id,
                    }
                    for n in range(BROWSERS)
                ]
            )
        )

    def pushes(self, devices):
        rows = (
            self.env["mail.push"]
            .sudo()
            .search([("mail_push_device_id", "in", devices.ids)])
        )
        return [json.loads(row.payload) for row in rows]

    # -- tests ------------------------------------------------------------------
    def test_queue_alerts_available_members_once_then_the_owner(self):
        olga_browsers = self.register_browsers(self.olga)
        frank_browsers = self.register_browsers(self.frank)
        conversation = self.receive(1, "Сколько стоит доставка в Казань?")
        self.assertFalse(conversation.user_id, "nobody routed: the team queue")
        lead = conversation.lead_id
        self.assertTrue(lead)
        alerts = self.assert_alerted(
            {
                # Not Carol (switched chats off), Dan (out of office), Erin
                # (only her own), Nina (no alerts), Frank (another team).
                self.olga: (
                    "Anna Petrova ждёт в очереди Chat sales (Sales bot)",
                    "Сколько стоит доставка в Казань?",
                ),
                self.bob: (
                    "Anna Petrova is waiting in the queue of Chat sales (Sales bot)",
                    "Сколько стоит доставка в Казань?",
                ),
            },
            lead,
        )
        self.assertNotEqual(alerts[self.olga], alerts[self.bob], "one per language")
        # Olga's browsers get the push mail makes of her notification.
        pushes = self.pushes(olga_browsers)
        self.assertEqual(len(pushes), BROWSERS, "one push per registered browser")
        for push in pushes:
            self.assertEqual(push["title"], f"OdooBot: {lead.name}")
            self.assertIn("ждёт в очереди Chat sales", push["options"]["body"])
            self.assertIn("доставка в Казань", push["options"]["body"])
            self.assertEqual(
                push["options"]["data"], {"model": "crm.lead", "res_id": lead.id}
            )
        self.assertFalse(self.pushes(frank_browsers))

        # The customer keeps writing while nobody answered: no more alerts.
        self.receive(2, "И сколько дней?")
        self.receive(3, "Алло?")
        self.assertEqual(self.new_notifications(), {})
        # ... and such a message costs the alerts no query at all.
        message = self.last_message()
        conversation.read(
            ["waiting_since", "user_id", "alert_wait_date", "alert_user_id"]
        )
        with self.assertQueryCount(0):
            conversation._alert_on_inbound(message)
        self.assertEqual(len(self.pushes(olga_browsers)), BROWSERS)

        # Bob answers, so he owns it; the customer's next wait alerts him alone.
        conversation.with_user(self.bob)._post_reply("Три дня", user=self.bob)
        self.assertEqual(conversation.user_id, self.bob)
        self.assertEqual(self.new_notifications(), {})
        self.receive(4, "Отлично, оформляю")
        self.assert_alerted(
            {self.bob: ("Anna Petrova wrote to you on Sales bot", "Отлично, оформляю")},
            lead,
        )
        self.receive(5, "Куда платить?")
        self.assertEqual(self.new_notifications(), {}, "a burst: one alert")
        self.assertEqual(len(self.pushes(olga_browsers)), BROWSERS)

    def test_owner_is_alerted_with_the_message_in_their_language(self):
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Olga first",
                "strategy": "round_robin",
                "team_id": self.team.id,
                "user_ids": [Command.set(self.olga.ids)],
            }
        )
        browsers = self.register_browsers(self.olga)
        conversation = self.receive(10, "Нужно 40 кресел, есть в наличии?")
        self.assertEqual(conversation.user_id, self.olga)
        # One notification: the alert, not also Odoo's "You have been
        # assigned" for the conversation and for the lead.
        self.assert_alerted(
            {
                self.olga: (
                    "Anna Petrova пишет вам в Sales bot",
                    "Нужно 40 кресел, есть в наличии?",
                )
            },
            conversation.lead_id,
        )
        bodies = [p["options"]["body"] for p in self.pushes(browsers)]
        self.assertEqual(len(bodies), BROWSERS)
        self.assertTrue(
            all("Нужно 40 кресел" in body for body in bodies),
            "the owner's browsers get the customer's message",
        )
        # Her own answer ends the wait; a long message is quoted short.
        conversation.with_user(self.olga)._post_reply("Есть в наличии", user=self.olga)
        self.new_notifications()
        self.receive(11, "Беру. " + "Доставка на склад. " * 40)
        alert = self.assert_alerted(
            {self.olga: ("Anna Petrova пишет вам в Sales bot", "Беру. Доставка")},
            conversation.lead_id,
        )[self.olga]
        self.assertLess(len(alert.body), 400)
        self.assertIn("…", alert.body)

    def test_preferences(self):
        """All: queue and own; only own: not the queue; none: nothing."""
        self.olga.with_user(self.olga).write({"omnichannel_alerts": "assigned"})
        self.assertEqual(
            self.olga.with_user(self.olga).read(["omnichannel_alerts"])[0][
                "omnichannel_alerts"
            ],
            "assigned",
            "each user sets and reads their own choice",
        )
        self.bob.with_user(self.bob).write({"omnichannel_alerts": "none"})
        conversation = self.receive(20, "Здравствуйте", customer=7020)
        self.assertFalse(conversation.user_id)
        self.assertEqual(self.new_notifications(), {}, "nobody wants queue alerts")

        # Owned by Olga (only her own): she is alerted.
        conversation.with_user(self.olga).action_assign_to_me()
        self.new_notifications()
        self.receive(21, "Есть кто-нибудь?", customer=7020)
        self.assert_alerted(
            {self.olga: ("Anna Petrova пишет вам в Sales bot", "Есть кто-нибудь?")},
            conversation.lead_id,
        )
        # Owned by Bob (none): he is not, at any message of the new wait.
        conversation.with_user(self.olga)._post_reply("Добрый день", user=self.olga)
        conversation.sudo().user_id = self.bob
        self.new_notifications()
        self.receive(22, "Мне нужен счёт", customer=7020)
        self.receive(23, "Срочно", customer=7020)
        self.assertEqual(self.new_notifications(), {})

        # Back to all: Bob is alerted of the queue of another customer.
        self.bob.with_user(self.bob).write({"omnichannel_alerts": "all"})
        other = self.receive(24, "Добрый вечер", customer=7024)
        self.assert_alerted(
            {self.bob: ("is waiting in the queue of Chat sales", "Добрый вечер")},
            other.lead_id,
        )

    def test_a_member_with_email_notifications_gets_an_email(self):
        self.bob.notification_type = "email"
        (self.olga | self.erin).write({"omnichannel_alerts": "none"})
        browsers = self.register_browsers(self.bob)
        conversation = self.receive(30, "Perfect, call me", customer=7030)
        told = self.new_notifications()
        self.assertEqual(set(told), {self.bob})
        (notification,) = told[self.bob]
        self.assertEqual(notification.notification_type, "email")
        self.assertEqual(notification.mail_message_id.author_id, self.bot)
        self.assertIn("Perfect, call me", notification.mail_mail_id.body_html)
        self.assertEqual(
            (notification.mail_message_id.model, notification.mail_message_id.res_id),
            ("crm.lead", conversation.lead_id.id),
        )
        self.assertFalse(self.pushes(browsers), "mail pushes inbox users' alerts only")

    def test_the_alert_email_leaves_through_the_queue_woken_at_once(self):
        """The webhook does not wait for the mail server: the email is queued
        and the mail queue (hourly by itself) is woken to send it now."""
        self.bob.notification_type = "email"
        (self.olga | self.erin).write({"omnichannel_alerts": "none"})
        queue = self.env.ref("mail.ir_cron_mail_scheduler_action")
        Trigger = self.env["ir.cron.trigger"].sudo()
        woken_before = Trigger.search_count([("cron_id", "=", queue.id)])
        self.receive(31, "Call me back", customer=7031)
        (notification,) = self.new_notifications()[self.bob]
        mail = notification.mail_mail_id
        self.assertEqual(mail.state, "outgoing", "queued, not sent by the webhook")
        self.assertEqual(
            Trigger.search_count([("cron_id", "=", queue.id)]),
            woken_before + 1,
            "the queue is woken once",
        )
        self.assertEqual(notification.notification_status, "ready")
