from odoo.tests import tagged

from .routing_common import OwnerCase


@tagged("post_install", "-at_install")
class TestLeadMerge(OwnerCase):
    """CRM's "Merge" of leads keeps the customer's history on the kept lead."""

    def test_merge_wizard_moves_conversations_messages_and_calls(self):
        self._rule("round_robin")
        first = self.receive(
            "merge-a", "Hello, I need a quote", phone="+7 912 555-70-01"
        )
        second = self.receive("merge-b", "It is me again", phone="+7 912 555-70-02")
        lead_a, lead_b = first.lead_id, second.lead_id
        self.assertTrue(lead_a and lead_b and lead_a != lead_b)
        messages = second.omnichannel_message_ids
        self.assertTrue(messages and all(m.lead_id == lead_b for m in messages))
        call = (
            self.env["omnichannel.call"]
            .sudo()
            .create(
                {
                    "channel_id": self.channel.id,
                    "conversation_id": second.id,
                    "lead_id": lead_b.id,
                    "provider_call_id": "merge-call-1",
                    "direction": "in",
                    "customer_number": "+79125557002",
                }
            )
        )
        second.sudo().csat_lead_id = lead_b

        wizard = (
            self.env["crm.merge.opportunity"]
            .with_context(active_model="crm.lead", active_ids=(lead_a | lead_b).ids)
            .create({"opportunity_ids": [(6, 0, (lead_a | lead_b).ids)]})
        )
        wizard.action_merge()

        kept = (lead_a | lead_b).exists()
        self.assertEqual(len(kept), 1, "the wizard keeps one lead")
        self.assertEqual(first.lead_id, kept)
        self.assertEqual(second.lead_id, kept)
        self.assertEqual(second.csat_lead_id, kept)
        self.assertEqual((first | second).omnichannel_message_ids.lead_id, kept)
        self.assertEqual(call.lead_id, kept)
        self.assertEqual(kept.omnichannel_conversation_count, 2)
