from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import freeze_time

from .common import OmnichannelHttpCase
from .routing_common import WED_10, OwnerCase


@tagged("post_install", "-at_install")
class TestConversationTransfer(OwnerCase):
    """A salesperson hands a customer over to a colleague or a team with a
    note, and can take them back; the lead follows, the history stays."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dave = new_test_user(
            cls.env,
            login="o18_dave",
            name="Dave",
            email="dave@example.com",
            groups="sales_team.group_sale_salesman",
        )
        cls.other_team = cls.env["crm.team"].create(
            {"name": "Wholesale", "member_ids": [Command.set(cls.dave.ids)]}
        )
        cls.portal = new_test_user(
            cls.env, login="o18_portal", name="Portal", groups="base.group_portal"
        )

    def _alice_conversation(self):
        self._rule("round_robin", user_ids=[Command.set(self.alice.ids)])
        conversation = self.receive("tr1", "I need 40 chairs")
        self.assertEqual(conversation.user_id, self.alice)
        self.assertTrue(conversation.lead_id, "routing created the lead")
        return conversation

    def _transfer(self, conversation, user, **vals):
        wizard = (
            self.env["omnichannel.transfer.wizard"]
            .with_user(user)
            .create({"conversation_id": conversation.id, **vals})
        )
        with freeze_time(WED_10):
            wizard.action_confirm()
        conversation.invalidate_recordset()
        return conversation.transfer_ids[:1]

    def test_transfer_to_a_person_moves_everything_and_takes_back(self):
        conversation = self._alice_conversation()
        lead = conversation.lead_id
        self.assertIn(self.alice.partner_id, conversation.message_partner_ids)
        transfer = self._transfer(
            conversation,
            self.alice,
            user_id=self.bob.id,
            note="Wants a discount for 40 chairs, call after 3 pm",
        )
        self.assertEqual(conversation.user_id, self.bob)
        self.assertEqual(lead.user_id, self.bob, "the lead follows")
        self.assertIn(self.bob.partner_id, conversation.message_partner_ids)
        self.assertNotIn(self.alice.partner_id, conversation.message_partner_ids)
        self.assertNotIn(self.alice.partner_id, lead.message_partner_ids)
        self.assertRecordValues(
            transfer,
            [
                {
                    "from_user_id": self.alice.id,
                    "previous_user_id": self.alice.id,
                    "to_user_id": self.bob.id,
                    "to_team_id": self.team.id,
                    "taken_back": False,
                }
            ],
        )
        activity = lead.activity_ids.filtered(lambda a: a.user_id == self.bob)
        self.assertEqual(len(activity), 1)
        self.assertIn("call after 3 pm", activity.note)
        self.assertIn("Alice", activity.summary)
        told = conversation.message_ids.filtered(
            lambda m: self.bob.partner_id in m.partner_ids
        )
        self.assertEqual(len(told), 1)
        self.assertIn("call after 3 pm", told.body)
        self.assertIn(self.bob.partner_id, told.notification_ids.res_partner_id)
        # Bob now works it; Alice no longer sees the conversation, but sees
        # her transfer and takes it back.
        conversation.with_user(self.bob).check_access("write")
        self.assertEqual(
            self.env["omnichannel.conversation.transfer"]
            .with_user(self.alice)
            .search([]),
            transfer,
        )
        with self.assertRaises(AccessError):
            transfer.with_user(self.bob).action_take_back()
        transfer.with_user(self.alice).action_take_back()
        conversation.invalidate_recordset()
        self.assertTrue(transfer.taken_back)
        self.assertEqual(conversation.user_id, self.alice)
        self.assertEqual(lead.user_id, self.alice)
        self.assertNotIn(self.bob.partner_id, conversation.message_partner_ids)
        self.assertIn(self.alice.partner_id, conversation.message_partner_ids)
        with self.assertRaises(UserError):
            transfer.with_user(self.alice).action_take_back()

    def test_transfer_to_a_team_waits_in_its_queue(self):
        conversation = self._alice_conversation()
        lead = conversation.lead_id
        self.other_team.user_id = self.leader
        transfer = self._transfer(
            conversation, self.alice, team_id=self.other_team.id, note="Wholesale"
        )
        self.assertFalse(conversation.user_id)
        self.assertEqual(conversation.team_id, self.other_team)
        self.assertEqual(lead.team_id, self.other_team)
        self.assertFalse(lead.user_id)
        self.assertNotIn(self.alice.partner_id, conversation.message_partner_ids)
        self.assertEqual(transfer.to_team_id, self.other_team)
        self.assertFalse(transfer.to_user_id)
        self.assertIn("Back in the queue of Wholesale", self.log_texts(conversation))
        # The team's member sees it in the queue and takes it.
        mine = conversation.with_user(self.dave)
        mine.check_access("write")
        mine.action_assign_to_me()
        self.assertEqual(conversation.user_id, self.dave)
        self.assertEqual(
            lead.activity_ids.filtered(lambda a: a.user_id == self.leader).note,
            "<p>Wholesale</p>",
        )
        self.assertTrue(
            conversation.message_ids.filtered(
                lambda m: self.leader.partner_id in m.partner_ids
            ),
            "the team leader is told",
        )

    def test_only_who_can_write_the_conversation_transfers(self):
        conversation = self._alice_conversation()
        with self.assertRaises(AccessError):
            self._transfer(conversation, self.dave, user_id=self.dave.id)
        with self.assertRaises(AccessError):
            self.env["omnichannel.conversation.transfer"].with_user(
                self.portal
            )._transfer(conversation.with_user(self.portal), self.portal, None)
        with self.assertRaises(AccessError):
            self.env["omnichannel.transfer.wizard"].with_user(self.portal).create(
                {"conversation_id": conversation.id, "user_id": self.bob.id}
            )
        self.assertEqual(conversation.user_id, self.alice)
        self.assertFalse(conversation.transfer_ids)


@tagged("post_install", "-at_install")
class TestConversationTransferTour(OmnichannelHttpCase):
    """The Transfer button of the inbox in a real browser."""

    def test_transfer_from_the_inbox(self):
        admin = self.env.ref("base.user_admin")
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        bob = new_test_user(
            self.env,
            login="o18_tour_bob",
            name="Bob Transfer",
            groups="sales_team.group_sale_salesman",
        )
        team = self.env["crm.team"].create(
            {"name": "Transfer team", "member_ids": [Command.set((admin | bob).ids)]}
        )
        channel = self._create_channel("sandbox", name="Transfer chat", team_id=team.id)
        self._journal_and_process(
            channel, [self._sandbox_event("ivan", "Нужны кресла", name="Иван Петров")]
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        conversation.user_id = admin

        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_inbox_action",
            "omnichannel_transfer_tour",
            login="admin",
        )

        self.assertEqual(conversation.user_id, bob)
        self.assertRecordValues(
            conversation.transfer_ids,
            [
                {
                    "from_user_id": admin.id,
                    "to_user_id": bob.id,
                    "note": "Wants 40 chairs, call after 3 pm",
                }
            ],
        )


@tagged("post_install", "-at_install")
class TestReturnAfterLeave(OwnerCase):
    """A substitute's customers go back to the salesperson when the leave
    ends, if the team wants it."""

    def _leave_and_back(self, team_wants):
        self.team.omnichannel_return_after_leave = team_wants
        self._rule("keep_owner")
        self._rule("round_robin", user_ids=[Command.set(self.alice.ids)])
        conversation = self.receive("leave1", "Chairs?")
        self.assertEqual(conversation.user_id, self.alice)
        self.alice.omnichannel_substitute_id = self.carol
        with freeze_time(WED_10 + timedelta(hours=1)):
            self.env["resource.calendar.leaves"].create(
                {
                    "name": "Vacation",
                    "resource_id": self.alice._omnichannel_resource().id,
                    "date_from": WED_10,
                    "date_to": WED_10 + timedelta(days=5),
                }
            )
        self.assertEqual(conversation.user_id, self.carol)
        transfer = conversation.transfer_ids
        self.assertRecordValues(
            transfer,
            [
                {
                    "from_user_id": self.alice.id,
                    "to_user_id": self.carol.id,
                    "taken_back": False,
                }
            ],
        )
        self.assertEqual(bool(transfer.return_at), team_wants)
        with freeze_time(WED_10 + timedelta(days=4)):
            self.env["resource.calendar.leaves"]._cron_omnichannel_handover()
        self.assertEqual(conversation.user_id, self.carol, "still on leave")
        with freeze_time(WED_10 + timedelta(days=5, hours=1)):
            self.env["resource.calendar.leaves"]._cron_omnichannel_handover()
        conversation.invalidate_recordset()
        return conversation

    def test_customers_return_when_the_team_wants(self):
        conversation = self._leave_and_back(True)
        self.assertEqual(conversation.user_id, self.alice)
        self.assertEqual(conversation.lead_id.user_id, self.alice)
        self.assertTrue(conversation.transfer_ids.taken_back)
        self.assertNotIn(self.carol.partner_id, conversation.message_partner_ids)
        self.assertIn("back from leave, from Carol", self.log_texts(conversation))

    def test_customers_stay_with_the_substitute_otherwise(self):
        conversation = self._leave_and_back(False)
        self.assertEqual(conversation.user_id, self.carol)
