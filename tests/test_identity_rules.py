from odoo.tests import tagged

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestIdentityRules(OmnichannelTransactionCase):
    """Who is this person, and which partner and lead do they become."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = cls._create_channel("sandbox", name="Shop chat")
        cls.Lead = cls.env["crm.lead"].with_context(active_test=False)

    def _conversation(self, session, channel=None):
        return self.env["omnichannel.conversation"].search(
            [
                ("channel_id", "=", (channel or self.channel).id),
                ("identity_id.provider_user_id", "=", session),
            ]
        )

    def test_first_message_creates_partner_identity_conversation_and_lead(self):
        partners_before = self.env["res.partner"].search_count([])
        self._journal_and_process(
            self.channel,
            [self._sandbox_event("s1", "Do you sell chairs?", name="Oleg")],
        )
        conversation = self._conversation("s1")
        self.assertEqual(len(conversation), 1)
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before + 1)
        partner = conversation.partner_id
        self.assertEqual(partner.name, "Oleg")
        self.assertTrue(partner.omnichannel_auto_created)
        self.assertEqual(conversation.identity_id.partner_id, partner)
        lead = conversation.lead_id
        self.assertTrue(lead, "a first message opens a lead")
        self.assertEqual(lead.partner_id, partner)
        self.assertEqual(
            lead.source_id,
            self.channel.source_id,
            "the lead remembers the channel of first contact",
        )
        self.assertEqual(lead.source_id.name, "Sandbox")
        self.assertEqual(conversation.state, "open")
        self.assertEqual(conversation.last_speaker, "customer")
        message = conversation.omnichannel_message_ids
        self.assertEqual(len(message), 1)
        self.assertIn("Do you sell chairs?", message.body)
        self.assertEqual(message.mail_message_id.author_id, partner)
        self.assertEqual(
            (message.direction, message.status, message.lead_id),
            ("in", "received", lead),
        )

    def test_later_message_joins_same_conversation_and_lead(self):
        self._journal_and_process(self.channel, [self._sandbox_event("s2", "first")])
        conversation = self._conversation("s2")
        lead = conversation.lead_id
        self._journal_and_process(self.channel, [self._sandbox_event("s2", "second")])
        self.assertEqual(self._conversation("s2"), conversation)
        self.assertEqual(conversation.lead_id, lead)
        self.assertEqual(len(conversation.omnichannel_message_ids), 2)
        self.assertEqual(
            self.Lead.search_count([("partner_id", "=", conversation.partner_id.id)]), 1
        )

    def test_shared_card_of_existing_customer_is_a_suggestion_until_confirmed(self):
        """A contact card that names no account (Viber, the Sandbox) with a
        known customer's phone: the sender stays who they are and a
        salesperson is asked; confirming links (leads archived, nothing
        deleted), a manager can split them back."""
        known = self.env["res.partner"].create(
            {"name": "Irina Known", "phone": "+7 912 345 6789"}
        )
        known_lead = self.env["crm.lead"].create(
            {"name": "Irina: tables", "partner_id": known.id, "type": "opportunity"}
        )
        self._journal_and_process(
            self.channel, [self._sandbox_event("s3", "hello", name="Ira")]
        )
        conversation = self._conversation("s3")
        auto_partner, auto_lead = conversation.partner_id, conversation.lead_id
        self.assertNotEqual(auto_partner, known)
        share = self._sandbox_event("s3", "")
        share.shared_contact = connectors.Contact(phone="8 (912) 345-67-89", name="Ira")
        share.message_type = "contact"
        self._journal_and_process(self.channel, [share])
        conversation.invalidate_recordset()
        self.assertEqual(
            conversation.partner_id,
            auto_partner,
            "a card proves nothing: the sender is unchanged",
        )
        self.assertEqual(conversation.lead_id, auto_lead)
        self.assertTrue(auto_partner.active)
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual(
            (
                suggestion.partner_id,
                suggestion.reason,
                suggestion.value,
                suggestion.state,
            ),
            (known, "phone", "+79123456789", "pending"),
        )
        suggestion.action_confirm()
        conversation.invalidate_recordset()
        self.assertEqual(
            conversation.partner_id,
            known,
            "confirmed: the identity is attached to the existing customer",
        )
        self.assertEqual(conversation.identity_id.partner_id, known)
        self.assertFalse(
            auto_partner.active, "the auto-created partner is archived, not deleted"
        )
        self.assertFalse(
            auto_lead.active, "the auto-created lead is archived, not deleted"
        )
        self.assertEqual(conversation.lead_id, known_lead)
        self.assertEqual(
            self.Lead.search_count(
                [("partner_id", "=", known.id), ("active", "=", True)]
            ),
            1,
        )
        messages = conversation.omnichannel_message_ids
        self.assertEqual(len(messages), 2, "messages are kept")
        self.assertEqual(set(messages.mapped("partner_id")), {known})
        self.assertEqual(set(messages.mapped("lead_id")), {known_lead})
        link = conversation.identity_id.link_ids
        self.assertEqual(
            (link.from_partner_id, link.to_partner_id, link.automatic),
            (auto_partner, known, False),
        )
        link.action_undo()
        conversation.invalidate_recordset()
        self.assertEqual(conversation.partner_id, auto_partner)
        self.assertTrue(auto_partner.active)
        self.assertTrue(auto_lead.active)
        self.assertEqual(conversation.lead_id, auto_lead)
        self.assertEqual(set(messages.mapped("lead_id")), {auto_lead})
        self.assertEqual(set(messages.mapped("partner_id")), {auto_partner})
        self.assertEqual(known_lead.partner_id, known)

    def test_email_given_suggests_existing_customer_case_insensitively(self):
        known = self.env["res.partner"].create(
            {"name": "Pavel", "email": "Pavel.K@Example.com"}
        )
        self._journal_and_process(
            self.channel, [self._sandbox_event("s4", "hi", email="pavel.k@example.COM")]
        )
        conversation = self._conversation("s4")
        self.assertNotEqual(
            conversation.partner_id, known, "a typed email proves nothing"
        )
        self.assertNotEqual(conversation.lead_id.partner_id, known)
        suggestion = conversation.identity_id.suggestion_ids
        self.assertEqual(
            (suggestion.partner_id, suggestion.value), (known, "pavel.k@example.com")
        )

    def test_phone_given_on_first_contact_matches_existing_customer_on_proof_only(self):
        known = self.env["res.partner"].create(
            {"name": "Sergey", "phone": "+79123456700"}
        )
        self._journal_and_process(
            self.channel, [self._sandbox_event("s5", "hi", phone="8 912 345-67-00")]
        )
        self.assertNotEqual(
            self._conversation("s5").partner_id, known, "a typed phone proves nothing"
        )
        self.assertEqual(
            self._conversation("s5").identity_id.suggestion_ids.partner_id, known
        )
        vouched = self._sandbox_event("s5b", "hi", phone="8 912 345-67-00")
        vouched.sender.phone_verified = (
            True  # as WhatsApp, an SMS or a caller id vouch for it
        )
        self._journal_and_process(self.channel, [vouched])
        conversation = self._conversation("s5b")
        self.assertEqual(conversation.partner_id, known)
        self.assertNotIn(known, conversation.identity_id.suggestion_ids.partner_id)
        link = conversation.identity_id.link_ids
        self.assertEqual(
            (link.to_partner_id, link.automatic, link.reason), (known, True, "phone")
        )

    def test_won_or_lost_lead_is_not_reused(self):
        self._journal_and_process(
            self.channel, [self._sandbox_event("s6", "first deal")]
        )
        conversation = self._conversation("s6")
        first_lead = conversation.lead_id
        first_lead.action_set_won()
        self._journal_and_process(
            self.channel, [self._sandbox_event("s6", "I want more")]
        )
        second_lead = conversation.lead_id
        self.assertTrue(second_lead)
        self.assertNotEqual(second_lead, first_lead, "a won lead is not reused")
        second_lead.action_set_lost()
        self._journal_and_process(
            self.channel, [self._sandbox_event("s6", "and again")]
        )
        self.assertNotIn(
            conversation.lead_id, first_lead | second_lead, "a lost lead is not reused"
        )
        self.assertEqual(
            self.Lead.search_count([("partner_id", "=", conversation.partner_id.id)]), 3
        )
        # each message keeps the lead it belonged to
        self.assertEqual(
            sorted(conversation.omnichannel_message_ids.mapped("lead_id").ids),
            sorted((first_lead | second_lead | conversation.lead_id).ids),
        )

    def test_blocked_identity_is_journaled_without_lead(self):
        self._journal_and_process(self.channel, [self._sandbox_event("s7", "spam 1")])
        conversation = self._conversation("s7")
        conversation.lead_id.unlink()
        conversation.identity_id.blocked = True
        rows = self._journal_and_process(
            self.channel, [self._sandbox_event("s7", "spam 2")]
        )
        self.assertEqual(rows.state, "ignored")
        self.assertIn("blocked", rows.note)
        self.assertEqual(len(conversation.omnichannel_message_ids), 1)
        self.assertFalse(
            self.Lead.search([("partner_id", "=", conversation.partner_id.id)])
        )

    def test_blacklisted_number_is_journaled_without_lead(self):
        self.env["phone.blacklist"].sudo().add("+79120000001")
        leads_before = self.Lead.search_count([])
        rows = self._journal_and_process(
            self.channel, [self._sandbox_event("s8", "hi", phone="+7 912 000-00-01")]
        )
        self.assertEqual(rows.state, "ignored")
        self.assertIn("blacklisted", rows.note)
        self.assertEqual(self.Lead.search_count([]), leads_before)
        self.assertFalse(self._conversation("s8"))
        self.assertTrue(rows.payload, "what the customer sent is kept in the journal")

    def test_same_telegram_user_on_two_bots_is_one_partner(self):
        bot1 = self._create_channel("telegram", name="Bot 1", token="1:A")
        bot2 = self._create_channel("telegram", name="Bot 2", token="2:B")
        event1 = self._sandbox_event("777", "via bot 1")
        event2 = self._sandbox_event("777", "via bot 2")
        self._journal_and_process(bot1, [event1])
        self._journal_and_process(bot2, [event2])
        c1, c2 = self._conversation("777", bot1), self._conversation("777", bot2)
        self.assertNotEqual(c1, c2, "one conversation per account")
        self.assertEqual(
            c1.partner_id, c2.partner_id, "Telegram user ids are global: same person"
        )
        self.assertEqual(c1.lead_id, c2.lead_id, "and one open lead")
