"""Mango Office: signed events posted to <webhook>/events/..., the call history
and screen-pop they give, recordings through the signed download query, and
click-to-call through the signed callback command (against a fake Mango
VPBX API speaking its wire format)."""

import time
import urllib.parse

from odoo.tests import tagged

from .fake_mango import FakeMangoServer, sign
from .test_call_popup import CLOSE, PopupCase
from .test_calls import MP3

ENTRY = "MToxMDA1NzU5Mzo0MTk6NjI1ODM4MzQ="
CUSTOMER = "79123456789"
LINE = "74951234567"


@tagged("post_install", "-at_install")
class TestMango(PopupCase):
    def setUp(self):
        super().setUp()
        self.mango = FakeMangoServer(key="mango-key", salt="mango-salt").start()
        self.addCleanup(self.mango.stop)
        self.line = self._line(
            "mango",
            name="Mango Office",
            token="mango-key",
            app_secret="mango-salt",
            api_base_url=self.mango.url,
        )
        self.admin = self.env.ref("base.user_admin")

    def post(self, name, payload, **signing):
        body, headers = self.mango.event(payload, **signing)
        return self.post_raw(name, body, headers)

    def post_raw(self, name, body, headers=None):
        response = self.url_open(
            f"/omnichannel/webhook/{self.line.sudo().webhook_key}/events/{name}",
            data=body,
            headers=headers or {"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        )
        self.env.invalidate_all()
        return response

    def leg(self, state, seq, call_id="leg-1", to=None, frm=None, **extra):
        return dict(
            {
                "entry_id": ENTRY,
                "call_id": call_id,
                "timestamp": int(time.time()),
                "seq": seq,
                "call_state": state,
                "location": "abonent",
                "from": frm or {"number": CUSTOMER},
                "to": to or {"extension": "101", "line_number": LINE},
            },
            **extra,
        )

    def test_incoming_call_history_popup_summary_and_recording(self):
        now = int(time.time())
        # In the voice menu first: the call is known, no phone rings yet.
        menu = self.leg("Appeared", 1, call_id="ivr", to={"line_number": LINE})
        menu["location"] = "ivr"
        self.assertEqual(self.post("call", menu).status_code, 200)
        call = self.calls(self.line)
        self.assertEqual(
            (len(call), call.state, call.direction, call.partner_id),
            (1, "ringing", "in", self.customer),
        )
        self.assertFalse(self.popups())
        # Anna's phone rings: her screen shows Ivan; Mango's retry of the
        # same notification changes nothing.
        ringing = self.leg("Appeared", 1)
        self.assertEqual(self.post("call", ringing).status_code, 200)
        self.assertEqual(self.post("call", ringing).status_code, 200)
        popups = self.popups()
        self.assertEqual([u for u, _p in popups], [self.seller])
        self.assertEqual(popups[0][1]["customer"]["id"], self.customer.id)
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(len(self.journal(self.line)), 2, "the retry is journaled once")
        self.post("call", self.leg("Connected", 2))
        self.assertEqual((call.state, call.user_id), ("answered", self.seller))
        self.post("call", self.leg("Disconnected", 3))
        summary = {
            "entry_id": ENTRY,
            "call_direction": 1,
            "from": {"number": CUSTOMER},
            "to": {"extension": "101", "number": LINE},
            "line_number": LINE,
            "create_time": now - 110,
            "forward_time": now - 104,
            "talk_time": now - 95,
            "end_time": now,
            "entry_result": 1,
            "disconnect_reason": 1110,
        }
        self.assertEqual(self.post("summary", summary).status_code, 200)
        self.post("summary", summary)
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.state, call.user_id, call.extension, call.duration),
            ("ended", self.seller, "101", 95),
        )
        self.assertEqual(call.our_number, LINE)
        self.assertTrue(call.disposition.startswith("answered"))
        self.assertEqual(
            [(u, p["reason"]) for u, p in self.popups(CLOSE)], [(self.seller, "ended")]
        )
        self.assertEqual(
            self.env["omnichannel.message"].search_count([("call_id", "=", call.id)]),
            1,
            "one entry in the customer's history",
        )
        # The recording: announced, asked through the signed query, downloaded.
        self.mango.recordings["rec-77"] = MP3
        added = {
            "entry_id": ENTRY,
            "product_id": 1005,
            "user_id": 2001,
            "recording_id": "rec-77",
            "timestamp": now + 2,
        }
        self.assertEqual(self.post("record/added", added).status_code, 200)
        self.assertEqual(call.recording_state, "pending")
        call.with_user(self.admin).action_retry_recording()
        request = self.mango.calls("queries/recording/post")[-1]
        self.assertTrue(self.mango.signed(request))
        self.assertEqual(
            request.payload, {"recording_id": "rec-77", "action": "download"}
        )
        self.assertEqual(call.recording_state, "done")
        self.assertEqual(call.recording_attachment_id.raw, MP3)

    def test_missed_call_gets_a_call_back(self):
        now = int(time.time())
        self.post("call", self.leg("Appeared", 1))
        self.post(
            "summary",
            {
                "entry_id": ENTRY,
                "call_direction": 1,
                "from": {"number": CUSTOMER},
                "to": {"extension": "101"},
                "create_time": now - 30,
                "talk_time": 0,
                "end_time": now,
                "entry_result": 0,
                "disconnect_reason": 1100,
            },
        )
        call = self.calls(self.line)
        self.assertEqual((call.state, call.duration), ("missed", 0))
        self.assertTrue(call.disposition.startswith("not answered"))
        self.assertTrue(self.call_backs(call.conversation_id.lead_id))

    def test_forged_and_malformed_events_store_nothing(self):
        ringing = self.leg("Appeared", 1)
        self.assertEqual(self.post("call", ringing, salt="guess").status_code, 403)
        self.assertEqual(self.post("call", ringing, key="other-pbx").status_code, 403)
        body, headers = self.mango.event(ringing)
        tampered = body.replace(CUSTOMER.encode(), b"79990000000")
        self.assertEqual(self.post_raw("call", tampered, headers).status_code, 403)
        unsigned = body.split(b"&sign=")[0]
        self.assertEqual(self.post_raw("call", unsigned, headers).status_code, 403)
        # Signed, but its json is not JSON: not Mango's format.
        text = "{not json"
        malformed = urllib.parse.urlencode(
            {
                "vpbx_api_key": "mango-key",
                "sign": sign("mango-key", text, "mango-salt"),
                "json": text,
            }
        ).encode()
        self.assertEqual(self.post_raw("call", malformed).status_code, 400)
        # Without a signing key the line accepts nothing, even a signed event.
        self.line.sudo().app_secret = False
        self.assertEqual(self.post("call", ringing).status_code, 403)
        self.assertFalse(self.journal(self.line))
        self.assertFalse(self.calls(self.line))
        self.assertFalse(self.popups())

    def test_click_to_call_sends_the_signed_callback_command(self):
        lead, _ = self.click_to_call()
        request = self.mango.calls("commands/callback")[-1]
        self.assertTrue(self.mango.signed(request), "signed with the PBX's salt")
        self.assertEqual(
            (request.payload["from"], request.payload["to_number"]),
            ({"extension": "101"}, CUSTOMER),
        )
        self.assertTrue(request.payload["command_id"].startswith("odoo-"))
        call = self.calls(self.line)
        self.assertEqual(
            (call.origin, call.direction, call.state, call.user_id),
            ("click", "out", "ringing", self.seller),
        )
        # Mango then reports the call it placed: it joins the clicked call.
        now = int(time.time())
        out = {"extension": "101"}
        self.post(
            "call",
            self.leg("Appeared", 1, frm=out, to={"number": CUSTOMER}, location=""),
        )
        self.post(
            "call",
            self.leg("Connected", 2, frm=out, to={"number": CUSTOMER}, location=""),
        )
        self.post(
            "summary",
            {
                "entry_id": ENTRY,
                "call_direction": 2,
                "from": out,
                "to": {"number": CUSTOMER},
                "create_time": now - 20,
                "talk_time": now - 12,
                "end_time": now,
                "entry_result": 1,
                "disconnect_reason": 1110,
            },
        )
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.provider_call_id, call.state, call.duration, call.lead_id),
            (ENTRY, "ended", 12, lead),
        )
        self.assertFalse(self.popups(), "an outgoing call pops nothing")

    def test_refused_callback_shows_mango_result(self):
        lead = self._seller_lead(CUSTOMER)
        self.mango.callback_result = 3102
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("3102", action["params"]["message"])
        self.assertFalse(self.calls(self.line))

    def test_test_connection_lists_the_employees(self):
        result = self.line.with_user(self.admin).action_test_connection()
        self.assertEqual(
            result["params"]["type"], "success", result["params"]["message"]
        )
        self.assertIn("2 employee", result["params"]["message"])
        self.assertTrue(self.mango.signed(self.mango.calls("config/users/request")[0]))
        self.line.sudo().app_secret = "wrong"
        result = self.line.with_user(self.admin).action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
