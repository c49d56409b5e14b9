import time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase
from .fake_meta import FakeGraphServer, MetaWebhookMixin, wa_message
from .fake_telegram import FakeTelegramServer, tg_update, tg_user

PHONE = "+79125554433"
PHONE_ID = "106540352242922"
APP_SECRET = "meta-app-secret"
DAY = 24 * 3600


class QualityCase(MetaWebhookMixin, OmnichannelHttpCase):
    """A salesperson's real conversations: the customer writes through the
    Telegram and WhatsApp fakes, the salesperson answers from the chat
    panel and closes; the quality cron (woken by the close) scores them."""

    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:Q").start()
        self.addCleanup(self.bot_api.stop)
        self.graph = FakeGraphServer(tokens=("EAAG-Q",)).start()
        self.addCleanup(self.graph.stop)
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        self.olga = new_test_user(
            self.env,
            "quality_olga",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Olga Petrova",
        )
        self.boss = new_test_user(
            self.env,
            "quality_boss",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
            name="Boris Lead",
        )
        self.team = self.env["crm.team"].create(
            {
                "name": "Chat sales",
                "user_id": self.boss.id,
                "member_ids": [Command.link(self.olga.id)],
            }
        )
        self.telegram = self._create_channel(
            "telegram",
            name="TG",
            token="123:Q",
            webhook_secret="tg-q",
            api_base_url=self.bot_api.url,
            team_id=self.team.id,
        )
        self.whatsapp = self._create_channel(
            "whatsapp",
            name="WA",
            token="EAAG-Q",
            app_secret=APP_SECRET,
            verify_token="v",
            account_ref=PHONE_ID,
            api_base_url=self.graph.api_url,
            team_id=self.team.id,
        )
        self.Conversation = self.env["omnichannel.conversation"].sudo()
        self._seq = int(time.time() * 1000) % 10**9

    # -- the customer -------------------------------------------------------------
    def from_telegram(self, text, ago=0, **fields):
        self._seq += 1
        if text:
            fields["text"] = text
        update = tg_update(
            self._seq,
            user=fields.pop("user", None)
            or tg_user(first_name="Анна", last_name="Смирнова"),
            **fields,
        )
        update["message"]["date"] = int(time.time() - ago)
        response = self.post_webhook(
            self.telegram, update, {"X-Telegram-Bot-Api-Secret-Token": "tg-q"}
        )
        self.assertEqual(response.status_code, 200)
        return self.Conversation.search([("channel_id", "=", self.telegram.id)])

    def from_whatsapp(self, text, ago=0):
        self._seq += 1
        body = wa_message(
            PHONE_ID,
            PHONE.lstrip("+"),
            f"wamid.q{self._seq}",
            "text",
            {"body": text},
            timestamp=time.time() - ago,
        )
        self.assertEqual(self.post_meta(self.whatsapp, body).status_code, 200)
        return self.Conversation.search([("channel_id", "=", self.whatsapp.id)])

    # -- the salesperson ----------------------------------------------------------
    def answer(self, conversation, *texts, user=None):
        user = user or self.olga
        mine = conversation.with_user(user)
        if not conversation.user_id:
            mine.action_assign_to_me()
        for text in texts:
            self.env["omnichannel.message"].with_user(user).panel_send(
                "omnichannel.conversation", conversation.id, conversation.id, text
            )

    def close(self, conversation, user=None):
        conversation.with_user(user or self.olga).action_close()
        self.assertTrue(conversation.quality_due, "closing queues the checklist")
        cron = self.env.ref("omnichannel_inbox.ir_cron_omnichannel_quality")
        self.assertTrue(
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)]),
            "closing wakes the cron",
        )
        self.env["omnichannel.conversation"]._cron_quality()
        self.assertFalse(conversation.quality_due)
        return (
            self.env["omnichannel.quality.review"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)])
        )

    def line(self, review, check):
        return review.line_ids.filtered(lambda line: line.check == check)


@tagged("post_install", "-at_install")
class TestQualityChecklist(QualityCase):
    def test_good_conversation_passes_every_check(self):
        conversation = self.from_telegram("Здравствуйте, сколько стоит диван?")
        self.answer(
            conversation,
            "Добрый день, Анна! Диван стоит 30 000 ₽. Когда вам удобно приехать?",
        )
        self.assertFalse(
            self.env["omnichannel.quality.review"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)]),
            "nothing is scored on the reply path",
        )
        review = self.close(conversation)
        self.assertEqual(review.user_id, self.olga)
        self.assertEqual(review.team_id, self.team)
        self.assertEqual(
            {line.check: line.result for line in review.line_ids},
            {
                "greeting": "passed",
                "name": "passed",
                "next_step": "passed",
                "forbidden": "passed",
                "sla": "na",
                "length": "passed",
            },
        )
        self.assertEqual(
            (review.failed_count, review.check_count, review.score), (0, 5, 100.0)
        )
        self.assertIn(
            review,
            conversation.with_user(self.olga).quality_review_id,
            "she sees her own review",
        )

    def test_missing_greeting_and_forbidden_phrase_fail_with_their_messages(self):
        conversation = self.from_telegram("Где мой заказ?")
        self.answer(conversation, "Заказ у курьера.", "Не знаю, когда привезут, ждите.")
        first, second = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [("conversation_id", "=", conversation.id), ("direction", "=", "out")],
                order="id",
            )
        )
        review = self.close(conversation)
        greeting = self.line(review, "greeting")
        self.assertEqual(greeting.result, "failed")
        self.assertEqual(
            greeting.message_ids,
            first,
            "the first answer is the one without a greeting",
        )
        self.assertIn("Заказ у курьера", greeting.explanation)
        forbidden = self.line(review, "forbidden")
        self.assertEqual(forbidden.result, "failed")
        self.assertEqual(forbidden.message_ids, second)
        self.assertIn("не знаю", forbidden.explanation)
        self.assertIn("ждите", forbidden.explanation)
        self.assertEqual(self.line(review, "name").result, "failed")
        self.assertEqual(self.line(review, "next_step").result, "failed")
        self.assertEqual(review.failed_count, 4)
        self.assertEqual(review.score, 20.0)
        self.assertIn("No forbidden phrase", review.failed_checks)

    def test_team_phrases_and_length_limits(self):
        self.team.write(
            {
                "omnichannel_reply_min_length": 10,
                "omnichannel_quality_check_name": False,
                "omnichannel_quality_phrase_ids": [
                    Command.create(
                        {"kind": "forbidden", "phrase": "дешевле не найдёте"}
                    )
                ],
            }
        )
        conversation = self.from_telegram("Hi, price?")
        self.answer(
            conversation, "Hello! 100 €. Shall we book it?", "Ок", "Дешевле не найдете."
        )
        review = self.close(conversation)
        self.assertFalse(self.line(review, "name"), "the team switched the check off")
        self.assertEqual(self.line(review, "greeting").result, "passed")
        length = self.line(review, "length")
        self.assertEqual(length.result, "failed")
        self.assertEqual(len(length.message_ids), 1)
        self.assertIn("10", length.explanation)
        self.assertEqual(
            self.line(review, "forbidden").result,
            "failed",
            "the team phrase, ё read as е",
        )

    def test_supervisor_overrides_salesperson_cannot(self):
        conversation = self.from_telegram("Где мой заказ?")
        self.answer(conversation, "У курьера.")
        review = self.close(conversation)
        before = review.score
        with self.assertRaises(AccessError):
            review.with_user(self.olga).action_override(90, "I was right")
        with self.assertRaises(AccessError):
            review.with_user(self.olga).write({"override_score": 90})
        self.assertFalse(review.is_overridden)
        self.assertEqual(review.score, before, "nothing changed")
        with self.assertRaises(UserError):
            review.with_user(self.boss).action_override(80, " ")
        review.with_user(self.boss).action_override(
            80, "Short, but the customer only asked where the order was."
        )
        self.assertTrue(review.is_overridden)
        self.assertEqual((review.score, review.auto_score), (80.0, before))
        self.assertEqual(review.override_user_id, self.boss)
        # the pivot by salesperson reads the supervisor's score
        rows = (
            self.env["omnichannel.quality.review"]
            .with_user(self.boss)
            ._read_group([("id", "=", review.id)], ["user_id"], ["score:avg"])
        )
        self.assertEqual(rows, [(self.olga, 80.0)])
        # reclosing after a new message re-scores but keeps the supervisor's word
        self.from_telegram("Спасибо")
        self.answer(conversation, "Здравствуйте! Рады помочь, что-то ещё?")
        review = self.close(conversation)
        self.assertEqual(review.score, 80.0)

    def test_other_salesperson_does_not_see_the_review(self):
        conversation = self.from_telegram("Где мой заказ?")
        self.answer(conversation, "У курьера.")
        review = self.close(conversation)
        ivan = new_test_user(
            self.env, "quality_ivan", groups="omnichannel_inbox.group_omnichannel_user"
        )
        self.assertFalse(
            self.env["omnichannel.quality.review"]
            .with_user(ivan)
            .search([("id", "=", review.id)])
        )
        self.assertTrue(
            self.env["omnichannel.quality.review"]
            .with_user(self.boss)
            .search([("id", "=", review.id)])
        )

    def test_late_answer_fails_the_sla_check(self):
        self.env["omnichannel.sla.policy"].create(
            {
                "name": "Chats: 5 minutes",
                "team_ids": [Command.link(self.team.id)],
                "first_response_minutes": 5,
                "next_response_minutes": 5,
                "time_basis": "calendar",
                "warn_before_minutes": 0,
                "reassign_after_minutes": 0,
            }
        )
        conversation = self.from_telegram("Здравствуйте, где мой заказ?", ago=30 * 60)
        self.answer(
            conversation,
            "Здравствуйте, Анна! Заказ у курьера, привезёт сегодня. Удобно до 18:00?",
        )
        late = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [("conversation_id", "=", conversation.id), ("direction", "=", "out")]
            )
        )
        self.assertEqual(late.response_sla_status, "breached")
        self.from_telegram("Да, удобно")
        self.answer(conversation, "Отлично, Анна, передам курьеру. Что-то ещё?")
        review = self.close(conversation)
        sla = self.line(review, "sla")
        self.assertEqual(sla.result, "failed")
        self.assertEqual(sla.message_ids, late, "the late answer, not the one in time")
        self.assertEqual((review.failed_count, review.check_count), (1, 6))

    def test_explanations_in_the_salespersons_language(self):
        self.env["res.lang"]._activate_lang("ru_RU")
        self.env["ir.module.module"]._load_module_terms(
            ["omnichannel_inbox"], ["ru_RU"], overwrite=True
        )
        self.olga.lang = "ru_RU"
        conversation = self.from_telegram("Где мой заказ?")
        self.answer(conversation, "У курьера.")
        review = self.close(conversation)
        self.assertEqual(
            self.line(review, "greeting").explanation,
            "В первом ответе нет приветствия: «У курьера.».",
        )

    def test_unanswered_conversation_has_no_review(self):
        conversation = self.from_telegram("Алло?")
        review = self.close(conversation, user=self.boss)
        self.assertFalse(review)


@tagged("post_install", "-at_install")
class TestRepeatRequests(QualityCase):
    def anna_on_whatsapp_too(self):
        """Anna shares her own Telegram contact: her phone is proven, so her
        WhatsApp (the same number) lands on the same customer."""
        self.from_telegram(
            None,
            ago=4 * DAY,
            contact={
                "phone_number": PHONE,
                "first_name": "Анна",
                "user_id": tg_user()["id"],
            },
        )

    def test_repeat_across_channels(self):
        telegram = self.from_telegram(
            "Сколько стоит доставка дивана в Москву?", ago=3 * DAY + 60
        )
        self.anna_on_whatsapp_too()
        self.answer(telegram, "Здравствуйте, Анна! Доставка бесплатно. Оформим?")
        self.close(telegram)
        whatsapp = self.from_whatsapp("сколько стоит доставка дивана в москву??")
        self.assertEqual(whatsapp.partner_id, telegram.partner_id)
        self.answer(whatsapp, "Здравствуйте, Анна! Бесплатно.", user=self.boss)
        self.assertFalse(whatsapp.is_repeat, "not on the reply path")
        self.close(whatsapp, user=self.boss)
        self.assertTrue(whatsapp.is_repeat)
        self.assertEqual(whatsapp.repeat_of_id, telegram)
        self.assertEqual(
            whatsapp.repeat_user_id, self.olga, "counted against who answered first"
        )
        self.assertGreaterEqual(whatsapp.repeat_similarity, 75)
        self.assertEqual(telegram.came_back_rate, 100.0)
        rows = (
            self.env["omnichannel.conversation"]
            .with_user(self.boss)
            ._read_group(
                [("id", "in", (telegram | whatsapp).ids)],
                ["user_id"],
                ["came_back_rate:avg", "repeat_rate:avg"],
            )
        )
        self.assertEqual(
            dict((u, (c, r)) for u, c, r in rows),
            {self.olga: (100.0, 0.0), self.boss: (0.0, 100.0)},
        )

    def test_different_topic_is_not_a_repeat(self):
        telegram = self.from_telegram(
            "Сколько стоит доставка дивана в Москву?", ago=2 * DAY
        )
        self.anna_on_whatsapp_too()
        self.answer(telegram, "Здравствуйте! Бесплатно.")
        self.close(telegram)
        whatsapp = self.from_whatsapp("Хочу вернуть кресло, оно скрипит")
        self.assertEqual(whatsapp.partner_id, telegram.partner_id)
        self.answer(whatsapp, "Здравствуйте, оформим возврат?")
        self.close(whatsapp)
        self.assertFalse(whatsapp.is_repeat)
        self.assertFalse(whatsapp.repeat_of_id)

    def test_same_topic_after_the_period_is_not_a_repeat(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.repeat_days", 3
        )
        telegram = self.from_telegram(
            "Сколько стоит доставка дивана в Москву?", ago=10 * DAY
        )
        self.from_telegram(
            None,
            ago=10 * DAY - 60,
            contact={
                "phone_number": PHONE,
                "first_name": "Анна",
                "user_id": tg_user()["id"],
            },
        )
        self.answer(telegram, "Здравствуйте! Бесплатно.")
        self.env["omnichannel.message"].sudo().search(
            [("conversation_id", "=", telegram.id)]
        ).write({"date": telegram.first_customer_message_date})
        self.close(telegram)
        whatsapp = self.from_whatsapp("Сколько стоит доставка дивана в Москву?")
        self.assertEqual(whatsapp.partner_id, telegram.partner_id)
        self.answer(whatsapp, "Здравствуйте!")
        self.close(whatsapp)
        self.assertFalse(
            whatsapp.is_repeat, "she came back after 10 days, the period is 3"
        )

    def test_digest_repeat_rate(self):
        self.test_repeat_across_channels()
        digest = self.env["digest.digest"].create(
            {"name": "Weekly", "kpi_omnichannel_repeat_rate": True}
        )
        from datetime import datetime, timedelta

        now = datetime.now()
        value = (
            digest.with_user(self.boss)
            .with_context(
                start_datetime=now - timedelta(days=7),
                end_datetime=now + timedelta(hours=1),
            )
            .kpi_omnichannel_repeat_rate_value
        )
        self.assertEqual(
            value,
            50.0,
            "one of the two conversations begun this week repeats the other",
        )


@tagged("post_install", "-at_install")
class TestFrequentQuestions(QualityCase):
    def test_grouped_with_counts_and_made_a_canned_response(self):
        asked = [
            "Сколько стоит доставка?",
            "сколько стоит доставка",
            "Сколько стоит доставка??",
            "А сколько стоит  доставка?",
            "Есть ли кресло в наличии?",
            "есть ли кресло в наличии",
        ]
        for index, text in enumerate(asked):
            user = tg_user(user_id=7770000 + index, first_name=f"C{index}")
            self.from_telegram(text, user=user)
        self.from_whatsapp("Хочу вернуть стол")
        wizard = (
            self.env["omnichannel.frequent.questions"].with_user(self.boss).create({})
        )
        wizard.action_compute()
        self.assertEqual(wizard.message_count, 7)
        self.assertEqual(
            [(line.count, line.conversation_count) for line in wizard.line_ids],
            [(4, 4), (2, 2)],
            "a question asked once is not frequent",
        )
        top = wizard.line_ids[0]
        self.assertEqual(
            top.question,
            "Сколько стоит доставка?",
            "the first one asked is the example",
        )
        self.assertEqual(top.example_conversation_id.channel_id, self.telegram)
        # per channel: WhatsApp has nothing frequent
        wizard.write({"channel_id": self.whatsapp.id, "min_count": 1})
        wizard.action_compute()
        self.assertEqual(wizard.line_ids.mapped("question"), ["Хочу вернуть стол"])
        # a salesperson sees the questions of the conversations she may read only
        ivan = new_test_user(
            self.env, "quality_ivan2", groups="omnichannel_inbox.group_omnichannel_user"
        )
        other = self.env["omnichannel.frequent.questions"].with_user(ivan).create({})
        other.action_compute()
        self.assertEqual(
            (other.message_count, len(other.line_ids)),
            (0, 0),
            "another team's customers",
        )
        mine = (
            self.env["omnichannel.frequent.questions"].with_user(self.olga).create({})
        )
        mine.action_compute()
        self.assertEqual(
            mine.line_ids.mapped("count"),
            [4, 2],
            "unassigned conversations of her team",
        )
        # the answer becomes a canned response
        wizard = (
            self.env["omnichannel.frequent.questions"].with_user(self.boss).create({})
        )
        wizard.action_compute()
        top = wizard.line_ids[0]
        with self.assertRaises(UserError):
            top.action_make_canned_response()
        top.answer = "Доставка по Москве бесплатно, {first_name}."
        action = top.action_make_canned_response()
        response = self.env["mail.canned.response"].browse(action["res_id"])
        self.assertEqual(
            response.substitution, "Доставка по Москве бесплатно, {first_name}."
        )
        self.assertEqual(response.source, "сколько-стоит-доставка")
        self.assertEqual(response.create_uid, self.boss)
        self.assertEqual(top.canned_response_id, response)
