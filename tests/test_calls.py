"""Phone calls in the customer's history: the generic webhook, Asterisk through
the AMI bridge (against a fake AMI server speaking the real protocol over TCP)
and Zadarma (against a fake Zadarma API; its webhooks posted as Zadarma does)."""

import hashlib
import hmac
import importlib.util
import json
import os
import time
from datetime import datetime, timedelta

import pytz

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import FakeProviderServer, OmnichannelHttpCase
from .fake_ami import (
    FakeAmiServer,
    channel_fields,
    inbound_call_script,
    originated_call_script,
)
from .fake_zadarma import FakeZadarmaServer

MSK = pytz.timezone("Europe/Moscow")
PBX_SECRET = "pbx-shared-secret"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x64" * 64


def pbx_headers(secret, body, timestamp=None):
    """The headers a PBX (or the bridge) signs a post with: the sending time,
    and HMAC-SHA256 of "<timestamp>.<body>" with the webhook secret."""
    timestamp = str(int(time.time() if timestamp is None else timestamp))
    signature = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {
        "X-Omnichannel-Timestamp": timestamp,
        "X-Omnichannel-Signature": "sha256=" + signature,
    }


#: Scenarios of calls in past weeks (business hours, weekends) post Zadarma
#: notifications whose call_start is days old: the replay window is opened
#: that wide for them; tests/test_call_security.py checks the default window.
WIDE_REPLAY_WINDOW = str(60 * 24 * 60)


def load_bridge():
    path = os.path.join(
        os.path.dirname(__file__), "..", "tools", "asterisk_ami_bridge.py"
    )
    spec = importlib.util.spec_from_file_location("omnichannel_test_ami_bridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def past_local(weekday, hour, minute=0, weeks_back=1):
    """A Moscow wall-clock time on ``weekday`` (0 = Monday) of a past week, as
    an aware datetime."""
    today = datetime.now(MSK).date() - timedelta(weeks=weeks_back)
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    return MSK.localize(datetime(day.year, day.month, day.day, hour, minute))


def utc_naive(aware):
    return aware.astimezone(pytz.utc).replace(tzinfo=None)


class CallsCase(OmnichannelHttpCase):
    """A sales team with a leader on duty, a salesperson with extension 101,
    business hours Monday-Friday 9:00-18:00 Moscow time, and a known customer
    whose phone is stored as "+7 912 345 6789"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(
            cls.env,
            "call_leader",
            groups="sales_team.group_sale_salesman",
            name="Olga Leader",
            tz="Europe/Moscow",
        )
        cls.seller = new_test_user(
            cls.env,
            "call_seller",
            groups="sales_team.group_sale_salesman",
            name="Anna Seller",
            tz="Europe/Moscow",
        )
        cls.seller.omnichannel_phone_extension = "101"
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Phone sales",
                "user_id": cls.leader.id,
                "member_ids": [(4, cls.seller.id), (4, cls.leader.id)],
            }
        )
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Office hours (Moscow)",
                "tz": "Europe/Moscow",
                "attendance_ids": [(5, 0, 0)]
                + [
                    (
                        0,
                        0,
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 9,
                            "hour_to": 18,
                            "day_period": "full_day",
                        },
                    )
                    for day in range(5)
                ],
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Ivan Petrov", "phone": "+7 912 345 6789"}
        )
        cls.Call = cls.env["omnichannel.call"].sudo()
        cls.Journal = cls.env["omnichannel.inbound.event"].sudo()

    def _line(self, channel_type, **vals):
        vals.setdefault("team_id", self.team.id)
        vals.setdefault("business_calendar_id", self.calendar.id)
        vals.setdefault("phone_timezone", "Europe/Moscow")
        return self._create_channel(channel_type, **vals)

    def _zadarma_line(self, **vals):
        """Start a fake Zadarma API (stopped at the end of the test) and a
        Zadarma line that signs with its key and secret; ``vals`` override the
        line's values. Returns (server, line)."""
        zadarma = FakeZadarmaServer(key="zd-key", secret="zd-secret").start()
        self.addCleanup(zadarma.stop)
        vals.setdefault("name", "Zadarma")
        line = self._line(
            "zadarma",
            token="zd-key",
            app_secret="zd-secret",
            api_base_url=zadarma.url,
            **vals,
        )
        return zadarma, line

    def _seller_lead(self, phone="+7 912 345 6789"):
        """The salesperson's lead "Chairs" for the known customer at ``phone``."""
        return self.env["crm.lead"].create(
            {
                "name": "Chairs",
                "partner_id": self.customer.id,
                "phone": phone,
                "user_id": self.seller.id,
            }
        )

    def click_to_call(self, phone="+7 912 345 6789"):
        """The salesperson clicks "Call" on their lead at ``phone``; the call
        must be placed (the notification says success, else its message is
        the failure). Returns (lead, action)."""
        lead = self._seller_lead(phone)
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertEqual(
            action["params"]["type"], "success", action["params"]["message"]
        )
        return lead, action

    def calls(self, channel):
        return self.Call.search([("channel_id", "=", channel.id)])

    def journal(self, channel):
        return self.Journal.search([("channel_id", "=", channel.id)])

    def call_backs(self, record):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", record._name),
                ("res_id", "=", record.id),
                (
                    "activity_type_id",
                    "=",
                    self.env.ref("omnichannel_inbox.mail_activity_type_call_back").id,
                ),
            ]
        )


@tagged("post_install", "-at_install")
class TestGenericPhoneWebhook(CallsCase):
    """Any PBX or script: JSON events signed with HMAC-SHA256."""

    def setUp(self):
        super().setUp()
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )

    def send(self, payload, secret=PBX_SECRET, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {}
        if secret is not None:
            headers = pbx_headers(secret, body)
        response = self.post_webhook(self.line, body, headers=headers)
        self.env.invalidate_all()
        return response

    def event(self, event_id, event, when, **extra):
        return dict(
            {
                "event_id": event_id,
                "call_id": "pbx-1",
                "event": event,
                "direction": "in",
                "customer_number": "8 (912) 345-67-89",
                "timestamp": when.isoformat(),
            },
            **extra,
        )

    def test_forged_unsigned_and_malformed_events_store_nothing(self):
        when = past_local(2, 11)
        ringing = self.event("e1", "ringing", when)
        self.assertEqual(self.send(ringing, secret="not-the-secret").status_code, 403)
        self.assertEqual(self.send(ringing, secret=None).status_code, 403)
        for bad in (
            {"call_id": "x", "event": "ringing"},  # no event_id: another format
            {"event": "NOTIFY_END", "pbx_call_id": "in_1", "caller_id": "+79161234567"},
            {"events": "nope"},
        ):
            response = self.send(bad)
            self.assertEqual(response.status_code, 400, bad)
            self.assertIn("error", response.json())
        self.assertEqual(self.send(None, raw=b"{broken").status_code, 400)
        self.assertFalse(
            self.journal(self.line),
            "what is not this format at all is refused, nothing stored",
        )
        # Signed events of this format that the parser cannot read are
        # journaled as Unreadable (a 400 makes a PBX resend them forever).
        for bad in (
            dict(ringing, event="exploded"),  # unknown event
            dict(ringing, timestamp="yesterday"),  # not a date
            dict(ringing, duration="long"),
        ):
            self.assertEqual(self.send(bad).status_code, 200, bad)
        self.assertEqual(self.journal(self.line).mapped("state"), ["unreadable"] * 3)
        self.line.webhook_secret = False
        self.assertEqual(
            self.send(ringing, secret="").status_code,
            403,
            "a line without secret accepts nothing",
        )
        self.assertEqual(len(self.journal(self.line)), 3)
        self.assertFalse(self.calls(self.line))

    def test_missed_call_from_an_unknown_number_creates_customer_lead_and_call_back(
        self,
    ):
        when = past_local(2, 11)  # a Wednesday, 11:00 in Moscow: business hours
        number = "+7 (903) 555-01-02"
        self.assertEqual(
            self.send(
                {
                    "events": [
                        self.event(
                            "m1",
                            "ringing",
                            when,
                            customer_number=number,
                            call_id="pbx-9",
                            extension="101",
                        ),
                        self.event(
                            "m2",
                            "missed",
                            when + timedelta(seconds=25),
                            customer_number=number,
                            call_id="pbx-9",
                            hangup_by="customer",
                        ),
                    ]
                }
            ).status_code,
            200,
        )
        call = self.calls(self.line)
        self.assertEqual(len(call), 1)
        self.assertEqual(
            (call.state, call.direction, call.customer_phone_sanitized, call.hangup_by),
            ("missed", "in", "+79035550102", "customer"),
        )
        self.assertFalse(call.outside_business_hours)
        conversation = call.conversation_id
        lead = conversation.lead_id
        self.assertTrue(
            conversation.partner_id.omnichannel_auto_created,
            "an unknown caller becomes a customer",
        )
        self.assertEqual(
            lead.source_id, self.env.ref("omnichannel_inbox.utm_source_phone")
        )
        self.assertEqual(lead.medium_id, self.env.ref("utm.utm_medium_phone"))
        # The missed call is a customer waiting for an answer, like an unanswered
        # message.
        self.assertEqual(conversation.state, "open")
        self.assertEqual(conversation.last_speaker, "customer")
        self.assertEqual(conversation.waiting_since, utc_naive(when))
        self.assertEqual(conversation.last_customer_message_date, utc_naive(when))
        # ... with a call back for the person on duty (nobody owns this customer yet).
        activity = self.call_backs(lead)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.leader)
        self.assertEqual(activity.date_deadline, when.date())
        self.assertIn("Call back", activity.summary)
        self.assertIn("11:30", str(activity.note), "due 30 minutes after the call")
        # ... and the call is an entry of the customer's history.
        entry = call.message_id
        self.assertEqual(
            (entry.message_type, entry.direction, entry.call_id), ("call", "in", call)
        )
        self.assertEqual(entry.date, utc_naive(when))
        self.assertIn("Missed", entry.body)

    def test_phone_matches_existing_customer_and_a_late_answer_corrects_a_missed_call(
        self,
    ):
        when = past_local(2, 15)
        # The end arrives first and says nothing of an answer: for now, a missed call.
        self.send(self.event("a3", "ended", when + timedelta(seconds=100)))
        call = self.calls(self.line)
        self.assertEqual(
            call.partner_id, self.customer, '"8 (912) 345-67-89" is "+7 912 345 6789"'
        )
        self.assertEqual(call.state, "missed")
        lead = call.conversation_id.lead_id
        self.assertEqual(len(self.call_backs(lead)), 1)
        # Then the (earlier) answer: the same call, answered by extension 101.
        self.send(
            self.event("a2", "answered", when + timedelta(seconds=10), extension="101")
        )
        self.send(self.event("a1", "ringing", when, extension="102"))
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.state, call.user_id, call.extension, call.duration),
            ("ended", self.seller, "101", 90),
        )
        self.assertEqual(call.start_date, utc_naive(when))
        self.assertFalse(
            self.call_backs(lead),
            "the call back of a call that was answered is withdrawn",
        )
        conversation = call.conversation_id
        self.assertEqual(conversation.state, "waiting")
        self.assertEqual(
            conversation.user_id, self.seller, "who answered takes the customer"
        )
        self.assertEqual(lead.user_id, self.seller)
        self.assertEqual(
            conversation.first_response_date, utc_naive(when + timedelta(seconds=10))
        )
        self.assertFalse(conversation.waiting_since)
        self.assertIn("Answered by Anna Seller", call.message_id.body)
        self.assertIn("1:30", call.message_id.body)

    def test_call_only_the_pbx_menu_answered_at_the_weekend_still_needs_a_call_back(
        self,
    ):
        when = past_local(
            5, 10
        )  # Saturday 10:00: the PBX's voice menu picks up, no employee does
        self.send(
            {
                "events": [
                    self.event("w1", "ringing", when, call_id="pbx-w"),
                    self.event(
                        "w2",
                        "ended",
                        when + timedelta(seconds=40),
                        call_id="pbx-w",
                        answered=True,
                        duration=35,
                    ),
                ]
            }
        )
        call = self.calls(self.line)
        self.assertEqual(
            (call.state, call.outside_business_hours, call.user_id),
            ("ended", True, self.env["res.users"]),
        )
        activity = self.call_backs(call.conversation_id.lead_id)
        self.assertEqual(len(activity), 1, "answered by a machine is not answered")
        self.assertEqual(
            activity.date_deadline,
            (when + timedelta(days=2)).date(),
            "due Monday morning",
        )
        self.assertEqual(call.conversation_id.state, "open")

    def test_recording_download_failure_keeps_the_call_and_retries(self):
        recordings = FakeProviderServer().start()
        self.addCleanup(recordings.stop)
        attempts = []

        def serve(request):
            attempts.append(request)
            if len(attempts) == 1:
                return 503, {}, b"busy"
            return 200, {"Content-Type": "audio/mpeg"}, MP3

        recordings.route("GET", "/recordings/", serve)
        # The PBX serves its recordings on the office network: allowed on the line.
        self.line.sudo().write(
            {"phone_media_hosts": "127.0.0.1", "phone_media_private": True}
        )
        when = past_local(2, 12)
        self.send(
            {
                "events": [
                    self.event("r1", "answered", when, extension="101"),
                    self.event(
                        "r2",
                        "ended",
                        when + timedelta(seconds=40),
                        duration=40,
                        recording_url=recordings.url + "/recordings/pbx-1.mp3",
                    ),
                ]
            }
        )
        call = self.calls(self.line)
        self.assertEqual(call.recording_state, "pending")
        cron = self.env.ref("omnichannel_inbox.ir_cron_fetch_call_recordings")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "the cron is woken up",
        )
        self.env["omnichannel.call"]._cron_fetch_recordings()
        self.assertEqual(len(attempts), 1)
        self.assertEqual(
            (call.state, call.recording_state, call.recording_attempts),
            ("ended", "pending", 1),
        )
        self.assertIn("503", call.recording_error)
        self.assertGreater(
            call.recording_next_try,
            fields.Datetime.now(),
            "retried later, with a pause",
        )
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", cron.id), ("call_at", "=", call.recording_next_try)]
            )
        )
        call.with_user(self.env.ref("base.user_admin")).action_retry_recording()
        self.assertEqual(call.recording_state, "done")
        self.assertEqual(call.recording_attachment_id.raw, MP3)
        self.assertEqual(call.recording_attachment_id.mimetype, "audio/mpeg")
        self.assertIn(call.recording_attachment_id, call.message_id.attachment_ids)
        values = call.message_id._panel_values()[0]["call"]
        self.assertTrue(
            values["recording_url"].startswith(
                f"/web/content/{call.recording_attachment_id.id}?access_token="
            )
        )
        self.assertEqual(values["duration_label"], "0:40")

    def test_click_to_call_through_the_pbx_address(self):
        pbx = FakeProviderServer().start()
        self.addCleanup(pbx.stop)
        answers = [
            (200, {}, {"call_id": "pbx-777"}),
            (409, {}, {"error": "Extension 101 is offline"}),
        ]
        pbx.route("POST", "/originate", lambda request: answers.pop(0))
        self.line.api_base_url = pbx.url + "/originate"
        lead, _ = self.click_to_call()
        request = pbx.requests[-1]
        self.assertEqual(
            request.headers["X-Omnichannel-Signature"],
            pbx_headers(
                PBX_SECRET, request.body, request.headers["X-Omnichannel-Timestamp"]
            )["X-Omnichannel-Signature"],
            "the PBX can check the origin and the time of the request",
        )
        self.assertLess(
            abs(int(request.headers["X-Omnichannel-Timestamp"]) - time.time()), 60
        )
        self.assertEqual(
            (request.json()["extension"], request.json()["number"]),
            ("101", "+79123456789"),
        )
        call = self.calls(self.line)
        self.assertEqual(
            (
                call.provider_call_id,
                call.direction,
                call.user_id,
                call.lead_id,
                call.origin,
            ),
            ("pbx-777", "out", self.seller, lead, "click"),
        )
        # The PBX then reports the call under the id it announced.
        self.send(
            {
                "events": [
                    {
                        "event_id": "o1",
                        "call_id": "pbx-777",
                        "event": "answered",
                        "timestamp": time.time() - 30,
                    },
                    {
                        "event_id": "o2",
                        "call_id": "pbx-777",
                        "event": "ended",
                        "timestamp": time.time(),
                        "duration": 30,
                        "hangup_by": "employee",
                    },
                ]
            }
        )
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.state, call.duration, call.hangup_by), ("ended", 30, "employee")
        )
        # A refusal is shown with the PBX's reason, and no call is invented.
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Extension 101 is offline", action["params"]["message"])
        self.assertEqual(len(self.calls(self.line)), 1)

    def test_click_to_call_explains_what_is_missing(self):
        self.customer.phone = False
        lead = self.env["crm.lead"].create(
            {
                "name": "No phone",
                "partner_id": self.customer.id,
                "user_id": self.seller.id,
            }
        )
        message = lead.with_user(self.seller).action_omnichannel_call()["params"][
            "message"
        ]
        self.assertIn("no phone number", message)
        lead.phone = "+7 912 345 6789"
        self.seller.omnichannel_phone_extension = False
        self.assertIn(
            "no phone extension",
            lead.with_user(self.seller).action_omnichannel_call()["params"]["message"],
        )
        self.seller.omnichannel_phone_extension = "101"
        message = lead.with_user(self.seller).action_omnichannel_call()["params"][
            "message"
        ]
        self.assertIn(
            "No phone line can place calls",
            message,
            "the generic webhook has no originate address",
        )


@tagged("post_install", "-at_install")
class TestAsteriskAmi(CallsCase):
    """Asterisk: call events through the bridge, click-to-call and test over AMI."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bridge_module = load_bridge()

    def setUp(self):
        super().setUp()
        self.ami = FakeAmiServer(username="odoo", secret="ami-secret").start()
        self.addCleanup(self.ami.stop)
        self.line = self._line(
            "asterisk",
            name="Asterisk office",
            api_base_url=self.ami.address,
            account_ref="odoo",
            token="ami-secret",
            webhook_secret="bridge-secret",
        )

    def bridge(self, secret="bridge-secret"):
        url = f"{self.base_url()}/omnichannel/webhook/{self.line.webhook_key}"
        # The test server is http on 127.0.0.1: the bridge refuses that unless told.
        return self.bridge_module.Bridge(
            self.ami.address, "odoo", "ami-secret", url, secret, allow_http=True
        )

    def run_bridge(self, script, secret="bridge-secret"):
        self.ami.script = script
        bridge = self.bridge(secret)
        relevant = [e for e in script if self.bridge_module.ami.is_call_event(e)]
        # The bridge is a separate HTTP client: let the test server accept its requests.
        with self.allow_requests(all_requests=True):
            bridge.run(max_events=len(relevant), stop_after=30)
        self.env.invalidate_all()
        return bridge

    def test_inbound_call_answered_reaches_the_customer_history(self):
        start = past_local(1, 10).timestamp()
        bridge = self.run_bridge(
            inbound_call_script(
                "1718000000.10",
                "89123456789",
                "74951234567",
                "101",
                start,
                talk_seconds=95,
            )
        )
        self.assertEqual(
            bridge.forwarded,
            5,
            "only call events are forwarded (no VarSet, PeerStatus, BridgeEnter, "
            "dialplan steps, second legs starting and ending)",
        )
        self.assertEqual(self.ami.logins, [("odoo", True, "call")])
        call = self.calls(self.line)
        self.assertEqual(len(call), 1)
        self.assertEqual(call.provider_call_id, "1718000000.10")
        self.assertEqual(
            call.partner_id,
            self.customer,
            'caller "89123456789" is the customer "+7 912 345 6789"',
        )
        self.assertEqual(
            (call.direction, call.state, call.user_id, call.extension, call.our_number),
            ("in", "ended", self.seller, "101", "74951234567"),
        )
        self.assertEqual((call.duration, call.hangup_by), (95, "customer"))
        self.assertEqual(call.start_date, datetime.utcfromtimestamp(int(start)))
        lead = call.conversation_id.lead_id
        self.assertEqual(lead.partner_id, self.customer)
        self.assertEqual(
            (call.conversation_id.user_id, lead.user_id),
            (self.seller, self.seller),
            "who answered takes the customer and the new lead",
        )
        self.assertFalse(self.call_backs(lead), "an answered call needs no call back")
        self.assertEqual(call.conversation_id.state, "waiting")
        panel = self.env["omnichannel.message"].panel_fetch("crm.lead", lead.id)
        entry = [m for m in panel["messages"] if m["call"]]
        self.assertEqual(len(entry), 1)
        self.assertEqual(entry[0]["call"]["duration_label"], "1:35")
        self.assertEqual(entry[0]["call"]["employee"], "Anna Seller")
        self.assertNotIn(
            call.conversation_id.id,
            [c["id"] for c in panel["conversations"]],
            "a phone line is no target for text replies",
        )

    def test_voicemail_call_and_replayed_post_make_one_call(self):
        start = past_local(3, 16).timestamp()
        script = inbound_call_script(
            "1718000100.20",
            "+79035550102",
            "74951234567",
            "101",
            start,
            answered=False,
            voicemail=True,
        )
        events = [
            dict(e, EventId=f"ev-{i}", ReceivedAt=f"{start:.3f}")
            for i, e in enumerate(script)
            if self.bridge_module.ami.is_call_event(e)
        ]
        body = json.dumps({"events": events}).encode()
        for _attempt in range(2):
            response = self.post_webhook(
                self.line, body, headers=pbx_headers("bridge-secret", body)
            )
            self.assertEqual(response.status_code, 200)
        self.assertEqual(
            len(self.journal(self.line)),
            len(events),
            "the replay is acknowledged and ignored",
        )
        call = self.calls(self.line)
        self.assertEqual(len(call), 1)
        self.assertEqual(call.state, "voicemail")
        activity = self.call_backs(call.conversation_id.lead_id)
        self.assertEqual(len(activity), 1)
        self.assertIn("Voicemail left", str(activity.note))
        self.assertEqual(
            self.env["omnichannel.message"].search_count([("call_id", "=", call.id)]), 1
        )

    def test_calls_between_employees_are_not_customer_calls(self):
        start = time.time() - 120
        me = channel_fields(
            "PJSIP/101-00000050", "1718000300.50", "1718000300.50", "101", exten="102"
        )
        events = [
            dict(me, Event="Newchannel", Timestamp=f"{start:.6f}"),
            dict(
                me,
                Event="DialBegin",
                Timestamp="%.6f" % (start + 1),
                DestCallerIDNum="102",
                DialString="102",
            ),
            dict(
                me,
                Event="Hangup",
                Timestamp="%.6f" % (start + 30),
                ConnectedLineNum="102",
                Cause="16",
            ),
        ]
        events = [dict(e, EventId=f"int-{i}") for i, e in enumerate(events)]
        body = json.dumps({"events": events}).encode()
        self.assertEqual(
            self.post_webhook(
                self.line, body, headers=pbx_headers("bridge-secret", body)
            ).status_code,
            200,
        )
        self.assertEqual(
            set(self.journal(self.line).mapped("state")),
            {"ignored"},
            "no error waiting for a retry",
        )
        self.assertFalse(self.calls(self.line))

    def test_bridge_with_a_wrong_secret_is_refused(self):
        start = time.time() - 300
        with self.assertLogs("asterisk_ami_bridge", "ERROR") as logs:
            bridge = self.run_bridge(
                inbound_call_script(
                    "1718000200.30", "89123456789", "74951234567", "101", start
                ),
                secret="guessed",
            )
        self.assertIn("HTTP 403", logs.output[0], "the bridge tells its operator why")
        self.assertEqual(
            (bridge.forwarded, bridge.dropped),
            (0, 5),
            "Odoo answered 403: nothing to retry",
        )
        self.assertFalse(self.journal(self.line))
        self.assertFalse(self.calls(self.line))

    def test_click_to_call_originates_and_the_call_follows(self):
        lead, action = self.click_to_call("8 (912) 345-67-89")
        self.assertIn("rings first", action["params"]["message"])
        originate = self.ami.find("Originate")[-1]
        self.assertEqual(
            (
                originate["Channel"],
                originate["Exten"],
                originate["Context"],
                originate["Async"],
            ),
            ("PJSIP/101", "79123456789", "from-internal", "true"),
        )
        channel_id = originate["ChannelId"]
        call = self.calls(self.line)
        self.assertEqual(
            (
                call.provider_call_id,
                call.direction,
                call.state,
                call.user_id,
                call.lead_id,
            ),
            (channel_id, "out", "ringing", self.seller, lead),
        )
        self.assertTrue(self.ami.find("Logoff"), "the AMI session is closed")
        # Asterisk reports the originated call under the ChannelId we gave it.
        start = time.time() - 60
        self.run_bridge(
            originated_call_script(
                channel_id,
                "79123456789",
                start,
                leg=40,
                dial_after=5,
                answer_after=12,
                hangup_after=52,
            )
        )
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.state, call.direction, call.duration, call.hangup_by),
            ("ended", "out", 40, "employee"),
        )
        self.assertEqual(call.conversation_id.last_speaker, "employee")

    def test_click_to_call_failures_are_explained(self):
        lead = self._seller_lead()
        self.ami.originate_outcome = "busy"
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("your phone is busy", action["params"]["message"])
        self.ami.originate_outcome = "refused"
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertIn("Permission denied", action["params"]["message"])
        self.line.sudo().token = "wrong"
        self.assertIn(
            "Authentication failed",
            lead.with_user(self.seller).action_omnichannel_call()["params"]["message"],
        )
        self.assertFalse(
            self.calls(self.line), "a call that was not placed is not in the history"
        )

    def test_test_connection_logs_in_and_pings(self):
        admin = self.env.ref("base.user_admin")
        result = self.line.with_user(admin).action_test_connection()
        self.assertEqual(
            result["params"]["type"], "success", result["params"]["message"]
        )
        self.assertIn("Asterisk Call Manager", result["params"]["message"])
        self.assertTrue(self.ami.find("Ping"))
        self.line.sudo().token = "wrong"
        result = self.line.with_user(admin).action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("Authentication failed", result["params"]["message"])


@tagged("post_install", "-at_install")
class TestZadarma(CallsCase):
    """Zadarma: signed NOTIFY_* webhooks, callback API, recordings."""

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.phone_replay_window_minutes", WIDE_REPLAY_WINDOW
        )
        self.zadarma, self.line = self._zadarma_line()

    def notify(self, event, secret=None, **fields):
        body, headers = self.zadarma.notification(event, secret=secret, **fields)
        response = self.post_webhook(self.line, body, headers=headers)
        self.env.invalidate_all()
        return response

    @staticmethod
    def inbound(when, pbx_call_id="in-1", caller="89123456789"):
        return {
            "pbx_call_id": pbx_call_id,
            "caller_id": caller,
            "called_did": "74951234567",
            "call_start": when.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def test_echo_check_answers_the_token(self):
        response = self.url_open(
            f"/omnichannel/webhook/{self.line.webhook_key}?zd_echo=8f2c1a"
        )
        self.assertEqual((response.status_code, response.text), (200, "8f2c1a"))
        self.assertFalse(self.journal(self.line))

    def test_forged_or_unknown_notifications_are_refused(self):
        call = self.inbound(past_local(2, 11))
        self.assertEqual(
            self.notify("NOTIFY_START", secret="guess", **call).status_code, 403
        )
        body, headers = self.zadarma.notification("NOTIFY_START", **call)
        tampered = body.replace(b"89123456789", b"89990000000")
        self.assertEqual(
            self.post_webhook(self.line, tampered, headers=headers).status_code, 403
        )
        body = b"event=NOTIFY_SOMETHING&pbx_call_id=x"
        self.assertEqual(
            self.post_webhook(
                self.line,
                body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Signature": "x",
                },
            ).status_code,
            403,
        )
        self.assertFalse(self.journal(self.line))
        self.assertFalse(self.calls(self.line))

    def test_answered_call_out_of_order_with_replay_and_recording(self):
        when = past_local(2, 14)
        call_fields = self.inbound(when)
        end = dict(
            call_fields,
            internal="101",
            last_internal="101",
            duration="95",
            disposition="answered",
            status_code="16",
            is_recorded="1",
            call_id_with_rec="1718000000.4455",
        )
        # The end comes first, then the answer, then the start twice (a retry), then the
        # recording.
        self.assertEqual(self.notify("NOTIFY_END", **end).status_code, 200)
        self.notify(
            "NOTIFY_ANSWER",
            **dict(self.inbound(when), destination="101", internal="101"),
        )
        self.notify("NOTIFY_START", **call_fields)
        self.notify("NOTIFY_START", **call_fields)
        self.notify("NOTIFY_INTERNAL", **dict(call_fields, internal="101"))
        self.notify(
            "NOTIFY_RECORD", pbx_call_id="in-1", call_id_with_rec="1718000000.4455"
        )
        self.assertEqual(
            len(self.journal(self.line)),
            5,
            "the retried NOTIFY_START is journaled once",
        )
        call = self.calls(self.line)
        self.assertEqual(len(call), 1)
        self.assertEqual(
            (call.state, call.direction, call.user_id, call.duration, call.disposition),
            ("ended", "in", self.seller, 95, "answered"),
        )
        self.assertEqual(call.start_date, utc_naive(when), "call_start is Moscow time")
        self.assertEqual(call.partner_id, self.customer)
        self.assertEqual(call.contact_state, "answered")
        self.assertFalse(self.call_backs(call.conversation_id.lead_id))
        self.assertEqual(
            self.env["omnichannel.message"].search_count([("call_id", "=", call.id)]), 1
        )
        # The recording: asked through the API once Zadarma has saved it (40 s later),
        # then downloaded.
        self.assertEqual(call.recording_state, "pending")
        self.assertGreater(
            call.recording_next_try, fields.Datetime.now() + timedelta(seconds=30)
        )
        self.zadarma.recordings["1718000000.4455"] = MP3
        call.with_user(self.env.ref("base.user_admin")).action_retry_recording()
        request = self.zadarma.calls("/v1/pbx/record/request/")[-1]
        self.assertEqual(request.query["call_id"], "1718000000.4455")
        self.assertEqual(call.recording_state, "done")
        self.assertEqual(call.recording_attachment_id.raw, MP3)

    def test_missed_call_outside_business_hours_is_due_at_the_next_opening(self):
        when = past_local(4, 22, 10)  # Friday 22:10 in Moscow
        lead = self.env["crm.lead"].create(
            {
                "name": "Ivan Petrov: chairs",
                "partner_id": self.customer.id,
                "user_id": self.seller.id,
                "team_id": self.team.id,
            }
        )
        call_fields = self.inbound(
            when, pbx_call_id="night-1", caller="+7 912 345 6789"
        )
        self.notify("NOTIFY_START", **call_fields)
        self.notify(
            "NOTIFY_END",
            **dict(call_fields, duration="0", disposition="cancel", is_recorded="0"),
        )
        call = self.calls(self.line)
        self.assertEqual((call.state, call.outside_business_hours), ("missed", True))
        self.assertEqual(
            call.conversation_id.lead_id, lead, "the customer's open lead gets the call"
        )
        activity = self.call_backs(lead)
        self.assertEqual(
            activity.user_id, self.seller, "the salesperson of the customer calls back"
        )
        monday = (when + timedelta(days=3)).date()
        self.assertEqual(activity.date_deadline, monday)
        self.assertIn("09:30", str(activity.note))
        self.assertIn("outside business hours", call.message_id.body)
        self.assertEqual(call.conversation_id.state, "open")
        # Calling the customer back (and reaching them) closes the call back.
        out = {
            "pbx_call_id": "out-1",
            "internal": "101",
            "destination": "79123456789",
            "call_start": (when + timedelta(days=3, hours=11)).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
        }
        self.notify("NOTIFY_OUT_START", **out)
        self.notify(
            "NOTIFY_OUT_END",
            **dict(
                out,
                caller_id="74951234567",
                duration="60",
                disposition="answered",
                is_recorded="0",
            ),
        )
        back = self.calls(self.line) - call
        self.assertEqual(
            (back.direction, back.state, back.user_id), ("out", "ended", self.seller)
        )
        self.assertFalse(self.call_backs(lead), "done")
        self.assertEqual(call.conversation_id.state, "waiting")

    def test_click_to_call_uses_the_callback_api(self):
        lead, _ = self.click_to_call()
        request = self.zadarma.calls("/v1/request/callback/")[-1]
        self.assertEqual(
            (request.query["from"], request.query["to"]), ("101", "79123456789")
        )
        call = self.calls(self.line)
        self.assertEqual(
            (call.origin, call.direction, call.state), ("click", "out", "ringing")
        )
        # Zadarma then reports the call it placed: it joins the clicked call.
        out = {
            "pbx_call_id": "cb-1",
            "internal": "101",
            "destination": "79123456789",
            "call_start": datetime.now(MSK).strftime("%Y-%m-%d %H:%M:%S"),
        }
        self.notify("NOTIFY_OUT_START", **out)
        self.notify(
            "NOTIFY_OUT_END",
            **dict(
                out,
                caller_id="74951234567",
                duration="12",
                disposition="answered",
                is_recorded="0",
            ),
        )
        self.assertEqual(len(self.calls(self.line)), 1)
        self.assertEqual(
            (call.provider_call_id, call.state, call.duration, call.lead_id),
            ("cb-1", "ended", 12, lead),
        )

    def test_refused_callback_is_shown_with_zadarma_reason(self):
        lead = self._seller_lead()
        self.zadarma.callback_error = (400, "Wrong parameter 'from'")
        action = lead.with_user(self.seller).action_omnichannel_call()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Wrong parameter 'from'", action["params"]["message"])
        self.assertFalse(self.calls(self.line))
        self.line.sudo().app_secret = "wrong"
        self.assertIn(
            "Not authorized",
            lead.with_user(self.seller).action_omnichannel_call()["params"]["message"],
        )

    def test_test_connection_reads_the_balance(self):
        result = self.line.with_user(
            self.env.ref("base.user_admin")
        ).action_test_connection()
        self.assertEqual(
            result["params"]["type"], "success", result["params"]["message"]
        )
        self.assertIn("10.25", result["params"]["message"])


@tagged("post_install", "-at_install")
class TestCallsInChatPanel(CallsCase):
    """The call entry in a lead's chat panel, in a real browser."""

    def test_call_entry_with_recording_player_and_phone_button(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.phone_replay_window_minutes", WIDE_REPLAY_WINDOW
        )
        zadarma, line = self._zadarma_line(name="Zadarma tour")
        when = past_local(2, 14)
        call_fields = {
            "pbx_call_id": "tour-1",
            "caller_id": "89123456789",
            "called_did": "74951234567",
            "call_start": when.strftime("%Y-%m-%d %H:%M:%S"),
        }
        for event, extra in (
            ("NOTIFY_START", {}),
            ("NOTIFY_ANSWER", {"destination": "101", "internal": "101"}),
            (
                "NOTIFY_END",
                {
                    "internal": "101",
                    "duration": "95",
                    "disposition": "answered",
                    "is_recorded": "1",
                    "call_id_with_rec": "rec-tour",
                },
            ),
        ):
            body, headers = zadarma.notification(event, **dict(call_fields, **extra))
            self.assertEqual(
                self.post_webhook(line, body, headers=headers).status_code, 200
            )
        zadarma.recordings["rec-tour"] = MP3
        call = self.calls(line)
        call.with_user(self.env.ref("base.user_admin")).action_retry_recording()
        self.assertEqual(call.recording_state, "done")
        self.env.ref("base.user_admin").omnichannel_phone_extension = "100"
        lead = call.conversation_id.lead_id
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_call_panel_tour",
            login="admin",
        )
        request = zadarma.calls("/v1/request/callback/")[-1]
        self.assertEqual(
            (request.query["from"], request.query["to"]),
            ("100", "79123456789"),
            "the phone button rang the admin's extension, then the customer",
        )
