import calendar
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

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
        Lead = self.env["crm.lead"]
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
            conversation = self._demo_conversation(
                channel, partner, f"demo-{index}"
            )
            user = users[index % len(users)]
            conversation.write({"user_id": user.id})
            answered = index % 7 != 3
            when = start
            for exchange in range(rng.choice([1, 1, 2, 3]) if answered else 1):
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
                     WHERE conversation_id = ANY(%s) AND lead_id IS NOT NULL GROUP BY lead_id) first
             WHERE l.id = first.lead_id
        """,
                conversations.ids,
            )
        )
        self.env["crm.lead"].invalidate_model(["create_date"])
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
