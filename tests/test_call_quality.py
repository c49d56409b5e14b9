"""Call quality marks: the salesperson's result of a call and the supervisor's
score, each set only by whom it belongs to (checked through the ORM as each
user), shown in the call views and the lead's history."""

import json
from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .test_calls import PBX_SECRET, CallsCase, past_local, pbx_headers


@tagged("post_install", "-at_install")
class TestCallQuality(CallsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader.group_ids = [
            (4, cls.env.ref("omnichannel_inbox.group_omnichannel_team_leader").id)
        ]
        cls.colleague = new_test_user(
            cls.env,
            "call_colleague",
            groups="sales_team.group_sale_salesman",
            name="Boris Colleague",
        )
        cls.team.member_ids = [(4, cls.colleague.id)]

    def setUp(self):
        super().setUp()
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )
        when = past_local(2, 11)
        events = [
            dict(
                {
                    "event_id": event_id,
                    "call_id": "pbx-q",
                    "event": event,
                    "direction": "in",
                    "customer_number": "8 (912) 345-67-89",
                    "extension": "101",
                    "timestamp": (when + timedelta(seconds=seconds)).isoformat(),
                },
                **extra,
            )
            for event_id, event, seconds, extra in (
                ("q1", "ringing", 0, {}),
                ("q2", "answered", 5, {}),
                ("q3", "ended", 65, {"duration": 60}),
            )
        ]
        body = json.dumps({"events": events}).encode()
        self.assertEqual(
            self.post_webhook(
                self.line, body, headers=pbx_headers(PBX_SECRET, body)
            ).status_code,
            200,
        )
        self.env.invalidate_all()
        self.call = self.calls(self.line)
        self.assertEqual((self.call.state, self.call.user_id), ("ended", self.seller))

    def test_the_salesperson_sets_the_result_but_not_the_score(self):
        mine = self.call.with_user(self.seller)
        mine.write({"sales_outcome": "appointment"})
        self.assertEqual(self.call.sales_outcome, "appointment")
        self.assertTrue(mine.can_set_outcome)
        self.assertFalse(mine.can_score)
        for vals in (
            {"supervisor_score": "5"},
            {"supervisor_comment": "Great call, trust me"},
            {"sales_outcome": "sale", "supervisor_score": "5"},
        ):
            with self.assertRaises(AccessError):
                mine.write(vals)
        self.env.invalidate_all()
        self.assertEqual(
            (
                self.call.sales_outcome,
                self.call.supervisor_score,
                self.call.supervisor_comment,
                self.call.supervisor_id,
            ),
            ("appointment", False, False, self.env["res.users"]),
            "nothing of a refused write is stored",
        )
        # The phone system's facts stay read-only for employees.
        with self.assertRaises(AccessError):
            mine.write({"state": "missed"})
        with self.assertRaises(AccessError):
            mine.write({"sales_outcome": "sale", "duration": 1})
        self.env.invalidate_all()
        self.assertEqual(
            (self.call.state, self.call.duration, self.call.sales_outcome),
            ("ended", 60, "appointment"),
        )

    def test_a_colleague_does_not_set_the_result_of_someone_elses_call(self):
        with self.assertRaises(AccessError):
            self.call.with_user(self.colleague).write({"sales_outcome": "no_interest"})
        self.env.invalidate_all()
        self.assertFalse(self.call.sales_outcome)

    def test_the_team_leader_scores_and_it_shows_everywhere(self):
        self.call.with_user(self.seller).sales_outcome = "sale"
        self.call.with_user(self.leader).write(
            {
                "supervisor_score": "4",
                "supervisor_comment": "Good, ask for the budget sooner",
            }
        )
        self.env.invalidate_all()
        self.assertEqual(
            (
                self.call.supervisor_score,
                self.call.supervisor_score_value,
                self.call.supervisor_id,
            ),
            ("4", 4, self.leader),
        )
        self.assertTrue(self.call.supervisor_date)
        # Pivot / graph: the average score per salesperson and result.
        groups = (
            self.env["omnichannel.call"]
            .with_user(self.leader)
            ._read_group(
                [("id", "=", self.call.id)],
                ["user_id", "sales_outcome"],
                ["supervisor_score_value:avg", "__count"],
            )
        )
        self.assertEqual(groups, [(self.seller, "sale", 4.0, 1)])
        views = (
            self.env["omnichannel.call"]
            .with_user(self.seller)
            .get_views(
                [(False, "list"), (False, "form"), (False, "pivot"), (False, "graph")]
            )
        )
        self.assertIn("supervisor_score", views["views"]["form"]["arch"])
        self.assertIn("sales_outcome", views["views"]["list"]["arch"])
        # The lead's history (chat panel): the call entry carries both marks.
        lead = self.call.conversation_id.lead_id
        panel = (
            self.env["omnichannel.message"]
            .with_user(self.seller)
            .panel_fetch("crm.lead", lead.id)
        )
        (entry,) = [m["call"] for m in panel["messages"] if m["call"]]
        self.assertEqual(
            (entry["sales_outcome"], entry["score"], entry["score_comment"]),
            ("Sale", 4, "Good, ask for the budget sooner"),
        )
