import json
from datetime import timedelta

from odoo import Command
from odoo.tests import new_test_user, tagged

from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .provider_case import ProviderCase
from .routing_common import FRI_1830, WED_10
from .test_calls import PBX_SECRET, CallsCase, past_local, pbx_headers
from .test_sla_autoreply import SlaCase

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _load_russian(env):
    env["res.lang"]._activate_lang("ru_RU")
    env["ir.module.module"]._load_module_terms(
        ["omnichannel_inbox"], ["ru_RU"], overwrite=True
    )


@tagged("post_install", "-at_install")
class TestReaderLanguage(ProviderCase):
    """What the webhook writes in the background (the lead's note, the queue
    note, the follow-up activity) is in the language of who reads it - here
    the team leader, nobody being on duty - and written by OdooBot, not by
    the public user the webhook runs as."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)
        cls.leader = new_test_user(
            cls.env,
            login="lang_leader",
            name="Lang Leader",
            email="lang.leader@example.com",
            groups="sales_team.group_sale_salesman",
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Lang sales", "user_id": cls.leader.id, "member_ids": []}
        )
        # Nobody to route to: the customer waits in the team's queue.
        cls.env["omnichannel.routing.rule"].search([]).action_archive()

    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:LANG").start()
        self.addCleanup(self.bot_api.stop)
        self.channel = self._create_channel(
            "telegram",
            name="Sales bot",
            token="123:LANG",
            webhook_secret="lang-secret",
            api_base_url=self.bot_api.url,
            team_id=self.team.id,
        )

    def receive(self, update_id, text):
        response = self.post_webhook(
            self.channel,
            tg_update(update_id, user=tg_user(user_id=7770000 + update_id), text=text),
            headers={SECRET_HEADER: "lang-secret"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        row = self.journal().filtered(lambda r: r.provider_event_id == str(update_id))
        self.assertEqual(row.state, "done", row.error_message)
        return row.conversation_id

    def notes(self, record):
        return "\n".join(record.message_ids.mapped("body"))

    def check(self, lang, update_id, expected, unexpected):
        self.leader.lang = lang
        conversation = self.receive(update_id, "Позвоните мне завтра, пожалуйста")
        self.assertFalse(conversation.user_id, "nobody on duty: the queue")
        lead = conversation.lead_id
        self.assertTrue(lead)
        texts = self.notes(lead) + "\n" + self.notes(conversation)
        activity = lead.activity_ids
        self.assertEqual(len(activity), 1, "the customer's 'tomorrow' is a follow-up")
        texts += "\n" + activity.summary + "\n" + str(activity.note)
        for text in expected:
            self.assertIn(text, texts)
        for text in unexpected:
            self.assertNotIn(text, texts)
        odoobot = self.env.ref("base.partner_root")
        lead_note = lead.message_ids.filtered(
            lambda m: ("Лид создан" in m.body) or ("Lead created" in m.body)
        )
        self.assertEqual(lead_note.author_id, odoobot, "written by OdooBot")
        self.assertEqual(activity.create_uid, self.env.ref("base.user_root"))
        self.assertEqual(activity.user_id, self.leader)
        public = self.env.ref("base.public_partner")
        self.assertNotIn(
            public, (lead.message_ids | conversation.message_ids).author_id
        )

    def test_russian_reader_reads_russian(self):
        # The company speaks English: the reader's language wins.
        self.env.company.partner_id.lang = "en_US"
        self.check(
            "ru_RU",
            901,
            expected=(
                "Лид создан из сообщения, полученного в канале Sales bot.",
                "Нет доступного продавца: ожидает в очереди команды Lang sales",
                "Клиент: завтра",
                "Открыть сообщение",
            ),
            unexpected=("Lead created", "No available salesperson", "Open the message"),
        )

    def test_english_reader_reads_english(self):
        # The company speaks Russian: the reader's language still wins.
        self.env.company.partner_id.lang = "ru_RU"
        self.check(
            "en_US",
            902,
            expected=(
                "Lead created from a message received on Sales bot.",
                "No available salesperson: waiting in the queue of Lang sales",
                "Customer: завтра",
                "Open the message",
            ),
            unexpected=("Лид создан", "Нет доступного продавца", "Открыть сообщение"),
        )


@tagged("post_install", "-at_install")
class TestReaderLanguageSla(SlaCase):
    """The SLA steps write in the reader's language and say "waiting in the
    queue" once per wait, not at every step."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)

    def queue_notes(self, conversation, marker):
        return conversation.message_ids.filtered(lambda m: marker in m.body)

    def test_queue_note_once_after_several_sla_steps(self):
        self.leader.lang = "en_US"
        # Nobody comes on duty at any step: the customer stays in the queue.
        self.team.member_ids = [Command.clear()]
        conversation = self.receive("once", "Добрый вечер, нужен счёт", at=FRI_1830)
        self.assertFalse(conversation.user_id, "nobody works on Friday evening")
        for at in (
            FRI_1830 + timedelta(hours=3),
            conversation.sla_next_action_date + timedelta(minutes=1),
        ):
            self.run_cron(at)
        for _step in range(3):
            if not conversation.sla_next_action_date:
                break
            self.run_cron(conversation.sla_next_action_date + timedelta(minutes=1))
        self.assertFalse(conversation.sla_next_action, "every step ran")
        self.assertEqual(
            len(self.queue_notes(conversation, "No available salesperson")),
            1,
            self.log_texts(conversation),
        )

    def test_sla_notes_in_the_team_leaders_language(self):
        self.leader.lang = "ru_RU"
        conversation = self.receive("ru-sla", "Добрый вечер", at=FRI_1830)
        self.assertFalse(conversation.user_id)
        for _step in range(5):
            if not conversation.sla_next_action_date:
                break
            self.run_cron(conversation.sla_next_action_date + timedelta(minutes=1))
        self.assertEqual(
            len(self.queue_notes(conversation, "Нет доступного продавца")),
            1,
            self.log_texts(conversation),
        )
        self.assertNotIn("No available", self.log_texts(conversation))
        self.assertNotIn("No available colleague", self.log_texts(conversation))

    def test_escalation_reaches_the_leader_in_their_language(self):
        """The owner reads English, the team leader Russian: the warning and
        the chatter are English, the escalation the leader receives Russian,
        and OdooBot writes them."""
        (self.alice | self.bob | self.carol).lang = "en_US"
        self.leader.lang = "ru_RU"
        self.leader.notification_type = "inbox"
        conversation = self.receive("escalate", "Нужны кресла", at=WED_10)
        owner = conversation.user_id
        self.assertTrue(owner)
        for minutes in (3, 5):
            self.run_cron(WED_10 + timedelta(minutes=minutes))
        warning = conversation.message_ids.filtered(
            lambda m: owner.partner_id in m.partner_ids
        )
        self.assertIn("Please answer", warning[0].body)
        escalation = conversation.message_ids.filtered(
            lambda m: self.leader.partner_id in m.partner_ids
        )
        self.assertTrue(escalation)
        self.assertIn("ждёт ответа с", escalation[0].body)
        self.assertNotIn("has been waiting", escalation[0].body)
        self.assertEqual(escalation.author_id, self.env.ref("base.partner_root"))
        self.assertIn(
            "escalated to the team leader Leader", self.log_texts(conversation)
        )


@tagged("post_install", "-at_install")
class TestReaderLanguageCalls(CallsCase):
    """A missed call's "Call back" activity is in its assignee's language,
    created by OdooBot, whatever the PBX webhook's language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)

    def test_call_back_in_the_assignees_language(self):
        line = self._line("phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET)
        self.leader.lang = "ru_RU"
        when = past_local(2, 11)
        events = [
            {
                "event_id": f"lang-{kind}",
                "call_id": "pbx-lang",
                "event": kind,
                "direction": "in",
                "customer_number": "+7 (903) 555-01-07",
                "timestamp": (when + timedelta(seconds=delay)).isoformat(),
            }
            for kind, delay in (("ringing", 0), ("missed", 25))
        ]
        body = json.dumps({"events": events}).encode()
        response = self.post_webhook(line, body, headers=pbx_headers(PBX_SECRET, body))
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        call = self.calls(line)
        activity = self.call_backs(call.conversation_id.lead_id)
        self.assertEqual(activity.user_id, self.leader)
        self.assertIn("Перезвонить", activity.summary)
        self.assertIn("Пропущенный звонок", str(activity.note))
        self.assertEqual(activity.create_uid, self.env.ref("base.user_root"))
