"""Becoming someone else by claiming their phone or email (issue 10, point 2).

Each attacker claims a known customer's phone or email the way the channel
allows (a third person's contact card, an email typed in a chat, the
Sandbox); none of it links the attacker to the customer, shows the
customer's history in the attacker's conversation, or merges anything.  A
claim becomes a suggestion a salesperson confirms or rejects; only a proof
(the provider's own user id or a phone it vouches for) links by itself, and a
manager can undo such a link."""

import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user
from .test_whatsapp import CUSTOMER, WhatsAppCase

VICTIM_PHONE = "+79161234567"
VICTIM_EMAIL = "ivan.petrov@example.com"
SECRET = "Deliver to Lenina 5, flat 12, code 4321"


class VictimMixin:
    def make_victim(self):
        """Ivan Petrov, a known customer with an open lead and a private
        history (an SMS his phone company vouched for)."""
        self.victim = self.env["res.partner"].create(
            {"name": "Ivan Petrov", "phone": VICTIM_PHONE, "email": VICTIM_EMAIL}
        )
        self.victim_lead = self.env["crm.lead"].create(
            {"name": "Ivan: sofa", "partner_id": self.victim.id, "type": "opportunity"}
        )
        sms_like = self._create_channel("sandbox", name="Vouched line")
        event = self._sandbox_event(
            "ivan-line", SECRET, name="Ivan", phone=VICTIM_PHONE
        )
        event.sender.phone_verified = True
        self._journal_and_process(sms_like, [event])
        history = (
            self.env["omnichannel.message"]
            .sudo()
            .search([("partner_id", "=", self.victim.id)])
        )
        self.assertEqual(len(history), 1, "the victim has a private history")

    def assert_nothing_of_the_victim(self, conversation):
        conversation.invalidate_recordset()
        self.assertNotEqual(
            conversation.partner_id,
            self.victim,
            "the sender was not linked to the victim",
        )
        self.assertNotEqual(conversation.lead_id, self.victim_lead)
        self.assertTrue(conversation.partner_id.active)
        self.assertNotIn(conversation.identity_id, self.victim.omnichannel_identity_ids)
        self.assertFalse(
            conversation.identity_id.link_ids.filtered(
                lambda link: link.state == "done"
            ),
            "nothing was linked or merged",
        )
        self.assertEqual(self.victim_lead.partner_id, self.victim)
        self.assertTrue(self.victim.active)
        panel = self.env["omnichannel.message"].panel_fetch(
            "omnichannel.conversation", conversation.id
        )
        self.assertNotIn(
            SECRET,
            " ".join(m["body"] for m in panel["messages"]),
            "the victim's history is not shown beside the sender's messages",
        )
        if conversation.lead_id:
            panel = self.env["omnichannel.message"].panel_fetch(
                "crm.lead", conversation.lead_id.id
            )
            self.assertNotIn(SECRET, " ".join(m["body"] for m in panel["messages"]))


@tagged("post_install", "-at_install")
class TestClaimsAreSuggestions(VictimMixin, OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.make_victim()
        self.telegram = self._create_channel(
            "telegram", name="Shop bot", token="1:T", webhook_secret="tg-secret"
        )
        self.sandbox = self._create_channel("sandbox", name="Website chat")
        self.salesperson = new_test_user(
            self.env, "trust_sales", groups="sales_team.group_sale_salesman"
        )
        self.outsider = new_test_user(
            self.env, "trust_outsider", groups="sales_team.group_sale_salesman"
        )
        self.manager = new_test_user(
            self.env, "trust_manager", groups="sales_team.group_sale_manager"
        )

    def from_telegram(self, update):
        response = self.post_webhook(
            self.telegram, update, {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
        )
        self.assertEqual(response.status_code, 200)
        return self.env["omnichannel.conversation"].search(
            [
                ("channel_id", "=", self.telegram.id),
                (
                    "identity_id.provider_user_id",
                    "=",
                    str(update["message"]["from"]["id"]),
                ),
            ]
        )

    def give_to(self, conversation, user):
        conversation.write({"user_id": user.id})

    def test_third_person_telegram_card_never_changes_the_sender(self):
        attacker = tg_user(6660001, "Mallory", "X", "mallory")
        self.from_telegram(tg_update(1, user=attacker, text="Hello"))
        conversation = self.from_telegram(
            tg_update(
                2,
                user=attacker,
                contact={
                    "phone_number": VICTIM_PHONE,
                    "first_name": "Ivan",
                    "last_name": "Petrov",
                    "user_id": 7770001,
                },
            )
        )
        self.assert_nothing_of_the_victim(conversation)
        identity = conversation.identity_id
        self.assertFalse(identity.phone, "another person's phone is not the sender's")
        self.assertFalse(
            identity.suggestion_ids,
            "Telegram says the card is someone else: nothing to suggest",
        )
        card = conversation.omnichannel_message_ids.filtered(
            lambda m: m.message_type == "contact"
        )
        self.assertIn("Ivan Petrov", card.body)
        values = self.env["omnichannel.message"].panel_fetch(
            "omnichannel.conversation", conversation.id
        )["messages"]
        self.assertEqual(
            [v["card"]["phone"] for v in values if v["card"]],
            [VICTIM_PHONE],
            "shown as a card",
        )
        # Saved as a new contact: a separate customer, the sender unchanged.
        self.give_to(conversation, self.salesperson)
        partner_id = (
            self.env["omnichannel.message"]
            .with_user(self.salesperson)
            .panel_save_card("omnichannel.conversation", conversation.id, card.id)
        )
        saved = self.env["res.partner"].browse(partner_id)
        self.assertEqual((saved.name, saved.phone), ("Ivan Petrov", VICTIM_PHONE))
        self.assertNotIn(saved, (self.victim, conversation.partner_id))
        self.assertFalse(saved.omnichannel_identity_ids)
        self.assert_nothing_of_the_victim(conversation)

    def test_email_in_chat_is_a_suggestion_that_can_be_rejected(self):
        attacker = tg_user(6660002, "Mallory", "Y", "mallory2")
        conversation = self.from_telegram(
            tg_update(
                10,
                user=attacker,
                text=f"It is Ivan, my email: {VICTIM_EMAIL.upper()}",
            )
        )
        self.assert_nothing_of_the_victim(conversation)
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual(
            (suggestion.partner_id, suggestion.reason, suggestion.state),
            (self.victim, "email", "pending"),
        )
        self.give_to(conversation, self.salesperson)
        shown = (
            self.env["omnichannel.identity.suggestion"]
            .with_user(self.salesperson)
            .panel_suggestions("omnichannel.conversation", conversation.id)
        )
        self.assertEqual([s["id"] for s in shown], suggestion.ids)
        self.assertIn("Ivan Petrov", shown[0]["label"])
        with self.assertRaises(
            AccessError,
            msg="a salesperson who may not read the conversation cannot decide",
        ):
            suggestion.with_user(self.outsider).action_confirm()
        self.assertEqual(suggestion.state, "pending")
        suggestion.with_user(self.salesperson).action_reject()
        self.assertEqual(suggestion.state, "rejected")
        self.assertFalse(
            conversation.identity_id.email, "the rejected claim is forgotten"
        )
        self.assertFalse(conversation.partner_id.email)
        self.from_telegram(tg_update(11, user=attacker, text=f"Really, {VICTIM_EMAIL}"))
        self.assert_nothing_of_the_victim(conversation)
        self.assertEqual(
            conversation.identity_id.suggestion_ids, suggestion, "not suggested again"
        )
        self.assertFalse(
            self.env["omnichannel.identity.suggestion"].panel_suggestions(
                "omnichannel.conversation", conversation.id
            )
        )

    def test_sandbox_claims_then_confirm_links_and_manager_undoes(self):
        self._journal_and_process(
            self.sandbox,
            [
                self._sandbox_event(
                    "visitor-9",
                    "I am Ivan, call me",
                    name="Ivan",
                    phone="8 916 123-45-67",
                    email=VICTIM_EMAIL,
                )
            ],
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.sandbox.id)]
        )
        self.assert_nothing_of_the_victim(conversation)
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual(
            len(suggestion), 1, "one suggestion per customer, whatever matched"
        )
        self.assertEqual(suggestion.partner_id, self.victim)
        own_partner, own_lead = conversation.partner_id, conversation.lead_id
        self.give_to(conversation, self.salesperson)
        suggestion.with_user(self.salesperson).action_confirm()
        self.assertEqual(
            (suggestion.state, conversation.partner_id, conversation.lead_id),
            ("confirmed", self.victim, self.victim_lead),
        )
        self.assertFalse(own_partner.active)
        self.assertFalse(own_lead.active)
        panel = self.env["omnichannel.message"].panel_fetch(
            "omnichannel.conversation", conversation.id
        )
        self.assertIn(
            SECRET,
            " ".join(m["body"] for m in panel["messages"]),
            "confirmed: one history",
        )
        link = suggestion.link_id
        with self.assertRaises(AccessError):
            link.with_user(self.salesperson).action_undo()
        link.with_user(self.manager).action_undo()
        self.assertEqual(link.state, "undone")
        self.assertEqual(
            (conversation.partner_id, conversation.lead_id), (own_partner, own_lead)
        )
        self.assertTrue(own_partner.active and own_lead.active)
        self.assertEqual(
            set(conversation.omnichannel_message_ids.mapped("lead_id")),
            {own_lead},
            "the messages returned",
        )
        self.assert_nothing_of_the_victim(conversation.browse(conversation.id))

    def test_own_telegram_contact_links_at_once(self):
        """Proof: a Telegram contact whose user_id is the sender."""
        user = tg_user(7770001, "Ivan", "Petrov", "ivan_p")
        self.from_telegram(tg_update(20, user=user, text="Hello"))
        conversation = self.from_telegram(
            tg_update(
                21,
                user=user,
                contact={
                    "phone_number": VICTIM_PHONE.lstrip("+"),
                    "first_name": "Ivan",
                    "user_id": 7770001,
                },
            )
        )
        self.assertEqual(conversation.partner_id, self.victim)
        self.assertEqual(conversation.lead_id, self.victim_lead)
        self.assertTrue(conversation.identity_id.phone_verified)
        link = conversation.identity_id.link_ids
        self.assertEqual(
            (link.automatic, link.reason, link.to_partner_id),
            (True, "phone", self.victim),
        )


@tagged("post_install", "-at_install")
class TestProofLinksAndUndo(VictimMixin, WhatsAppCase):
    def test_whatsapp_number_links_automatically_and_a_manager_splits_it_back(self):
        self.victim = self.env["res.partner"].create(
            {"name": "Ivan Petrov", "phone": "+" + CUSTOMER}
        )
        self.victim_lead = self.env["crm.lead"].create(
            {"name": "Ivan: sofa", "partner_id": self.victim.id}
        )
        message = self.receive("text", {"body": "Это Иван, пишу в WhatsApp"})
        conversation = message.conversation_id
        self.assertEqual(
            (conversation.partner_id, conversation.lead_id),
            (self.victim, self.victim_lead),
            "the number WhatsApp vouches for is a proof",
        )
        link = conversation.identity_id.link_ids
        self.assertEqual(
            (link.automatic, link.reason, link.from_partner_id.id),
            (True, "phone", False),
        )
        manager = new_test_user(
            self.env, "trust_wa_manager", groups="sales_team.group_sale_manager"
        )
        link.with_user(manager).action_undo()
        self.assertNotEqual(
            conversation.partner_id,
            self.victim,
            "split back into a customer of its own",
        )
        self.assertEqual(conversation.partner_id.phone_sanitized, "+" + CUSTOMER)
        self.assertNotEqual(conversation.lead_id, self.victim_lead)
        self.assertEqual(
            message.lead_id,
            conversation.lead_id,
            "the message returned with its conversation",
        )
        self.assertFalse(
            self.Message.panel_fetch("crm.lead", self.victim_lead.id)["messages"]
        )
        # An undone link is not made again automatically by the next message.
        self.receive("text", {"body": "Ещё вопрос"})
        self.assertNotEqual(conversation.partner_id, self.victim)
        self.assertEqual(
            conversation.identity_id.suggestion_ids.partner_id,
            self.victim,
            "a person may still decide it is him",
        )


@tagged("post_install", "-at_install")
class TestSuggestionTour(VictimMixin, OmnichannelHttpCase):
    def test_confirm_a_suggestion_in_the_chat_panel(self):
        self.make_victim()
        sandbox = self._create_channel("sandbox", name="Website chat")
        event = self._sandbox_event(
            "tour-visitor", "Это Иван, пришлите счёт", name="Ivan?", email=VICTIM_EMAIL
        )
        event.shared_contact = connectors.Contact(
            user_id="someone-else", name="Olga Card", phone="+79031112233"
        )
        self._journal_and_process(sandbox, [event])
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", sandbox.id)]
        )
        self.assert_nothing_of_the_victim(conversation)
        self.start_tour(
            f"/odoo/crm.lead/{conversation.lead_id.id}",
            "omnichannel_identity_suggestion_tour",
            login="admin",
        )
        conversation.invalidate_recordset()
        self.assertEqual(conversation.partner_id, self.victim)
        self.assertEqual(conversation.identity_id.suggestion_ids.state, "confirmed")
        saved = self.env["res.partner"].search([("name", "=", "Olga Card")])
        self.assertEqual(saved.phone, "+79031112233")
        self.assertNotEqual(saved, conversation.partner_id)


@tagged("post_install", "-at_install")
class TestEmailCode(VictimMixin, OmnichannelHttpCase):
    """An email is proven by a one-time code sent to it and typed back in
    the chat: whoever only knows the address never gets linked."""

    def setUp(self):
        super().setUp()
        self.make_victim()
        self.telegram = self._create_channel(
            "telegram", name="Shop bot", token="1:T", webhook_secret="tg-secret"
        )

    def say(self, update_id, user, text):
        response = self.post_webhook(
            self.telegram,
            tg_update(update_id, user=user, text=text),
            {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"},
        )
        self.assertEqual(response.status_code, 200)
        return self.env["omnichannel.conversation"].search(
            [
                ("channel_id", "=", self.telegram.id),
                ("identity_id.provider_user_id", "=", str(user["id"])),
            ]
        )

    def sent_code(self):
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("email_to", "=", VICTIM_EMAIL)], order="id desc", limit=1)
        )
        self.assertTrue(mail, "the code went to the claimed address only")
        return re.search(r"<b>(\d{6})</b>", mail.body_html).group(1)

    def test_wrong_codes_link_nothing_and_void_the_code(self):
        attacker = tg_user(6660003, "Mallory", "Z", "mallory3")
        conversation = self.say(1, attacker, f"I am Ivan: {VICTIM_EMAIL}")
        suggestion = conversation.identity_id.suggestion_ids
        suggestion.action_send_code()
        code = self.sent_code()
        self.assertNotIn(
            code, " ".join(conversation.omnichannel_message_ids.mapped("body"))
        )
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for update_id in range(2, 7):
            self.say(update_id, attacker, f"the code is {wrong}")
            self.assert_nothing_of_the_victim(conversation)
        self.assertFalse(suggestion.code_expiry, "five wrong codes void the code")
        self.say(7, attacker, code)
        self.assert_nothing_of_the_victim(conversation)
        self.assertEqual(suggestion.state, "pending")
        self.assertFalse(conversation.identity_id.email_verified)

    def test_code_typed_back_proves_the_email(self):
        ivan = tg_user(7770002, "Ivan", "Petrov", "ivan_p2")
        conversation = self.say(10, ivan, f"Hello, my email is {VICTIM_EMAIL}")
        self.assert_nothing_of_the_victim(conversation)
        suggestion = conversation.identity_id.suggestion_ids
        shown = self.env["omnichannel.identity.suggestion"].panel_suggestions(
            "omnichannel.conversation", conversation.id
        )
        self.assertFalse(shown[0]["code_sent"])
        self.env["omnichannel.identity.suggestion"].panel_send_code(suggestion.id)
        with self.assertRaises(UserError, msg="not twice in a row"):
            suggestion.action_send_code()
        self.say(11, ivan, f"Code: {self.sent_code()}")
        conversation.invalidate_recordset()
        self.assertEqual(
            conversation.partner_id, self.victim, "the email is proven: linked at once"
        )
        self.assertEqual(conversation.lead_id, self.victim_lead)
        self.assertTrue(conversation.identity_id.email_verified)
        self.assertEqual(suggestion.state, "confirmed")
        self.assertEqual(
            (suggestion.link_id.automatic, suggestion.link_id.reason), (True, "email")
        )


@tagged("post_install", "-at_install")
class TestSuggestionInRussian(VictimMixin, OmnichannelHttpCase):
    def test_suggestion_and_its_buttons_are_russian(self):
        self.env["res.lang"]._activate_lang("ru_RU")
        self.env["ir.module.module"]._load_module_terms(
            ["omnichannel_inbox"], ["ru_RU"], overwrite=True
        )
        self.make_victim()
        sandbox = self._create_channel("sandbox", name="Чат на сайте")
        self._journal_and_process(
            sandbox, [self._sandbox_event("ru-visitor", "Привет", email=VICTIM_EMAIL)]
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", sandbox.id)]
        )
        shown = (
            self.env["omnichannel.identity.suggestion"]
            .with_context(lang="ru_RU")
            .panel_suggestions("omnichannel.conversation", conversation.id)
        )
        self.assertEqual(
            shown[0]["label"],
            f"Возможно, это Ivan Petrov: тот же email {VICTIM_EMAIL}.",
        )
        web = self.env["ir.http"]._get_translations_for_webclient(
            ["omnichannel_inbox"], "ru_RU"
        )[0]
        messages = {m["id"]: m["string"] for m in web["omnichannel_inbox"]["messages"]}
        self.assertEqual(messages.get("Confirm"), "Подтвердить")
        self.assertEqual(messages.get("Reject"), "Отклонить")
        self.assertEqual(
            messages.get("Save as a new contact"), "Сохранить как новый контакт"
        )


@tagged("post_install", "-at_install")
class TestForgetSuggestions(VictimMixin, OmnichannelHttpCase):
    def test_forgetting_the_sender_drops_suggestions_and_cards(self):
        self.make_victim()
        sandbox = self._create_channel("sandbox", name="Website chat")
        event = self._sandbox_event(
            "forget-me", "hello", name="Mallory", email=VICTIM_EMAIL
        )
        event.shared_contact = connectors.Contact(
            user_id="other", name="Olga Card", phone="+79031112233"
        )
        self._journal_and_process(sandbox, [event])
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", sandbox.id)]
        )
        suggestion = conversation.identity_id.suggestion_ids
        self.assertTrue(suggestion)
        card = conversation.omnichannel_message_ids.filtered("card_phone")
        self.assertTrue(card)
        manager = new_test_user(
            self.env,
            "trust_forget_mgr",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        conversation.partner_id.with_user(manager)._omnichannel_forget()
        self.assertFalse(
            suggestion.exists(), "the victim's email in common is not kept"
        )
        self.assertEqual(
            (card.card_name, card.card_phone, card.card_email), (False, False, False)
        )


@tagged("post_install", "-at_install")
class TestLeadApiClaim(VictimMixin, OmnichannelHttpCase):
    def test_lead_api_with_a_known_email_links_nothing(self):
        self.make_victim()
        channel = self._create_channel(
            "website", name="Landing page", webhook_secret="landing-api-key"
        )
        response = self.post_webhook(
            channel,
            {
                "submission_id": "attack-1",
                "name": "Ivan Petrov",
                "email": VICTIM_EMAIL,
                "phone": "+7 999 000-11-22",
                "message": "Call me back about my order",
            },
            headers={"X-Omnichannel-Api-Key": "landing-api-key"},
        )
        self.assertEqual(response.status_code, 201, response.text)
        self.assertNotEqual(response.json()["partner_id"], self.victim.id)
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        self.assert_nothing_of_the_victim(conversation)
        history = self.env["omnichannel.message"].panel_fetch(
            "crm.lead", self.victim_lead.id
        )["messages"]
        self.assertEqual(
            [m["channel_type"] for m in history],
            ["sandbox"],
            "the form did not join Ivan's history",
        )
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual(
            (suggestion.partner_id, suggestion.reason), (self.victim, "email")
        )
        suggestion.action_reject()
        self.assert_nothing_of_the_victim(conversation)
        self.assertFalse(conversation.identity_id.email)
