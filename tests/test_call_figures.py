"""A phone call in which a person speaks with the customer answers their
wait, as a reply does; a call nobody answers does not."""

import json
from datetime import timedelta

from odoo.tests import tagged

from .test_calls import PBX_SECRET, CallsCase, past_local, pbx_headers, utc_naive


@tagged("post_install", "-at_install")
class TestCallResponseFigures(CallsCase):
    def setUp(self):
        super().setUp()
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        self.env["omnichannel.sla.policy"].search([]).action_archive()

    def pbx(self, *events):
        """The PBX posts signed call events:
        (event id, call id, event, when, extra fields)."""
        body = json.dumps(
            {
                "events": [
                    dict(
                        {
                            "direction": "in",
                            "customer_number": "8 (912) 345-67-89",
                            "timestamp": when.isoformat(),
                        },
                        event_id=event_id,
                        call_id=call_id,
                        event=kind,
                        **extra,
                    )
                    for event_id, call_id, kind, when, extra in events
                ]
            }
        ).encode()
        response = self.post_webhook(
            self.line, body, headers=pbx_headers(PBX_SECRET, body)
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.env.invalidate_all()

    def test_call_back_answers_a_missed_call(self):
        when = past_local(2, 11)  # Wednesday 11:00 Moscow
        self.pbx(
            ("m1", "in-1", "ringing", when, {}),
            ("m2", "in-1", "missed", when + timedelta(seconds=20), {}),
        )
        conversation = self.calls(self.line).conversation_id
        self.assertEqual(conversation.waiting_since, utc_naive(when))

        # Anna calls back at 11:40; nobody picks up: no answer yet.
        back = when + timedelta(minutes=40)
        self.pbx(
            ("o1", "out-1", "ringing", back, {"direction": "out", "extension": "101"}),
            (
                "o2",
                "out-1",
                "missed",
                back + timedelta(seconds=30),
                {"direction": "out", "extension": "101"},
            ),
        )
        unanswered = (
            self.calls(self.line)
            .filtered(lambda c: c.provider_call_id == "out-1")
            .message_id
        )
        self.assertFalse(
            unanswered.response_from, "a call nobody picked up answers nothing"
        )
        self.assertEqual(conversation.waiting_since, utc_naive(when))

        # At 12:00 the customer picks up her second call.
        again = when + timedelta(minutes=60)
        self.pbx(
            ("p1", "out-2", "ringing", again, {"direction": "out", "extension": "101"}),
            (
                "p2",
                "out-2",
                "answered",
                again + timedelta(seconds=15),
                {"direction": "out", "extension": "101"},
            ),
            (
                "p3",
                "out-2",
                "ended",
                again + timedelta(minutes=3),
                {"direction": "out", "extension": "101"},
            ),
        )
        answer = (
            self.calls(self.line)
            .filtered(lambda c: c.provider_call_id == "out-2")
            .message_id
        )
        self.assertEqual(answer.response_from, utc_naive(when))
        self.assertEqual(answer.response_seconds, 3600 + 15)
        self.assertEqual(answer.response_user_id, self.seller)
        self.assertTrue(answer.is_first_response)
        self.assertEqual(conversation.first_response_seconds, 3600 + 15)

        row = self.env["omnichannel.report.response"].search(
            [("conversation_id", "=", conversation.id)]
        )
        self.assertEqual(
            (row.user_id, row.response_hours), (self.seller, (3600 + 15) / 3600)
        )

    def test_answered_incoming_call_is_answered_when_picked_up(self):
        when = past_local(2, 15)
        self.pbx(
            ("a1", "in-2", "ringing", when, {}),
            (
                "a2",
                "in-2",
                "answered",
                when + timedelta(seconds=12),
                {"extension": "101"},
            ),
            ("a3", "in-2", "ended", when + timedelta(minutes=2), {"extension": "101"}),
        )
        call = self.calls(self.line)
        self.assertEqual(
            (call.message_id.response_seconds, call.message_id.response_user_id),
            (12, self.seller),
        )
        self.assertEqual(call.conversation_id.first_response_seconds, 12)
        self.assertEqual(call.conversation_id.last_speaker, "employee")
