from datetime import datetime

from odoo.tests import BaseCase, tagged

from odoo.addons.omnichannel_inbox.omnichannel_inbox.services.followup_dates import (
    follow_up_in,
)

# Wednesday 12 March 2025, 11:20 local time.
NOW = datetime(2025, 3, 12, 11, 20)

# (phrase, expected local date and time "YYYY-MM-DD" or "YYYY-MM-DD HH:MM")
CUSTOMER_PHRASES = [
    ("Я решу через неделю", "2025-03-19"),
    ("Давайте в понедельник после обеда", "2025-03-17 14:00"),
    ("Позвоните завтра", "2025-03-13"),
    ("Перезвоните завтра в 15:00", "2025-03-13 15:00"),
    ("До конца месяца определимся", "2025-03-31"),
    ("Вернусь к вам через пару дней", "2025-03-14"),
    ("Через 3 дня будет ясно", "2025-03-15"),
    ("Давайте в следующий понедельник", "2025-03-17"),
    ("Подумаю до пятницы", "2025-03-14"),
    ("Решение будет к 15 марта", "2025-03-15"),
    ("Ответим до 20.03", "2025-03-20"),
    ("На следующей неделе обсудим", "2025-03-17"),
    ("Напишите мне через месяц", "2025-04-12"),
    ("Через час буду на месте", "2025-03-12 12:20"),
    ("Послезавтра приеду", "2025-03-14"),
    ("Утром в пятницу удобно", "2025-03-14 10:00"),
    ("Сегодня вечером посмотрю", "2025-03-12 18:00"),
    ("К концу недели решим", "2025-03-14"),
    ("Next Tuesday works for me", "2025-03-18"),
    ("Ping me in 3 days", "2025-03-15"),
    ("We will know by the end of month", "2025-03-31"),
    ("I'll decide in a week", "2025-03-19"),
    ("Call me tomorrow at 3pm", "2025-03-13 15:00"),
    ("Talk on Friday", "2025-03-14"),
    ("Let us speak next week", "2025-03-17"),
    ("Back to you in a couple of days", "2025-03-14"),
    ("Maybe next month", "2025-04-01"),
    ("The budget is approved on March 20th", "2025-03-20"),
    ("We decide by the end of the week", "2025-03-14"),
    ("In 2 hours I am free", "2025-03-12 13:20"),
]

# Phrases that must create nothing: no date, the past, durations, questions, numbers.
NOTHING = [
    "Здравствуйте!",
    "Спасибо большое",
    "Вчера звонил, никто не ответил",
    "Неделю назад заказывал",
    "Доставка занимает 3 дня",
    "Можно завтра привезти?",
    "Работаем 24/7",
    "В прошлый понедельник было закрыто",
    "Версия 1.5 лучше",
    "Hello",
    "Thanks a lot!",
    "I called on Monday",
    "We talked last Tuesday",
    "3 days ago I ordered",
    "Monday's delivery was late",
    "Can you deliver tomorrow?",
    "We have 40 chairs in 3D",
    "Mondays are busy",
]


@tagged("post_install", "-at_install")
class TestFollowupDates(BaseCase):
    """The pure-Python extractor on a table of Russian and English phrases."""

    def test_phrase_table(self):
        for phrase, expected in CUSTOMER_PHRASES:
            with self.subTest(phrase=phrase):
                found = follow_up_in(phrase, NOW)
                self.assertTrue(found, phrase)
                mention, _sentence = found
                fmt = "%Y-%m-%d %H:%M" if " " in expected else "%Y-%m-%d"
                self.assertEqual(mention.when.strftime(fmt), expected, phrase)
                self.assertEqual(mention.has_time, " " in expected, phrase)

    def test_phrases_that_create_nothing(self):
        for phrase in NOTHING:
            with self.subTest(phrase=phrase):
                self.assertIsNone(follow_up_in(phrase, NOW), phrase)

    def test_own_promises_only_with_a_commitment(self):
        self.assertEqual(
            follow_up_in("I'll send the offer tomorrow", NOW, own_promise=True)[0]
            .when.date()
            .isoformat(),
            "2025-03-13",
        )
        self.assertEqual(
            follow_up_in("Пришлю завтра", NOW, own_promise=True)[0]
            .when.date()
            .isoformat(),
            "2025-03-13",
        )
        self.assertEqual(
            follow_up_in("Перезвоню в понедельник после обеда", NOW, own_promise=True)[
                0
            ].when.isoformat(),
            "2025-03-17T14:00:00",
        )
        self.assertIsNone(follow_up_in("Tomorrow we are closed", NOW, own_promise=True))
        self.assertIsNone(follow_up_in("Завтра выходной", NOW, own_promise=True))

    def test_question_and_statement_in_one_message(self):
        mention, sentence = follow_up_in(
            "Можно завтра привезти? Я решу через неделю.", NOW
        )
        self.assertEqual(mention.when.date().isoformat(), "2025-03-19")
        self.assertEqual(sentence, "Я решу через неделю.")

    def test_timezone_aware_now_keeps_its_timezone(self):
        import pytz

        now = pytz.timezone("Asia/Vladivostok").localize(datetime(2025, 3, 12, 23, 30))
        mention, _sentence = follow_up_in("завтра", now)
        self.assertEqual(mention.when.date().isoformat(), "2025-03-13")
        self.assertEqual(str(mention.when.tzinfo), "Asia/Vladivostok")
