import json
from datetime import datetime, time, timedelta

import pytz

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .fake_telegram import tg_update, tg_user
from .fake_viber import viber_message, viber_signature, viber_user
from .provider_case import ProviderCase
from .test_csat import tg_press

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LONG_TEXT = (
    "Hello, I need a big corner sofa delivered to Moscow next week, do you have one?"
)


def markup_of(call):
    markup = call.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else markup


def inline_buttons(call):
    markup = markup_of(call) or {}
    return [
        (b["text"], b["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


class QuestionnaireCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.leader = new_test_user(
            self.env,
            "quiz_leader",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
            name="Lena Leader",
        )
        self.seller = new_test_user(
            self.env,
            "quiz_seller",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Sam Seller",
        )
        # Nobody available: conversations wait in the team's queue; the
        # team leader is who calls back.
        self.team = self.env["crm.team"].create(
            {"name": "Quiz team", "user_id": self.leader.id}
        )

    def add_questions(self, channel, *questions):
        channel.questionnaire_enabled = True
        for sequence, (kind, name, options) in enumerate(questions):
            self.env["omnichannel.questionnaire.question"].create(
                {
                    "channel_id": channel.id,
                    "sequence": sequence,
                    "kind": kind,
                    "name": name,
                    "options": options or False,
                    "tag_lead": bool(options),
                }
            )
        return channel.questionnaire_question_ids

    def conversation(self):
        return self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )


@tagged("post_install", "-at_install")
class TestQuestionnaireTelegram(QuestionnaireCase):
    """The questions through the real Telegram webhook; what the bot sent is
    read from the fake Bot API, buttons included."""

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(
            team_id=self.team.id,
            greeting_text="Welcome to the shop!",
            # Questions follow each other quickly: sent at once, not queued
            # by the sending budget (its own tests are elsewhere).
            send_rate=0,
            send_chat_rate=0,
        )
        self.update_id = 9000
        self.user = tg_user(language_code="en")

    def send(self, update):
        response = self.post_webhook(
            self.channel, update, headers={SECRET_HEADER: "s3cret-token"}
        )
        self.assertEqual(response.status_code, 200, response.text)

    def says(self, text, user=None):
        self.update_id += 1
        self.send(tg_update(self.update_id, user=user or self.user, text=text))

    def press(self, data, user=None):
        self.update_id += 1
        self.send(tg_press(self.update_id, data, user=user or self.user))

    def shares_phone(self, phone):
        self.update_id += 1
        self.send(
            tg_update(
                self.update_id,
                user=self.user,
                contact={
                    "phone_number": phone,
                    "first_name": self.user["first_name"],
                    "user_id": self.user["id"],
                },
            )
        )

    def sent(self):
        """What the bot sent, oldest first; forgets it."""
        calls = [c.fields for c in self.bot_api.calls("sendMessage")]
        self.bot_api.requests.clear()
        return calls

    def opening_day_calendar(self):
        """Business hours 10:00-12:00 (Moscow) one day a week, two days from
        now: the nearest free slot is that day's 10:00."""
        day = (datetime.utcnow() + timedelta(days=2)).date()
        calendar = self._business_calendar(
            "Call-back hours", [day.weekday()], 10, 12, tz="Europe/Moscow"
        )
        self.channel.business_calendar_id = calendar
        moscow = pytz.timezone("Europe/Moscow")
        return day, moscow.localize(datetime.combine(day, time(10, 0))).astimezone(
            pytz.utc
        ).replace(tzinfo=None)

    def test_buttons_contact_request_and_callback_filled_into_the_lead(self):
        day, ten = self.opening_day_calendar()
        self.add_questions(
            self.channel,
            ("name", "What is your name?", ""),
            ("need", "What are you looking for?", "Sofa\nTable\nSomething else"),
            ("phone", "Your phone number, please?", ""),
            ("callback", "Shall we call you back?", ""),
        )
        self.says("/start")
        greeting, first = self.sent()
        self.assertEqual(greeting["text"], "Welcome to the shop!")
        self.assertEqual(first["text"], "What is your name?", "after the greeting")
        self.assertFalse(first.get("reply_markup"))
        conversation = self.conversation()
        self.assertEqual(conversation.questionnaire_state, "asking")

        self.says("Anna Petrova")
        [need] = self.sent()
        self.assertEqual(need["text"], "What are you looking for?")
        self.assertEqual(
            inline_buttons(need),
            [
                ("Sofa", "Sofa"),
                ("Table", "Table"),
                ("Something else", "Something else"),
            ],
        )

        self.press("Sofa")
        [phone] = self.sent()
        self.assertEqual(phone["text"], "Your phone number, please?")
        markup = markup_of(phone)
        self.assertEqual(
            markup["keyboard"],
            [[{"text": "Share my phone number", "request_contact": True}]],
        )
        self.assertTrue(markup["one_time_keyboard"])

        self.shares_phone("+79035550102")
        [callback] = self.sent()
        self.assertIn("Shall we call you back?", callback["text"])
        self.assertIn("10:00 (Europe/Moscow)", callback["text"])
        self.assertIn(day.strftime("%B"), callback["text"])
        self.assertEqual(
            inline_buttons(callback),
            [("Yes, call me", "Yes, call me"), ("No, thank you", "No, thank you")],
        )

        self.press("Yes, call me")
        [thanks] = self.sent()
        self.assertEqual(
            thanks["text"], "Thank you! A manager will join this chat shortly."
        )
        self.assertEqual(conversation.questionnaire_state, "done")

        lead = conversation.lead_id
        self.assertEqual(lead.contact_name, "Anna Petrova")
        self.assertEqual(conversation.partner_id.name, "Anna Petrova")
        self.assertEqual(lead.phone, "+79035550102")
        self.assertTrue(conversation.identity_id.phone_verified)
        self.assertIn("Sofa", lead.description)
        self.assertEqual(lead.tag_ids.mapped("name"), ["Sofa"])
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)]
        )
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.omnichannel_callback_at, ten)
        self.assertEqual(activity.date_deadline, day)
        self.assertEqual(activity.user_id, self.leader)
        self.assertEqual(
            activity.activity_type_id, self.env.ref("mail.mail_activity_data_call")
        )
        self.assertEqual(activity.summary, "Call back at 10:00 (Europe/Moscow)")
        self.assertEqual(activity.create_uid, self.env.ref("base.user_root"))

        # A second customer is offered the next free half hour.
        self.user = tg_user(user_id=5550002, first_name="Boris", language_code="en")
        self.says("Hi")
        self.says("Boris")
        self.press("Table")
        self.shares_phone("+79035550103")
        offer = self.sent()[-1]
        self.assertIn("10:30 (Europe/Moscow)", offer["text"])
        # ... who declines: nothing booked.
        self.press("No, thank you")
        self.assertEqual(
            self.env["mail.activity"].search_count(
                [("omnichannel_callback_at", "!=", False)]
            ),
            1,
        )

    def test_known_phone_is_not_asked_and_an_email_is_taken(self):
        self.add_questions(
            self.channel,
            ("phone", "Your phone number, please?", ""),
            ("email", "Your email?", ""),
        )
        self.shares_phone("+79035550104")
        [email] = self.sent()
        self.assertEqual(email["text"], "Your email?", "the phone came with the card")
        self.says("My email: anna@example.org")
        self.assertEqual(self.sent()[0]["text"], self.channel.questionnaire_done_text)
        conversation = self.conversation()
        self.assertEqual(conversation.lead_id.email_from, "anna@example.org")
        self.assertEqual(conversation.identity_id.email_normalized, "anna@example.org")

    def test_nothing_to_ask_sends_nothing(self):
        self.add_questions(self.channel, ("phone", "Your phone number, please?", ""))
        self.shares_phone("+79035550106")
        self.assertFalse(self.sent(), "the phone came with the card: no thanks either")
        self.assertEqual(self.conversation().questionnaire_state, "done")

    def test_free_text_stops_the_questions(self):
        self.add_questions(
            self.channel,
            ("name", "What is your name?", ""),
            ("need", "What are you looking for?", "Sofa\nTable"),
        )
        self.says("Hi")
        self.assertEqual(self.sent()[-1]["text"], "What is your name?")
        self.says(LONG_TEXT)
        self.assertFalse(self.sent(), "no more questions after free writing")
        conversation = self.conversation()
        self.assertEqual(conversation.questionnaire_state, "stopped")
        self.assertIn(
            "the customer wrote freely",
            conversation.message_ids.mapped("preview")[0],
        )
        self.says("Anna")
        self.assertFalse(self.sent(), "stopped for good")

    def test_short_unknown_answer_is_asked_again_once(self):
        self.add_questions(
            self.channel,
            ("need", "What are you looking for?", "Sofa\nTable"),
            ("email", "Your email?", ""),
        )
        self.says("Hi")
        self.sent()
        self.says("a chair")
        [again] = self.sent()
        self.assertEqual(
            again["text"], "Sorry, I did not get that.\nWhat are you looking for?"
        )
        self.assertEqual(len(inline_buttons(again)), 2)
        self.says("2")
        self.assertEqual(self.sent()[0]["text"], "Your email?", "a typed number")
        self.assertIn("Table", self.conversation().lead_id.description)
        self.says("no")
        self.assertEqual(len(self.sent()), 1, "asked again")
        self.says("no way")
        self.assertFalse(self.sent())
        self.assertEqual(self.conversation().questionnaire_state, "stopped")

    def test_a_person_answering_stops_the_questions(self):
        self.add_questions(
            self.channel,
            ("name", "What is your name?", ""),
            ("need", "What are you looking for?", "Sofa\nTable"),
        )
        self.says("Hi")
        self.sent()
        conversation = self.conversation()
        conversation.sudo()._assign(self.seller, "test")
        conversation.with_user(self.seller)._post_reply(
            "Hello, I am Sam, how can I help?", user=self.seller
        )
        self.assertEqual(conversation.questionnaire_state, "stopped")
        self.sent()
        self.says("Anna")
        self.assertFalse(self.sent(), "the bot keeps quiet once a person answered")
        self.assertFalse(conversation.lead_id.description)

    def load_russian(self):
        self._load_russian()
        self.user = tg_user(language_code="ru")

    def test_russian_customer_gets_russian_questions(self):
        self.load_russian()
        questions = self.add_questions(
            self.channel,
            ("need", "What are you looking for?", "Sofa\nTable"),
            ("phone", "Your phone number, please?", ""),
        )
        questions[0].with_context(lang="ru_RU").write(
            {"name": "Что вы ищете?", "options": "Диван\nСтол"}
        )
        questions[1].with_context(lang="ru_RU").name = "Ваш телефон?"
        self.says("Здравствуйте")
        [need] = self.sent()
        self.assertEqual(need["text"], "Что вы ищете?")
        self.assertEqual(inline_buttons(need), [("Диван", "Диван"), ("Стол", "Стол")])
        self.press("Стол")
        [phone] = self.sent()
        self.assertEqual(phone["text"], "Ваш телефон?")
        lead = self.conversation().lead_id
        self.assertIn("Стол", lead.description)
        # The tag is in the language of who reads the lead (English here).
        self.assertEqual(lead.tag_ids.mapped("name"), ["Table"])

    def test_russian_customer_gets_russian_buttons_and_prompts(self):
        # The addon's own texts come from i18n/ru.po (read through the .pot).
        self.load_russian()
        question = self.add_questions(
            self.channel, ("phone", "Your phone number, please?", "")
        )
        question.with_context(lang="ru_RU").name = "Ваш телефон?"
        self.says("Здравствуйте")
        [phone] = self.sent()
        self.assertEqual(
            markup_of(phone)["keyboard"][0][0]["text"], "Поделиться номером телефона"
        )
        self.says("не скажу")
        [again] = self.sent()
        self.assertEqual(again["text"], "Извините, я не понял ответ.\nВаш телефон?")

    def test_answers_wait_for_the_lead(self):
        self.channel.create_leads = False
        self.add_questions(self.channel, ("name", "What is your name?", ""))
        self.says("Hi")
        self.says("Anna Petrova")
        conversation = self.conversation()
        self.assertFalse(conversation.lead_id)
        self.assertEqual(conversation.questionnaire_answers, {"name": "Anna Petrova"})
        lead = self.env["crm.lead"].create(
            {"name": "Later", "partner_id": conversation.partner_id.id}
        )
        conversation.lead_id = lead
        self.assertEqual(lead.contact_name, "Anna Petrova")
        # Forgetting the customer forgets the answers kept for a lead too.
        conversation.partner_id._omnichannel_forget()
        self.assertFalse(conversation.questionnaire_answers)

    def test_no_query_for_a_channel_without_questionnaire(self):
        self.says("Hi")
        conversation = self.conversation()
        message = self.messages().filtered(lambda m: m.direction == "in")
        # What the inbound path has read already (the conversation's and the
        # channel's rows).
        self.assertTrue(conversation.channel_id.name and conversation.state)
        self.assertEqual(message.author_kind, "customer")
        with self.assertQueryCount(0):
            conversation._after_receive(message)

    def test_only_administrators_configure_questions(self):
        questions = self.add_questions(self.channel, ("name", "What is your name?", ""))
        self.assertEqual(questions.with_user(self.seller).name, "What is your name?")
        with self.assertRaises(AccessError):
            questions.with_user(self.seller).write({"name": "Your card number?"})
        with self.assertRaises(AccessError):
            self.env["omnichannel.questionnaire.question"].with_user(
                self.leader
            ).create({"channel_id": self.channel.id, "kind": "name", "name": "PIN?"})

    def test_channel_without_questionnaire_sends_nothing_more(self):
        self.says("/start")
        self.assertEqual([c["text"] for c in self.sent()], ["Welcome to the shop!"])
        self.assertFalse(self.conversation().questionnaire_state)


@tagged("post_install", "-at_install")
class TestQuestionnaireViber(QuestionnaireCase):
    """A provider without buttons (Viber here): numbered options in the
    text, a typed number or option is the answer."""

    def setUp(self):
        super().setUp()
        self.channel = self._viber_bot(
            team_id=self.team.id, send_rate=0, send_chat_rate=0
        )
        self.token = 5000

    def says(self, text):
        self.token += 1
        body, signature = viber_signature(
            self.viber.token,
            viber_message(
                self.token,
                {"type": "text", "text": text},
                user=dict(viber_user(), language="en"),
            ),
        )
        response = self.post_webhook(
            self.channel, body, headers={"X-Viber-Content-Signature": signature}
        )
        self.assertEqual(response.status_code, 200, response.text)

    def sent(self):
        sent, self.viber.sent[:] = list(self.viber.sent), []
        return sent

    def test_numbered_options_and_typed_answers(self):
        self.add_questions(
            self.channel,
            ("need", "What are you looking for?", "Sofa\nTable"),
            ("phone", "Your phone number, please?", ""),
        )
        self.says("Hello")
        [need] = self.sent()
        self.assertEqual(
            need["text"],
            "What are you looking for?\n1. Sofa\n2. Table\n"
            "Reply with the number of your answer.",
        )
        self.assertNotIn("keyboard", need)
        self.says("table")
        [phone] = self.sent()
        self.assertEqual(phone["text"], "Your phone number, please?")
        self.assertNotIn("keyboard", phone)
        self.says("8 (903) 555-01-05")
        conversation = self.conversation()
        self.assertEqual(conversation.questionnaire_state, "done")
        lead = conversation.lead_id
        self.assertIn("Table", lead.description)
        self.assertEqual(conversation.identity_id.phone_sanitized, "+79035550105")
        self.assertFalse(conversation.identity_id.phone_verified, "a claim, typed")
        self.assertTrue(lead.phone)
