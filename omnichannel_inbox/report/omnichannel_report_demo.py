import calendar
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, html2plaintext

from odoo.addons.omnichannel_inbox import connectors

DEMO_CUSTOMERS = [
    "Алексей Смирнов",
    "Мария Кузнецова",
    "Дмитрий Попов",
    "Екатерина Васильева",
    "Сергей Новиков",
    "Ольга Морозова",
    "Андрей Волков",
    "Наталья Соколова",
    "Павел Лебедев",
    "Татьяна Козлова",
    "Игорь Никитин",
    "Светлана Орлова",
    "Роман Зайцев",
    "Юлия Павлова",
    "Максим Семенов",
    "Анна Голубева",
    "Виктор Виноградов",
    "Елена Богданова",
    "Артем Федоров",
    "Ирина Михайлова",
    "Николай Белов",
    "Ксения Тарасова",
    "Григорий Беляев",
    "Дарья Комарова",
    "Олег Киселев",
    "Людмила Макарова",
    "Евгений Андреев",
    "Вера Ковалева",
    "Михаил Ильин",
    "Алина Гусева",
    "Станислав Титов",
    "Полина Кудрявцева",
    "Борис Баранов",
    "Галина Куликова",
    "Илья Алексеев",
    "Маргарита Степанова",
]
QUESTIONS = [
    "Здравствуйте! Сколько стоит доставка в Казань?",
    "Есть ли кресла в наличии?",
    "Пришлите, пожалуйста, коммерческое предложение.",
    "Можно оплатить по счёту?",
    "Какие сроки изготовления?",
    "Нужна консультация по моделям.",
    "Есть скидка на 20 штук?",
]
ANSWERS = [
    "Добрый день! Да, есть в наличии.",
    "Здравствуйте! Доставка 2-3 дня, стоимость рассчитаю сейчас.",
    "Предложение отправлю сегодня.",
    "Да, выставим счёт на организацию.",
]
#: minutes a salesperson takes to answer, and how often
REPLY_DELAYS = [(3, 4), (6, 5), (11, 4), (20, 3), (45, 2), (90, 2), (240, 1), (1200, 1)]


class OmnichannelDashboard(models.AbstractModel):
    _inherit = "omnichannel.dashboard"

    @api.model
    def _demo_history(self):
        """Demo data: four weeks of conversations on the demo channels, so
        that the reports show figures.  Customer messages go through the
        conversation's inbound flow with their past dates (routing, the SLA
        policy's deadline); replies are stored the way the reply flow stores
        them, dated in the past and marked delivered (the demo accounts are
        not real, nothing is sent).  Automatic replies are off while the
        history is written: they would be dated today."""
        rng = random.Random(6)
        sandbox = self.env.ref("omnichannel_inbox.demo_channel_sandbox")
        telegram = self.env.ref("omnichannel_inbox.demo_channel_telegram")
        # The company's email account (created with the addon) gets the
        # customers who move from a chat to email.
        mailbox = self.env["omnichannel.channel"].search(
            [
                ("channel_type", "=", "email"),
                ("company_id", "=", sandbox.company_id.id),
            ],
            limit=1,
        )
        autoreplies = (sandbox | telegram).filtered("autoreply_enabled")
        autoreplies.autoreply_enabled = False
        users = self.env.ref("base.user_admin") | self.env.ref("base.user_demo")
        now = fields.Datetime.now().replace(second=0, microsecond=0)
        conversations = self.env["omnichannel.conversation"]
        for index, name in enumerate(DEMO_CUSTOMERS):
            channel = telegram if index % 5 in (0, 2, 4) else sandbox
            start = now - timedelta(
                days=rng.randint(1, 27),
                hours=rng.randint(0, 9),
                minutes=rng.randint(0, 59),
            )
            start = start.replace(hour=rng.randint(5, 16))  # 08:00-19:00 Moscow time
            partner = self.env["res.partner"].create({"name": name})
            conversation = self._demo_conversation(channel, partner, f"demo-{index}")
            user = users[index % len(users)]
            conversation.write({"user_id": user.id})
            answered = index % 7 != 3
            when = start
            for _exchange in range(rng.choice([1, 1, 2, 3]) if answered else 1):
                self._demo_customer_says(conversation, when, rng.choice(QUESTIONS))
                if not answered:
                    break
                delay = rng.choices(
                    [d for d, _w in REPLY_DELAYS], [w for _d, w in REPLY_DELAYS]
                )[0]
                if (now - start).days > 14:
                    # The team answered slower before: the dashboard's trends
                    # and the digest's previous period show the improvement.
                    delay *= 3
                when += timedelta(minutes=delay + rng.randint(0, 3))
                self._demo_reply(conversation, when, user, rng.choice(ANSWERS))
                when += timedelta(hours=rng.randint(1, 20))
                if when >= now:
                    break
            lead = conversation.lead_id
            lead.write(
                {"user_id": user.id, "expected_revenue": rng.randint(2, 60) * 5000}
            )
            outcome = rng.random()
            if answered and outcome < 0.4:
                lead.action_set_won()
            elif outcome > (0.4 if not answered else 0.7) or (
                conversation.first_response_sla_status == "breached" and outcome > 0.5
            ):
                lead.action_set_lost()
            if lead.won_status != "pending":
                lead.date_closed = min(when, now)
            conversations |= conversation
            # Some customers who wrote in a messenger then send an email.
            if mailbox and index % 6 == 1:
                follow_up = self._demo_conversation(
                    mailbox, partner, f"demo-mail-{index}"
                )
                mail_date = min(
                    start + timedelta(days=rng.randint(1, 3)), now - timedelta(hours=2)
                )
                self._demo_customer_says(
                    follow_up, mail_date, "Высылаю реквизиты для счёта."
                )
                if index % 12 == 1:
                    self._demo_reply(
                        follow_up,
                        mail_date + timedelta(minutes=35),
                        user,
                        "Спасибо, счёт во вложении.",
                    )
                conversations |= follow_up
        autoreplies.autoreply_enabled = True
        # The demo leads were opened by their first message, not today.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE crm_lead l SET create_date = first.date
              FROM (SELECT lead_id, MIN(date) AS date FROM omnichannel_message
                     WHERE conversation_id = ANY(%s) AND lead_id IS NOT NULL GROUP BY
                         lead_id) first
             WHERE l.id = first.lead_id
        """,
                conversations.ids,
            )
        )
        self.env["crm.lead"].invalidate_model(["create_date"])
        self._demo_csat_answers(conversations)
        return conversations

    def _demo_conversation(self, channel, partner, user_ref):
        identity = self.env["omnichannel.identity"].create(
            {
                "channel_id": channel.id,
                "provider_user_id": user_ref,
                "name": partner.name,
                "partner_id": partner.id,
            }
        )
        return self.env["omnichannel.conversation"]._get_for_identity(channel, identity)

    def _demo_customer_says(self, conversation, date, text):
        event = connectors.InboundMessage(
            event_id=f"{conversation.identity_id.provider_user_id}-{date.isoformat()}",
            message_id=f"{conversation.identity_id.provider_user_id}-{date.isoformat()}",
            sender=connectors.Contact(
                user_id=conversation.identity_id.provider_user_id,
                name=conversation.partner_id.name,
            ),
            chat_id=conversation.identity_id.provider_user_id,
            date=calendar.timegm(date.timetuple()),
            text=text,
        )
        message = conversation._receive_message(event)
        message.mail_message_id.date = date
        return message

    def _demo_reply(self, conversation, date, user, text):
        """A past reply, stored as the reply flow stores one (not sent)."""
        mail_message = conversation.with_context(
            mail_create_nosubscribe=True
        ).message_post(
            body=text,
            author_id=user.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        mail_message.date = date
        message = self.env["omnichannel.message"].create(
            {
                "conversation_id": conversation.id,
                "mail_message_id": mail_message.id,
                "direction": "out",
                "author_kind": "employee",
                "author_user_id": user.id,
                "status": "delivered",
                "date": date,
                "sent_date": date,
                "lead_id": conversation.lead_id.id,
            }
        )
        conversation._register_outbound(message)
        conversation._after_outbound(message)
        return message

    def _demo_csat_answers(self, conversations):
        """The customers of closed demo deals answered a satisfaction
        survey (most happy, some not, a few silent), so the satisfaction
        report and the digest show figures.  Stored as an answer would be,
        dated after the deal closed; the demo accounts send nothing."""
        rng = random.Random(17)
        now = fields.Datetime.now()
        for conversation in conversations.filtered(
            lambda c: c.lead_id.won_status in ("won", "lost")
        ):
            lead = conversation.lead_id
            sent = min((lead.date_closed or now) + timedelta(minutes=5), now)
            won = lead.won_status == "won"
            score = rng.choices(
                [0, 1, 2, 3, 4, 5], [2, 1, 1, 2, 4, 6] if won else [3, 3, 3, 2, 1, 1]
            )[0]
            conversation.write(
                {
                    "csat_sent_date": sent,
                    "csat_trigger": "won_lost",
                    "csat_lead_id": lead.id,
                    "csat_score": score,
                    "csat_date": min(sent + timedelta(minutes=rng.randint(1, 90)), now)
                    if score
                    else False,
                }
            )
            if score:
                lead.omnichannel_csat_score = score

    @api.model
    def _demo_quality(self):
        """Demo data of the quality reports, on top of ``_demo_history``:
        a few sloppy answers, customers who come back on the Sandbox chat
        with the question they asked in Telegram, most conversations closed
        and scored by the quality cron, one score overridden by a manager."""
        Conversation = self.env["omnichannel.conversation"]
        sandbox = self.env.ref("omnichannel_inbox.demo_channel_sandbox")
        telegram = self.env.ref("omnichannel_inbox.demo_channel_telegram")
        now = fields.Datetime.now()
        history = Conversation.search(
            [
                ("channel_id", "in", (sandbox | telegram).ids),
                ("first_response_date", "!=", False),
            ],
            order="id",
        )
        for conversation in history[1::4]:
            last = conversation.last_message_date
            user = conversation.user_id or self.env.ref("base.user_admin")
            self._demo_reply(
                conversation,
                last + timedelta(minutes=7),
                user,
                "Не знаю, ждите ответа.",
            )
        # customers who had to ask again, two days later, on the other channel
        autoreply = sandbox.autoreply_enabled
        sandbox.autoreply_enabled = False
        for index, previous in enumerate(
            history.filtered(lambda c: c.channel_id == telegram)[:6]
        ):
            come_back = previous.last_message_date + timedelta(days=2)
            if come_back >= now:
                continue
            first = previous.omnichannel_message_ids.filtered(
                lambda m: m.direction == "in"
            ).sorted("date")[:1]
            again = self._demo_conversation(
                sandbox, previous.partner_id, f"demo-again-{index}"
            )
            question = (
                html2plaintext(first.body or "").strip() or "Сколько стоит доставка?"
            )
            self._demo_customer_says(
                again, come_back, question if index % 3 else "Хочу оформить возврат"
            )
            self._demo_reply(
                again,
                come_back + timedelta(minutes=15),
                self.env.ref("base.user_demo"),
                "Здравствуйте! Сейчас уточню и вернусь с ответом. Вам удобно по "
                "телефону?",
            )
        sandbox.autoreply_enabled = autoreply
        closing = Conversation.search(
            [("channel_id", "in", (sandbox | telegram).ids)], order="id"
        )
        closing.filtered(lambda c: c.id % 5).action_close()
        Conversation._cron_quality()
        review = self.env["omnichannel.quality.review"].search(
            [("failed_count", ">", 0)], limit=1
        )
        if review:
            review.with_user(self.env.ref("base.user_admin")).action_override(
                min(100.0, review.auto_score + 20),
                "The customer only asked for a price: no next step was needed.",
            )
        return closing
