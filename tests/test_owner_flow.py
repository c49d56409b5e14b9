import json
from datetime import timedelta

from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .common import OmnichannelHttpCase
from .routing_common import WED_10, OwnerMixin


@tagged("post_install", "-at_install")
class TestOwnerFlowWebhook(OwnerMixin, OmnichannelHttpCase):
    """Done when: a new Sandbox conversation, posted to the real webhook, is
    assigned, acknowledged, escalated when ignored and reassigned - all of
    it visible in the conversation's chatter."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_office()

    def test_new_sandbox_conversation_is_owned_acknowledged_escalated_reassigned(self):
        # What an admin sets from the forms.
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Round-robin in chat sales",
                "strategy": "round_robin",
                "team_id": self.team.id,
                "user_ids": [(6, 0, (self.alice | self.bob).ids)],
            }
        )
        self.env["omnichannel.sla.policy"].create(
            {
                "name": "Chats: 5 minutes",
                "first_response_minutes": 5,
                "next_response_minutes": 15,
                "time_basis": "business",
                "calendar_id": self.calendar.id,
                "warn_before_minutes": 2,
                "reassign_after_minutes": 10,
            }
        )
        self.channel.write(
            {
                "autoreply_enabled": True,
                "autoreply_ack_text": (
                    "Thank you! A manager will join this chat in a few minutes."
                ),
            }
        )

        with freeze_time(WED_10):
            response = self.post_webhook(
                self.channel,
                {
                    "event_id": "e2e-1",
                    "session": "e2e-visitor",
                    "name": "Maria",
                    "text": "Hello, do you have 40 office chairs?",
                },
                headers={"X-Omnichannel-Sandbox-Secret": self.channel.webhook_secret},
            )
        self.assertEqual(response.status_code, 200)
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        first_owner = conversation.user_id
        self.assertEqual(
            first_owner, (self.alice | self.bob).sorted("id")[0], "assigned by the rule"
        )
        self.assertEqual(conversation.lead_id.user_id, first_owner)
        ack = conversation.omnichannel_message_ids.filtered(
            lambda m: m.direction == "out"
        )
        self.assertEqual(
            (ack.author_kind, ack.status), ("auto", "sent"), "acknowledged"
        )
        self.assertEqual(conversation.state, "open")

        # Nobody answers.
        cron = self.env.ref("omnichannel_inbox.ir_cron_omnichannel_sla")
        for minutes in (3, 5, 15):
            with freeze_time(WED_10 + timedelta(minutes=minutes)):
                cron.method_direct_trigger()
        self.assertEqual(
            conversation.user_id, (self.alice | self.bob) - first_owner, "reassigned"
        )

        chatter = conversation.message_ids.sorted("id")
        log = "\n".join(chatter.mapped("body"))
        for expected in (
            f'Assigned to {first_owner.name}: rule "Round-robin in chat sales"',
            "A manager will join this chat",
            f"Warned {first_owner.name} before the deadline",
            "escalated to the team leader Leader",
            f"Assigned to {conversation.user_id.name}: not answered 10 minutes past "
            f"the deadline",
        ):
            self.assertIn(expected, log)
        self.assertTrue(
            chatter.filtered(lambda m: self.leader.partner_id in m.partner_ids),
            "the team leader got it in their Odoo inbox",
        )

        # The Sandbox page shows the customer the acknowledgement.
        reply = self.url_open(
            f"/omnichannel/sandbox/{self.channel.webhook_key}/messages",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "session": "e2e-visitor",
                        "token": (self.channel._sandbox_visitor_token("e2e-visitor")),
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        ).json()["result"]["messages"]
        self.assertEqual(
            [m["text"] for m in reply if m["direction"] == "out"],
            ["Thank you! A manager will join this chat in a few minutes."],
        )
