import json
from datetime import timedelta

from odoo import Command
from odoo.tests import new_test_user, tagged

from ..omnichannel_inbox.models.omnichannel_inbound_event import RETRY_DELAYS
from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .provider_case import ProviderCase
from .routing_common import FRI_1830, WED_10, WED_20, OwnerCase
from .test_calls import PBX_SECRET, CallsCase, past_local, pbx_headers
from .test_sla_autoreply import SlaCase
from .test_stuck_work import TelegramStuckCase
from .test_telegram_deeplink import TestTelegramDeepLinks

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


@tagged("post_install", "-at_install")
class TestReaderLanguageNotes(OwnerCase):
    """The other notes written in the background - an answer given on
    another channel, a change of owner, a possible known customer - are in
    the language of who reads the conversation, whatever the language of
    the request that wrote them (English here)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)
        cls.env.company.partner_id.lang = "en_US"
        (cls.alice | cls.bob | cls.carol).lang = "en_US"
        cls.leader.lang = "ru_RU"

    def test_answered_elsewhere_in_the_readers_language(self):
        phone = "+7 912 555-07-01"
        unreachable = self.receive("gone", "Перезвоните", at=WED_20, phone=phone)
        here = self.receive("here", "Жду ответа", at=WED_20, phone=phone)
        self.assertEqual(unreachable.partner_id, here.partner_id)
        self.assertFalse(unreachable.user_id, "queued: the team leader reads it")
        unreachable.identity_id.sudo().unreachable = True
        self.reply(here, "Отвечаю здесь", self.bob, WED_20 + timedelta(minutes=2))
        log = self.log_texts(unreachable)
        self.assertIn("Ответ дан в канале Shop chat.", log)
        self.assertNotIn("Answered on", log)

    def test_first_to_answer_takes_it_in_their_language(self):
        self.bob.lang = "ru_RU"
        queued = self.receive("first", at=WED_20)
        self.reply(queued, "Добрый вечер!", self.bob, WED_20 + timedelta(minutes=3))
        self.assertEqual(queued.user_id, self.bob)
        log = self.log_texts(queued)
        self.assertIn("Назначен ответственный Bob: ответил первым", log)
        self.assertNotIn("answered first", log)

    def test_suggested_customer_in_the_readers_language(self):
        known = self.env["res.partner"].create(
            {"name": "Pavel", "email": "pavel.k@example.com"}
        )
        conversation = self.receive("maybe", at=WED_20)
        # Their email comes with a later message: the suggestion is a note.
        self.receive(
            "maybe", at=WED_20 + timedelta(minutes=1), email="pavel.k@example.com"
        )
        self.assertEqual(conversation.identity_id.suggestion_ids.partner_id, known)
        log = self.log_texts(conversation)
        self.assertIn("Возможно, это Pavel: тот же email pavel.k@example.com.", log)
        self.assertNotIn("May be", log)


@tagged("post_install", "-at_install")
class TestReaderLanguageReassign(SlaCase):
    """An SLA reassignment's note "Assigned to X: why" is written whole in
    the new owner's language, not half in the previous owner's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)

    def test_reassignment_note_in_the_new_owners_language(self):
        self.leader.lang = "en_US"
        conversation = self.receive("reassign", "Нужны кресла", at=WED_10)
        previous = conversation.user_id
        self.assertTrue(previous)
        previous.lang = "en_US"
        ((self.alice | self.bob | self.carol) - previous).lang = "ru_RU"
        for minutes in (3, 5, 15):
            self.run_cron(WED_10 + timedelta(minutes=minutes))
        self.assertNotEqual(conversation.user_id, previous)
        note = conversation.message_ids.filtered(
            lambda m: (
                "Назначен ответственный" in m.body
                and conversation.user_id.name in m.body
            )
        )
        self.assertTrue(note, self.log_texts(conversation))
        self.assertIn("нет ответа через 10 мин после срока", note[0].body)
        self.assertNotIn("not answered", note[0].body)
        self.assertNotIn("fewest conversations", note[0].body)


@tagged("post_install", "-at_install")
class TestReaderLanguageAlerts(TelegramStuckCase):
    """An alert raised by the journal reaches each administrator in their
    own language; the alert keeps its detail in the company's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)

    def test_alert_in_the_administrators_language(self):
        self.env.company.partner_id.lang = "en_US"
        self.admin.lang = "ru_RU"
        row = self.Journal.create(
            {
                "channel_id": self.channel.id,
                "company_id": self.channel.company_id.id,
                "provider_event_id": "lang-stuck",
                "event_kind": "message",
                "payload": json.dumps({"kind": "message", "event_id": "lang-stuck"}),
                "attempts": len(RETRY_DELAYS),
                "next_attempt_date": "2000-01-01 00:00:00",
                "state": "error",
            }
        )
        row._process()
        alert = self.Alert.search([("channel_id", "=", self.channel.id)])
        self.assertEqual(alert.kind, "journal_stuck")
        notified = self.admin_notifications(alert)
        self.assertEqual(len(notified), 1)
        self.assertIn("Записи журнала, исчерпавшие повторы", notified.body)
        self.assertIn("Событий входящего журнала, исчерпавших повторы", notified.body)
        self.assertNotIn("stopped retrying", notified.body)
        self.assertEqual(notified.author_id, self.env.ref("base.partner_root"))
        self.assertIn("stopped retrying", alert.detail, "the company's language")


@tagged("post_install", "-at_install")
class TestReaderLanguageDeepLink(OmnichannelHttpCase):
    """A later link's "The customer came through" note on an open lead is in
    the language of who reads the lead."""

    send = TestTelegramDeepLinks.send

    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:LINK").start()
        self.addCleanup(self.bot_api.stop)
        self.env["omnichannel.channel"].search([]).write({"public_handle": False})
        self.channel = self._create_channel(
            "telegram",
            name="Shop bot",
            token="123:LINK",
            webhook_secret="tg-link",
            api_base_url=self.bot_api.url,
            public_handle="@shop_bot",
        )
        self.Message = self.env["omnichannel.message"].sudo()
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.campaign = self.env["utm.campaign"].create({"name": "Spring sale DL"})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _load_russian(cls.env)

    def test_came_through_in_the_readers_language(self):
        self.env.company.partner_id.lang = "ru_RU"
        lead = self.send(2, "hello").conversation_id.lead_id
        (lead.user_id | self.channel.team_id.user_id).lang = "ru_RU"
        self.env["omnichannel.deep.link"].create(
            {
                "name": "Story",
                "channel_id": self.channel.id,
                "code": "story_ru",
                "campaign_id": self.campaign.id,
            }
        )
        self.send(3, "/start story_ru")
        notes = " ".join(lead.message_ids.mapped("body"))
        self.assertIn("Клиент пришёл через: Spring sale DL", notes)
        self.assertNotIn("The customer came through", notes)
