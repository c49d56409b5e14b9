import json
import re
import time
from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user
from .test_whatsapp import PHONE_ID, WhatsAppCase

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def tg_press(update_id, data, user=None, message_id=900):
    """A callback_query update as Telegram POSTs it when the customer presses
    an inline button of one of our messages."""
    user = user or tg_user()
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"43829{update_id}",
            "from": user,
            "chat_instance": "-539157312417",
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "from": {"id": 123, "is_bot": True, "first_name": "Sales bot"},
                "chat": {
                    "id": user["id"],
                    "type": "private",
                    "first_name": user["first_name"],
                },
                "text": "How satisfied are you?",
            },
            "data": data,
        },
    }


class CsatCase(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.leader = new_test_user(
            self.env,
            "csat_leader",
            groups="omnichannel_inbox.group_omnichannel_team_leader",
            name="Lena Leader",
        )
        self.seller = new_test_user(
            self.env,
            "csat_seller",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Sam Seller",
        )
        self.team = self.env["crm.team"].create(
            {
                "name": "CSAT team",
                "user_id": self.leader.id,
                "omnichannel_csat_mode": "closed",
                "omnichannel_csat_days": 30,
                "omnichannel_csat_low_score": 2,
            }
        )
        self.Message = self.env["omnichannel.message"].sudo()
        self.Activity = self.env["mail.activity"].sudo()

    def leader_activities(self, lead):
        return self.Activity.search(
            [
                ("res_model", "=", "crm.lead"),
                ("res_id", "=", lead.id),
                ("user_id", "=", self.leader.id),
            ]
        )


@tagged("post_install", "-at_install")
class TestCsatTelegram(CsatCase):
    """The survey through the Telegram fake: sent on close or on a won lead,
    answered with a button or a typed digit, stored on conversation and lead."""

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(team_id=self.team.id)
        self.update_id = 7000

    def send(self, update):
        response = self.post_webhook(
            self.channel, update, headers={SECRET_HEADER: "s3cret-token"}
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def customer_says(self, text, user=None):
        self.update_id += 1
        self.send(tg_update(self.update_id, user=user, text=text))
        return self.Message.search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )

    def press(self, data):
        self.update_id += 1
        return self.send(tg_press(self.update_id, data))

    def surveys_sent(self):
        calls = [c.fields for c in self.bot_api.calls("sendMessage")]
        return [c for c in calls if "/rate/" in c.get("text", "")]

    def conversation_answered(self):
        conversation = self.customer_says("Нужен стул").conversation_id
        conversation.sudo()._assign(self.seller, "test")
        conversation.with_user(self.seller)._post_reply(
            "Есть в наличии", user=self.seller
        )
        return conversation

    def test_survey_on_close_answered_with_a_button(self):
        conversation = self.conversation_answered()
        lead = conversation.lead_id
        self.assertFalse(
            self.surveys_sent(), "no survey while the conversation is open"
        )
        conversation.with_user(self.seller).action_close()
        surveys = self.surveys_sent()
        self.assertEqual(len(surveys), 1)
        markup = surveys[0]["reply_markup"]
        markup = json.loads(markup) if isinstance(markup, str) else markup
        buttons = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        self.assertEqual(buttons, ["1", "2", "3", "4", "5"])
        self.assertTrue(conversation.csat_sent_date)
        survey = self.Message.search(
            [("conversation_id", "=", conversation.id), ("csat_survey", "=", True)]
        )
        self.assertEqual((survey.status, survey.author_kind), ("sent", "auto"))

        self.press("5")
        self.assertEqual(conversation.csat_score, 5)
        self.assertEqual(lead.omnichannel_csat_score, 5)
        self.assertEqual(
            conversation.state, "closed", "an answer to the survey is not a new request"
        )
        self.assertEqual(conversation.lead_id, lead, "no new lead for an answer")
        rating = (
            self.env["rating.rating"]
            .sudo()
            .search(
                [
                    ("res_model", "=", conversation._name),
                    ("res_id", "=", conversation.id),
                ]
            )
        )
        self.assertEqual((rating.rating, rating.consumed), (5, True))
        self.assertFalse(
            self.leader_activities(lead), "a happy customer needs no call back"
        )
        panel = self.Message.with_user(self.seller).panel_fetch("crm.lead", lead.id)
        self.assertEqual(
            panel["conversations"][0]["csat_score"], 5, "the chat panel shows the score"
        )
        # The same press again (Telegram resends on a timeout) changes nothing.
        self.send(tg_press(self.update_id, "5"))
        self.assertEqual(conversation.csat_score, 5)

        # Report: the score by salesperson, team and channel.
        rows = (
            self.env["omnichannel.report.csat"]
            .with_user(self.leader)
            ._read_group(
                [("team_id", "=", self.team.id)],
                ["user_id", "channel_type"],
                ["csat:avg", "answered_count:sum"],
            )
        )
        self.assertEqual(rows, [(self.seller, "telegram", 5.0, 1)])

        # The digest: average score of the period, beside the previous one.
        # (Its period ends at "now" to the second, exclusive: the answer is
        # dated a minute earlier, as any answer read by a digest is.)
        conversation.sudo().csat_date = fields.Datetime.now() - timedelta(minutes=1)
        digest = self.env["digest.digest"].create(
            {
                "name": "Weekly",
                "kpi_omnichannel_csat": True,
                "company_id": self.env.company.id,
            }
        )
        kpis = digest.with_user(self.leader)._compute_kpis(
            self.env.company, self.leader
        )
        csat = next(k for k in kpis if k["kpi_name"] == "kpi_omnichannel_csat")
        self.assertEqual(csat["kpi_col1"]["value"], "5.00", csat)

    def test_typed_low_score_calls_the_team_leader_and_no_second_survey_in_the_period(
        self,
    ):
        conversation = self.conversation_answered()
        lead = conversation.lead_id
        conversation.action_close()
        self.customer_says("2")
        self.assertEqual(conversation.csat_score, 2)
        self.assertEqual(lead.omnichannel_csat_score, 2)
        activity = self.leader_activities(lead)
        self.assertEqual(len(activity), 1)
        self.assertIn("Unhappy customer", activity.summary)
        self.assertIn("2/5", activity.note)
        self.assertEqual(conversation.state, "closed")
        self.assertFalse(
            conversation.waiting_since,
            "the customer is not waiting for an answer to a score",
        )

        # The customer writes again: a real request now ("2" is no longer an answer).
        self.customer_says("2")
        self.assertEqual(conversation.state, "open")
        self.assertEqual(
            len(self.leader_activities(lead)), 1, "one answer, one call back"
        )
        conversation.action_close()
        self.assertEqual(len(self.surveys_sent()), 1, "asked at most once in 30 days")
        self.assertIn("already asked", "".join(conversation.message_ids.mapped("body")))
        # Past the period the customer is asked again.
        conversation.sudo().csat_sent_date = fields.Datetime.now() - timedelta(days=31)
        conversation.action_reopen()
        conversation.action_close()
        self.assertEqual(len(self.surveys_sent()), 2)

    def test_survey_when_the_lead_is_won_and_not_on_close(self):
        self.channel.csat_mode = "won_lost"
        conversation = self.conversation_answered()
        lead = conversation.lead_id
        conversation.action_close()
        self.assertFalse(
            self.surveys_sent(), "this channel asks when the lead is won or lost"
        )
        lead.with_user(self.seller).action_set_won()
        self.assertEqual(len(self.surveys_sent()), 1)
        self.assertEqual(conversation.csat_lead_id, lead)
        self.press("4")
        self.assertEqual(lead.omnichannel_csat_score, 4)
        self.assertEqual(
            conversation.lead_id, lead, "the answer opens no new lead after the won one"
        )
        self.assertEqual(
            self.env["crm.lead"]
            .sudo()
            .search_count([("partner_id", "=", conversation.partner_id.id)]),
            1,
        )

    def test_press_outside_a_chat_with_the_bot_is_ignored(self):
        """A button of a message sent in inline mode (only an
        inline_message_id, no chat) is nobody's conversation."""
        self.update_id += 1
        update = tg_press(
            self.update_id, "Buy now", user=tg_user(user_id=4440001, first_name="Ivan")
        )
        del update["callback_query"]["message"]
        update["callback_query"]["inline_message_id"] = "AAAAAOZ-inline"
        self.send(update)
        row = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("channel_id", "=", self.channel.id)])
        )
        self.assertEqual(row.state, "ignored")
        self.assertFalse(
            self.env["omnichannel.conversation"]
            .sudo()
            .search([("channel_id", "=", self.channel.id)])
        )
        self.assertFalse(
            self.env["crm.lead"].sudo().search([("name", "ilike", "Ivan")])
        )

    def test_never_means_never(self):
        self.channel.csat_mode = "never"
        conversation = self.conversation_answered()
        conversation.action_close()
        conversation.lead_id.action_set_won()
        self.assertFalse(self.surveys_sent())
        self.assertFalse(conversation.csat_sent_date)

    def test_answer_on_the_rating_page(self):
        conversation = self.conversation_answered()
        lead = conversation.lead_id
        conversation.action_close()
        url = re.search(r"(/rate/[\w-]+)/5", self.surveys_sent()[0]["text"]).group(1)
        page = self.url_open(f"{url}/1")
        self.assertEqual(page.status_code, 200)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        answer = self.url_open(
            f"{url}/submit_feedback",
            data={"rate": "1", "feedback": "Долго ждал", "csrf_token": csrf},
        )
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(conversation.csat_score, 1)
        self.assertEqual(lead.omnichannel_csat_score, 1)
        self.assertEqual(len(self.leader_activities(lead)), 1)
        # The token is used: a typed answer afterwards is a message, not a second score.
        self.customer_says("5")
        self.assertEqual(conversation.csat_score, 1)
        self.assertEqual(self.url_open("/rate/not-a-token/1").status_code, 404)


@tagged("post_install", "-at_install")
class TestCsatWhatsAppWindow(CsatCase, WhatsAppCase):
    """Never outside WhatsApp's 24-hour window; plain text (no buttons) inside."""

    def setUp(self):
        super().setUp()
        self.channel.team_id = self.team

    def test_no_survey_outside_the_window_plain_text_inside(self):
        self.receive(
            "text",
            {"body": "Старый вопрос"},
            wa_id="79160007788",
            name="Boris Orlov",
            timestamp=time.time() - 30 * 3600,
        )
        old = self.last_message().conversation_id
        old.action_close()
        self.assertFalse(
            self.graph.api_calls("POST", f"{PHONE_ID}/messages"),
            "nothing sent outside the window",
        )
        self.assertFalse(old.csat_sent_date)
        self.assertIn("24 hours", "".join(old.message_ids.mapped("body")))

        fresh = self.receive("text", {"body": "Спасибо"}).conversation_id
        fresh.action_close()
        calls = self.graph.api_calls("POST", f"{PHONE_ID}/messages")
        self.assertEqual(len(calls), 1)
        body = calls[0].json()
        self.assertEqual(body["type"], "text")
        self.assertIn("1 (bad) to 5 (excellent)", body["text"]["body"])
        self.receive("text", {"body": "3"})
        self.assertEqual(fresh.csat_score, 3)


@tagged("post_install", "-at_install")
class TestLeadMessagesToClose(CsatCase):
    """Messages and days until a lead is won, in the conversion report."""

    def test_messages_and_days_to_win(self):
        channel = self._create_channel(
            "sandbox", name="Site chat", team_id=self.team.id
        )
        self.team.omnichannel_csat_mode = "never"
        for text in ("Здравствуйте", "Нужно 10 кресел"):
            self._journal_and_process(channel, [self._sandbox_event("s-1", text=text)])
        conversation = (
            self.env["omnichannel.conversation"]
            .sudo()
            .search([("channel_id", "=", channel.id)])
        )
        conversation._post_reply("Добрый день! Считаю", user=self.seller)
        conversation._post_reply("Скидка 5%", author_kind="auto")
        lead = conversation.lead_id
        messages = self.Message.search(
            [("conversation_id", "=", conversation.id)], order="id"
        )
        messages[0].date = fields.Datetime.now() - timedelta(days=3)
        lead.action_set_won()
        lead.date_closed = fields.Datetime.now()
        self._journal_and_process(
            channel, [self._sandbox_event("s-1", text="А когда доставка?")]
        )

        row = self.env["omnichannel.report.lead"].search([("lead_id", "=", lead.id)])
        self.assertEqual(row.won_status, "won")
        self.assertEqual(
            row.won_message_count,
            3,
            "two from the customer, one from the salesperson, before the win",
        )
        self.assertAlmostEqual(row.days_to_close, 3.0, delta=0.01)
        [(channel_type, days, count)] = self.env["omnichannel.report.lead"]._read_group(
            [("lead_id", "=", lead.id)],
            ["channel_type"],
            ["days_to_close:avg", "won_message_count:avg"],
        )
        self.assertEqual((channel_type, count), ("sandbox", 3))
        self.assertAlmostEqual(days, 3.0, delta=0.01)
        self.assertEqual(
            (row.customer_message_count, row.employee_message_count),
            (2, 1),
            "the automatic reply is not a salesperson message; the message after "
            "the win is a new lead",
        )
